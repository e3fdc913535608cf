/**
 * What stalls a process's event loop, with wall-clock times, for the handshake bench's latency
 * breakdown (`--probe`): every garbage collection V8 reports (perf_hooks `gc` entries, main
 * thread) and every time a 5 ms timer fired more than 2 ms late (the loop was busy, or the
 * thread was not on a CPU), with the process's CPU time used meanwhile (all threads; near the
 * lag: the process itself was working; near zero: it waited for a CPU or was blocked).
 *
 * Times are ms since the Unix epoch (`performance.timeOrigin + startTime`), so events of the
 * responder and of the generator line up with the generator's negotiations. The probe itself
 * wakes the loop 200 times a second: figures from a probed run are for attribution, not for the
 * latency table.
 */
import { constants, performance, PerformanceObserver } from "node:perf_hooks";

/** One stall. */
export interface ProbeEvent {
  /** Start, ms since the epoch. */
  readonly at: number;
  readonly ms: number;
  /** `gc-minor` (scavenge), `gc-major` (mark-compact), `gc-incremental`, `gc-weakcb`, or `lag`. */
  readonly kind: string;
  /** `lag` only: the process's CPU time (user + system, all threads) during the lag, ms. */
  readonly cpuMs?: number;
}

/** A running probe. */
export interface Probe {
  /** Everything recorded so far. */
  events(): ProbeEvent[];
  stop(): void;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "gc-minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "gc-major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "gc-incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "gc-weakcb",
};

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Start recording this thread's GCs and loop lags over `lagMs` (timer every `everyMs`). */
export function startProbe(everyMs = 5, lagMs = 2): Probe {
  const events: ProbeEvent[] = [];
  const origin = performance.timeOrigin;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } | null }).detail?.kind;
      events.push({ at: origin + e.startTime, ms: e.duration, kind: GC_KINDS[kind ?? -1] ?? "gc" });
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  let due = performance.now() + everyMs;
  let cpu = cpuMs();
  let timer: NodeJS.Timeout;
  const tick = (): void => {
    const now = performance.now();
    const c = cpuMs();
    const late = now - due;
    if (late > lagMs) events.push({ at: origin + due, ms: late, kind: "lag", cpuMs: c - cpu });
    cpu = c;
    due = now + everyMs;
    timer = setTimeout(tick, everyMs).unref();
  };
  timer = setTimeout(tick, everyMs).unref();
  return {
    events: () => events.slice(),
    stop() {
      clearTimeout(timer);
      gc.disconnect();
    },
  };
}
