/**
 * How much a process's old generation grows per negotiation, for the half-peak table (`--probe`):
 * the probe preload samples V8's `old_space` used size every ~10 ms and keeps every rise; over the
 * measured window, the sum of the rises per negotiation is the old-space allocation (promotion and
 * what V8 allocates there directly, such as the hash tables of long-lived `Map`s and `Set`s it
 * re-allocates: bench/handshake/README.md, "where in.iked's old space per negotiation is
 * allocated"), and the mark-compacts (full GCs) the probe saw in the window are what it costs.
 * A GC's fall is not subtracted: what the GC frees says nothing of what was allocated.
 *
 * The same sampler measures the generator's old space window by window (windows.ts: the sum of a
 * window's rises, {@link riseBytes}, with the GCs meanwhile, {@link startGcCounter}); the "Old
 * space per negotiation" paragraphs of bench/handshake/README.md use that measure.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { constants, PerformanceObserver, performance, type PerformanceEntry } from "node:perf_hooks";
import type { ProbeEvent } from "./latency-probe.js";

/** One rise of the old space's used size between two samples: when (ms since the epoch) and by how much. */
export interface OldSpaceRise {
  readonly at: number;
  readonly bytes: number;
}

/** A running sampler. */
export interface OldSpaceSampler {
  /** The rises recorded so far. */
  rises(): OldSpaceRise[];
  /** Takes a last sample and stops. */
  stop(): void;
}

/** Old space's used bytes now. */
export function oldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === "old_space") return s.space_used_size;
  return 0;
}

/** Sample this thread's heap every `everyMs`. */
export function startOldSpaceSampler(everyMs = 10): OldSpaceSampler {
  const rises: OldSpaceRise[] = [];
  let last = oldSpaceUsed();
  const take = (): void => {
    const now = oldSpaceUsed();
    if (now > last) rises.push({ at: performance.timeOrigin + performance.now(), bytes: now - last });
    last = now;
  };
  const timer = setInterval(take, everyMs).unref();
  return {
    rises: () => rises.slice(),
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

/** The sum of `rises` (bytes). */
export function riseBytes(rises: readonly OldSpaceRise[]): number {
  let bytes = 0;
  for (const r of rises) bytes += r.bytes;
  return bytes;
}

/** GCs of this thread by kind. */
export interface GcCounts {
  /** Mark-compacts (NODE_PERFORMANCE_GC_MAJOR). */
  readonly major: number;
  /** Scavenges (NODE_PERFORMANCE_GC_MINOR). */
  readonly minor: number;
}

/** Count this thread's GCs (a PerformanceObserver on "gc" entries) until `stop()`. */
export function startGcCounter(): { stop(): GcCounts } {
  let major = 0;
  let minor = 0;
  const count = (entries: PerformanceEntry[]): void => {
    for (const e of entries as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = e.detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  };
  const obs = new PerformanceObserver((list) => count(list.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      // GC entries are delivered asynchronously; those still queued are taken here.
      count(obs.takeRecords());
      obs.disconnect();
      return { major, minor };
    },
  };
}

/** Old-space growth per negotiation and full GCs in a window. */
export interface OldSpaceFigures {
  readonly kbPerNegotiation: number;
  readonly fullGcs: number;
}

/** From the first start to the last end of `spans` (ms since the epoch): the window of a run's negotiations. */
export function spanOf(spans: readonly { readonly at: number; readonly ms: number }[]): { from: number; to: number } {
  // A loop, not Math.min(...): a spread of a long run's samples overflows the call stack (measure.ts).
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const x of spans) {
    if (x.at < from) from = x.at;
    if (x.at + x.ms > to) to = x.at + x.ms;
  }
  return { from, to };
}

/**
 * The figures over [`from`, `to`] (ms since the epoch) for `negotiations` negotiations: rises
 * sampled in the window, and the probe's `gc-major` events that started in it.
 */
export function oldSpaceIn(rises: readonly OldSpaceRise[], events: readonly ProbeEvent[], from: number, to: number, negotiations: number): OldSpaceFigures {
  let bytes = 0;
  for (const r of rises) if (r.at >= from && r.at <= to) bytes += r.bytes;
  const fullGcs = events.filter((e) => e.kind === "gc-major" && e.at >= from && e.at <= to).length;
  return { kbPerNegotiation: negotiations > 0 ? bytes / 1024 / negotiations : Number.NaN, fullGcs };
}
