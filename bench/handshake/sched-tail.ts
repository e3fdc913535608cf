/**
 * Where the slowest negotiations' time goes, by the kernel scheduler (the handshake bench's
 * `--sched`; sched-trace.ts reads the trace). For each negotiation's span (MM1 to QM3 at the
 * generator, CLOCK_MONOTONIC ms) and each class of thread of the responder and of the generator
 * (main, pool, v8, libuv; thread-cpu.ts's roles), the ms its threads ran, waited runnable for a
 * CPU, and slept; and for the waits of the two main threads, who held the CPU they were waiting
 * for: a thread of the same process, of the other side, kernel threads, perf itself, anyone else
 * on the machine, or nobody (idle: the wakeup's own latency). Means over the slowest 1% and the
 * middle 10% (tail.ts's split), so a tail made of CPU waits shows as waits in the first row and
 * not the second.
 */
import { firstEndingAfter, type SchedTrace } from "./sched-trace.js";
import type { ThreadRole } from "./thread-cpu.js";

/** Which side a thread of interest belongs to. */
export type Side = "resp" | "gen";

/** A thread of interest's class, e.g. `resp main`; every thread of charon is `resp charon`. */
export type ThreadClass = `${Side} ${ThreadRole}` | "resp charon";

/** Who held a CPU a main thread waited for. */
export type Holder = ThreadClass | "idle" | "kernel" | "perf" | "others";

/** One negotiation (CLOCK_MONOTONIC ms). */
export interface MonoSpan {
  readonly from: number;
  readonly to: number;
}

/** Mean ms per negotiation of one group, by class and state, and the main threads' waits by holder. */
export interface SchedBreakdown {
  readonly n: number;
  readonly meanMs: number;
  /** `resp main` -> { run, wait, sleep } (summed over the class's threads). */
  readonly byClass: Map<ThreadClass, { run: number; wait: number; sleep: number }>;
  /** `resp main` / `gen main` -> holder -> ms of its waits. */
  readonly holders: Map<ThreadClass, Map<Holder, number>>;
  /** The names of `others` holders, ms, largest first (for the report). */
  readonly otherNames: readonly [string, number][];
}

const KERNEL_THREAD = /^(kworker|ksoftirqd|migration|rcu|kthreadd|watchdog|cpuhp|irq\/|kcompactd|khugepaged|kswapd|jbd2|kauditd|oom_reaper|kblockd|writeback)/;

/** Who a running thread is, for the wait attribution. */
export function holderOf(trace: SchedTrace, classes: ReadonlyMap<number, ThreadClass>, perfPid: number | undefined, tid: number): { holder: Holder; name: string } {
  if (tid === 0) return { holder: "idle", name: "idle" };
  const c = classes.get(tid);
  if (c !== undefined) return { holder: c, name: c };
  const name = trace.comm.get(tid) ?? "?";
  if (perfPid !== undefined && trace.tgid.get(tid) === perfPid) return { holder: "perf", name };
  if (name === "perf") return { holder: "perf", name };
  if (KERNEL_THREAD.test(name)) return { holder: "kernel", name };
  return { holder: "others", name };
}

/** Sum of the overlaps of `spans`'s intervals of each code with [a, b]. */
function stateMs(spans: readonly number[], a: number, b: number): number[] {
  const out = [0, 0, 0];
  for (let i = firstEndingAfter(spans, a); i * 3 < spans.length; i++) {
    const from = spans[i * 3]!;
    if (from >= b) break;
    const lo = Math.max(a, from);
    const hi = Math.min(b, spans[i * 3 + 1]!);
    if (hi > lo) out[spans[i * 3 + 2]!]! += hi - lo;
  }
  return out;
}

/** Mean breakdown of `spans`; `classes`: every thread of interest's class. */
export function schedBreakdown(trace: SchedTrace, spans: readonly MonoSpan[], classes: ReadonlyMap<number, ThreadClass>, perfPid?: number): SchedBreakdown {
  const byClass = new Map<ThreadClass, { run: number; wait: number; sleep: number }>();
  const holders = new Map<ThreadClass, Map<Holder, number>>();
  const others = new Map<string, number>();
  const n = spans.length;
  for (const s of spans) {
    for (const [tid, cls] of classes) {
      const tl = trace.threads.get(tid);
      if (tl === undefined) continue;
      const [run, wait, sleep] = stateMs(tl.spans, s.from, s.to);
      const acc = byClass.get(cls) ?? { run: 0, wait: 0, sleep: 0 };
      acc.run += run! / n;
      acc.wait += wait! / n;
      acc.sleep += sleep! / n;
      byClass.set(cls, acc);
      if (!cls.endsWith(" main") && cls !== "resp charon") continue;
      // Charge each of its waits inside the span to whoever ran on the CPU it was waiting for.
      const h = holders.get(cls) ?? new Map<Holder, number>();
      holders.set(cls, h);
      for (let i = firstEndingAfter(tl.spans, s.from); i * 3 < tl.spans.length; i++) {
        const from = tl.spans[i * 3]!;
        if (from >= s.to) break;
        if (tl.spans[i * 3 + 2] !== 1) continue;
        const lo = Math.max(s.from, from);
        const hi = Math.min(s.to, tl.spans[i * 3 + 1]!);
        const cpu = tl.cpus[i]!;
        const onCpu = trace.cpus.get(cpu);
        if (hi <= lo) continue;
        if (onCpu === undefined) {
          h.set("others", (h.get("others") ?? 0) + (hi - lo) / n);
          continue;
        }
        for (let j = firstEndingAfter(onCpu, lo); j * 3 < onCpu.length; j++) {
          const f = onCpu[j * 3]!;
          if (f >= hi) break;
          const part = Math.min(hi, onCpu[j * 3 + 1]!) - Math.max(lo, f);
          if (part <= 0) continue;
          const who = holderOf(trace, classes, perfPid, onCpu[j * 3 + 2]!);
          h.set(who.holder, (h.get(who.holder) ?? 0) + part / n);
          if (who.holder === "others" || who.holder === "kernel") others.set(who.name, (others.get(who.name) ?? 0) + part / n);
        }
      }
    }
  }
  return {
    n,
    meanMs: n === 0 ? Number.NaN : spans.reduce((t, s) => t + (s.to - s.from), 0) / n,
    byClass,
    holders,
    otherNames: [...others].sort((a, b) => b[1] - a[1]).slice(0, 5),
  };
}
