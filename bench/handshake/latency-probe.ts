/**
 * What stalls a process's event loop, with wall-clock times, for the handshake bench's latency
 * breakdown (`--probe`): every garbage collection V8 reports (perf_hooks `gc` entries, main
 * thread) and every time a 5 ms timer fired more than 2 ms late (the loop was busy, or the
 * thread was not on a CPU), with how the main thread spent that time (/proc/thread-self/schedstat:
 * on a CPU, i.e. the process's own work, or runnable but waiting for a CPU, i.e. preempted by
 * other threads or processes).
 *
 * Times are ms since the Unix epoch (`performance.timeOrigin + startTime`), so events of the
 * responder and of the generator line up with the generator's negotiations. The probe itself
 * wakes the loop 200 times a second: figures from a probed run are for attribution, not for the
 * latency table.
 */
import { readFileSync } from "node:fs";
import { constants, performance, PerformanceObserver } from "node:perf_hooks";

/** One stall. */
export interface ProbeEvent {
  /** Start, ms since the epoch. */
  readonly at: number;
  readonly ms: number;
  /** `gc-minor` (scavenge), `gc-major` (mark-compact), `gc-incremental`, `gc-weakcb`, or `lag`. */
  readonly kind: string;
  /** `lag` only: ms of the lag the main thread ran on a CPU (its share since the previous tick). */
  readonly runMs?: number;
  /** `lag` only: ms of the lag it waited, runnable, for a CPU (likewise). */
  readonly waitMs?: number;
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

/** This thread's time on a CPU and waiting in a run queue, ms (zeros where schedstat is missing). */
function schedMs(): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ");
    return { run: Number(run) / 1e6, wait: Number(wait) / 1e6 };
  } catch {
    return { run: 0, wait: 0 };
  }
}

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
  let last = performance.now();
  let due = last + everyMs;
  let sched = schedMs();
  let timer: NodeJS.Timeout;
  const tick = (): void => {
    const now = performance.now();
    const s = schedMs();
    const late = now - due;
    // schedstat covers the whole time since the last tick (the timer's delay and the lag): its
    // shares, applied to the lag.
    const share = late / (now - last);
    if (late > lagMs) events.push({ at: origin + due, ms: late, kind: "lag", runMs: (s.run - sched.run) * share, waitMs: (s.wait - sched.wait) * share });
    sched = s;
    last = now;
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
