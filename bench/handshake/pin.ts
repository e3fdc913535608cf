/**
 * CPU pinning for the handshake bench (`--pin`): the responder (every thread of its process) on
 * one CPU, the generator (this process, its pool included) on another, so that neither preempts
 * the other. Without it both float over the machine's cores and a negotiation's latency includes
 * waits for the other side's CPU time, which dominate the tail on a 2-core machine.
 *
 * `taskset -a -p` sets the affinity of every thread a process has now (sched_setaffinity per
 * thread); threads it creates later inherit their creator's, so Piscina workers, libuv's pool and
 * charon's threads started afterwards stay on the same CPU. Linux only (util-linux `taskset`).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Which CPUs the two sides run on. */
export interface Pinning {
  /** The responder's CPU list (taskset syntax), e.g. "0". */
  readonly responder: string;
  /** The generator's CPU list, e.g. "1". */
  readonly generator: string;
}

/** The default split of a machine with at least 2 CPUs: responder on CPU 0, generator on CPU 1. */
export const DEFAULT_PINNING: Pinning = { responder: "0", generator: "1" };

/** Set the CPU affinity of every thread of `pid` to `cpus`. */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
}

/** The distinct CPU lists (`Cpus_allowed_list`) of the threads of `pid`, e.g. ["0"]. */
export function affinityOf(pid: number): string[] {
  const lists = new Set<string>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const t of tids) {
    try {
      const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${t}/status`, "utf8"));
      if (m) lists.add(m[1]!);
    } catch {
      // The thread ended between readdir and read.
    }
  }
  return [...lists].sort();
}
