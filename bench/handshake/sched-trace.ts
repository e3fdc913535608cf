/**
 * The kernel scheduler's view of a run (the handshake bench's `--sched`), built from the text of
 * `perf script` over `sched:sched_switch` and `sched:sched_wakeup[_new]` recorded with
 * `-k CLOCK_MONOTONIC` (the clock of Node's `process.hrtime`, so negotiations line up):
 * - for each thread of interest, when it ran on a CPU, waited runnable for one (woken, or
 *   preempted with `prev_state=R`), or slept (switched out in any other state until its wakeup);
 * - for every CPU, which thread ran on it when (pid 0: idle), so a wait can be charged to whoever
 *   held the CPU the waiting thread then ran on;
 * - each thread's process (tgid) and name, from the events' current task.
 * Times are ms of CLOCK_MONOTONIC. A thread's state before its first event is unknown and not
 * counted.
 */

/** What a thread did over an interval. */
export type ThreadState = "run" | "wait" | "sleep";

/** A thread's intervals: flat triples [fromMs, toMs, code] (0 run, 1 wait, 2 sleep), in time order; `cpus`: for waits, the CPU it then ran on (-1: the trace ended first). */
export interface ThreadTimeline {
  readonly spans: number[];
  readonly cpus: number[];
}

/** Everything the attribution needs. */
export interface SchedTrace {
  /** Per thread of interest. */
  readonly threads: Map<number, ThreadTimeline>;
  /** Per CPU: flat triples [fromMs, toMs, tid] of who ran (0: idle), in time order. */
  readonly cpus: Map<number, number[]>;
  /** Thread -> process (tgid), for every thread seen running. */
  readonly tgid: Map<number, number>;
  /** Thread -> name (the last seen). */
  readonly comm: Map<number, string>;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly events: number;
  /**
   * Events older than one already read, skipped: `perf script` sorts by time, but perf may still
   * record some out of order (it warns), and one taken in would close an interval backwards.
   */
  readonly outOfOrder: number;
}

export const STATE_CODES: readonly ThreadState[] = ["run", "wait", "sleep"];

interface Open {
  code: number;
  since: number;
}

/** Builds a {@link SchedTrace} from `perf script -F pid,tid,cpu,time,event,trace --ns` lines. */
export class SchedTraceBuilder {
  readonly #interest: (tid: number) => boolean;
  readonly #open = new Map<number, Open>();
  readonly #cpuSince = new Map<number, { tid: number; since: number }>();
  readonly trace: SchedTrace;
  #first = Number.NaN;
  #last = Number.NaN;
  #events = 0;
  #outOfOrder = 0;

  /** `interest`: the threads whose own timelines are kept (every CPU's is). */
  constructor(interest: (tid: number) => boolean) {
    this.#interest = interest;
    this.trace = { threads: new Map(), cpus: new Map(), tgid: new Map(), comm: new Map(), firstMs: 0, lastMs: 0, events: 0, outOfOrder: 0 };
  }

  /** One line of `perf script`; lines of other shapes are ignored. */
  line(text: string): void {
    // "  1234/1240  [001] 75397.922736302:       sched:sched_switch: prev_comm=..."
    const m = /^\s*(\d+)\/(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+sched:(\w+):\s(.*)$/.exec(text);
    if (m === null) return;
    const [, pid, tid, cpuText, secs, frac, event, rest] = m;
    const t = Number(secs) * 1000 + Number(frac!.padEnd(9, "0").slice(0, 9)) / 1e6;
    const cpu = Number(cpuText);
    if (t < this.#last) {
      this.#outOfOrder++;
      return;
    }
    if (Number.isNaN(this.#first)) this.#first = t;
    this.#last = t;
    this.#events++;
    this.trace.tgid.set(Number(tid), Number(pid));
    if (event === "sched_switch") {
      const s = /prev_comm=(.*) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) /.exec(rest!);
      if (s === null) return;
      const prev = Number(s[2]);
      const next = Number(s[5]);
      this.trace.comm.set(prev, s[1]!);
      this.trace.comm.set(next, s[4]!);
      const on = this.#cpuSince.get(cpu);
      if (on !== undefined) this.#push(this.#cpuArr(cpu), on.since, t, on.tid);
      this.#cpuSince.set(cpu, { tid: next, since: t });
      // Preempted (still runnable: R, R+) waits for a CPU; any other state sleeps until a wakeup.
      this.#to(prev, t, s[3]!.startsWith("R") ? 1 : 2, -1);
      this.#to(next, t, 0, cpu);
    } else if (event === "sched_wakeup" || event === "sched_wakeup_new") {
      const w = / pid=(\d+) /.exec(rest!);
      if (w === null) return;
      const wakee = Number(w[1]);
      const o = this.#open.get(wakee);
      if (o === undefined || o.code === 2) this.#to(wakee, t, 1, -1);
    }
  }

  /** The trace, with every thread's and CPU's open interval closed at the last event. */
  finish(): SchedTrace {
    for (const [tid, o] of this.#open) this.#close(tid, o, this.#last, -1);
    this.#open.clear();
    for (const [cpu, on] of this.#cpuSince) this.#push(this.#cpuArr(cpu), on.since, this.#last, on.tid);
    this.#cpuSince.clear();
    return { ...this.trace, firstMs: this.#first, lastMs: this.#last, events: this.#events, outOfOrder: this.#outOfOrder };
  }

  /** Thread `tid` enters state `code` at `t`; `cpu`: where it runs (for a switch-in). */
  #to(tid: number, t: number, code: number, cpu: number): void {
    if (!this.#interest(tid)) return;
    const o = this.#open.get(tid);
    if (o !== undefined) this.#close(tid, o, t, cpu);
    this.#open.set(tid, { code, since: t });
  }

  #close(tid: number, o: Open, t: number, cpu: number): void {
    let tl = this.trace.threads.get(tid);
    if (tl === undefined) this.trace.threads.set(tid, (tl = { spans: [], cpus: [] }));
    if (t > o.since) {
      this.#push(tl.spans, o.since, t, o.code);
      tl.cpus.push(o.code === 1 ? cpu : -1);
    }
  }

  #cpuArr(cpu: number): number[] {
    let a = this.trace.cpus.get(cpu);
    if (a === undefined) this.trace.cpus.set(cpu, (a = []));
    return a;
  }

  #push(a: number[], from: number, to: number, v: number): void {
    a.push(from, to, v);
  }
}

/** The first triple index in flat `a` whose interval ends after `t` (binary search; a is in time order). */
export function firstEndingAfter(a: readonly number[], t: number): number {
  let lo = 0;
  let hi = a.length / 3;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid * 3 + 1]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
