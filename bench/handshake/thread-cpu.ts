/**
 * CPU time per thread of another process, from `/proc/PID/task/TID/stat` (utime + stime, clock
 * ticks of 10 ms), with each thread of a Node.js process given a role. Linux only; the bench
 * reads it before and after a measured run and divides the difference by the negotiations.
 *
 * Node 20 names none of its threads (every `comm` is "node"), so the roles come from what the
 * kernel shows of each thread, checked on this machine against `--workers 0/1/2` daemons:
 * - `main`: the thread whose id is the process id (the event loop: UDP, engine, SA tables).
 * - `v8`: V8 platform threads (the delayed-task runner and the four `--v8-pool-size` workers that
 *   run concurrent and parallel GC, and background compilation). Node blocks SIGUSR1 in exactly
 *   these (`SigBlk` 0x200).
 * - `signal`: Node's SIGUSR1 watchdog for the inspector, which blocks nearly every signal.
 * - `pool` and `libuv`: both block nothing. libuv's thread pool (fs, DNS, async crypto) starts at
 *   the first queued work item, while the configuration is read, before the crypto pool exists;
 *   the crypto pool's Piscina workers are created after it, so they are the `poolThreads`
 *   youngest of these (start time, then thread id). The profiler thread that `--cpu-prof` adds
 *   per isolate falls into this class too; the bench does not profile.
 */
import { readdirSync, readFileSync } from "node:fs";

/** What a thread does for the process. */
export type ThreadRole = "main" | "pool" | "v8" | "libuv" | "signal";

/** One thread at one moment. */
export interface ThreadSample {
  readonly tid: number;
  /** Clock ticks since boot at which the thread started (field 22). */
  readonly start: number;
  /** utime + stime in seconds. */
  readonly cpuSecs: number;
  /** The signal mask (`SigBlk` of /proc/PID/task/TID/status), hex. */
  readonly sigBlk: string;
}

const TICK_SECS = 0.01; // USER_HZ is 100 on Linux

/** Every thread of `pid` now; empty when the process is gone. */
export function sampleThreads(pid: number): ThreadSample[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadSample[] = [];
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      // Fields after the parenthesised command name start at field 3 (state).
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
      out.push({
        tid: Number(t),
        start: Number(f[19]),
        cpuSecs: (Number(f[11]) + Number(f[12])) * TICK_SECS,
        sigBlk: /^SigBlk:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "",
      });
    } catch {
      // The thread ended between readdir and read: it has nothing more to count.
    }
  }
  return out;
}

/** The role of each thread of a Node.js process running `poolThreads` Piscina workers. */
export function classifyThreads(pid: number, threads: readonly ThreadSample[], poolThreads: number): Map<number, ThreadRole> {
  const roles = new Map<number, ThreadRole>();
  const open: ThreadSample[] = [];
  for (const t of threads) {
    const mask = BigInt(`0x${t.sigBlk || "0"}`);
    if (t.tid === pid) roles.set(t.tid, "main");
    else if (mask === 0x200n) roles.set(t.tid, "v8");
    else if (mask !== 0n) roles.set(t.tid, "signal");
    else open.push(t);
  }
  open.sort((a, b) => a.start - b.start || a.tid - b.tid);
  open.forEach((t, i) => roles.set(t.tid, i >= open.length - poolThreads ? "pool" : "libuv"));
  return roles;
}

/** CPU seconds per role between two samples (threads that appeared count from zero). */
export interface RoleCpu {
  readonly main: number;
  /** Each pool worker's seconds, oldest first. */
  readonly pool: readonly number[];
  readonly v8: number;
  readonly libuv: number;
  readonly signal: number;
  readonly total: number;
}

/** The CPU each role spent from `before` to `after`, roles taken from `after`. */
export function cpuByRole(pid: number, before: readonly ThreadSample[], after: readonly ThreadSample[], poolThreads: number): RoleCpu {
  const roles = classifyThreads(pid, after, poolThreads);
  const was = new Map(before.map((t) => [t.tid, t.cpuSecs] as const));
  const sums = { main: 0, v8: 0, libuv: 0, signal: 0 };
  const pool: { start: number; secs: number }[] = [];
  for (const t of after) {
    const d = Math.max(0, t.cpuSecs - (was.get(t.tid) ?? 0));
    const role = roles.get(t.tid)!;
    if (role === "pool") pool.push({ start: t.start, secs: d });
    else sums[role] += d;
  }
  pool.sort((a, b) => a.start - b.start);
  const poolSecs = pool.map((p) => p.secs);
  return { ...sums, pool: poolSecs, total: sums.main + sums.v8 + sums.libuv + sums.signal + poolSecs.reduce((a, b) => a + b, 0) };
}

/**
 * The CPU per role of a process whose pool threads both started and ended between `before` and
 * `after` (the generator: ikeload's crypto pool lives as long as one run), so neither sample shows
 * them: main, V8 and libuv from the threads the samples show, `pool` (one entry) the rest of
 * `processSecs`, the process's CPU over the same interval, which keeps ended threads' time.
 */
export function cpuWithEndedPool(pid: number, before: readonly ThreadSample[], after: readonly ThreadSample[], processSecs: number): RoleCpu {
  const living = cpuByRole(pid, before, after, 0);
  const pool = Math.max(0, processSecs - living.total);
  return { ...living, pool: [pool], total: living.total + pool };
}

/** CPU seconds of a whole process (all threads, exited ones included); NaN when it is gone. */
export function processCpuSecs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_SECS;
  } catch {
    return Number.NaN; // the process is gone: the column shows NaN
  }
}

/** CPU seconds the whole machine has been busy (every CPU: all but idle and iowait), from /proc/stat. */
export function machineBusySecs(): number {
  const first = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const f = first.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) * TICK_SECS;
}
