/**
 * How much this process's old generation grows while a load runs: the sum of the rises of V8's
 * `old_space` `space_used_size` (v8.getHeapSpaceStatistics), sampled every `everyMs`, so that a
 * full GC's drop does not hide what was allocated there before it; and the GCs meanwhile, by kind
 * (a PerformanceObserver on "gc" entries). The "Old space per negotiation" paragraphs of
 * bench/handshake/README.md use this measure; divide by the negotiations of the window.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import v8 from "node:v8";

/** What one sampled window saw. */
export interface OldSpaceWindow {
  /** Bytes: the sum of the rises of old space's used size between samples. */
  readonly riseBytes: number;
  /** Mark-compact GCs (NODE_PERFORMANCE_GC_MAJOR). */
  readonly majorGcs: number;
  /** Scavenges (NODE_PERFORMANCE_GC_MINOR). */
  readonly minorGcs: number;
}

/** A running sampler; `stop()` ends it and returns the window. */
export interface OldSpaceSampler {
  stop(): OldSpaceWindow;
}

/** Old space's used bytes now. */
export function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;
}

/** Start sampling old space every `everyMs` and counting GCs. */
export function startOldSpaceSampler(everyMs = 10): OldSpaceSampler {
  let last = oldSpaceUsed();
  let rise = 0;
  let major = 0;
  let minor = 0;
  const take = (): void => {
    const now = oldSpaceUsed();
    rise += Math.max(0, now - last);
    last = now;
  };
  const timer = setInterval(take, everyMs);
  timer.unref();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = e.detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      clearInterval(timer);
      take();
      // GC entries are delivered asynchronously; those still queued are taken here.
      for (const e of obs.takeRecords() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
        const kind = e.detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
        else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      }
      obs.disconnect();
      return { riseBytes: rise, majorGcs: major, minorGcs: minor };
    },
  };
}
