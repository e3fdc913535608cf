/**
 * The handshake bench's `--sched`: one half-peak round under `perf record` (sched-record.ts), then
 * the slowest 1% and the middle 10% of its negotiations broken down by the scheduler
 * (sched-tail.ts), and the tables that print it. With `--sched-keep DIR` the recording, the
 * negotiations (CLOCK_MONOTONIC ms) and the threads' classes stay in DIR for another look
 * (`perf script -i DIR/<cell>.data`, or `sched-report.js DIR/<cell>`).
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { monotonicOffsetMs, type Round } from "./measure.js";
import { readSchedRecording, startSchedRecording } from "./sched-record.js";
import { schedBreakdown, type SchedBreakdown, type ThreadClass } from "./sched-tail.js";
import { tailAndMiddle } from "./tail.js";
import { classifyThreads, sampleThreads, type ThreadSample } from "./thread-cpu.js";
import type { Target } from "./targets.js";

/** A cell's breakdown. */
export interface SchedCell {
  readonly tail: SchedBreakdown;
  readonly middle: SchedBreakdown;
  /** perf's warnings (lost events), if any. */
  readonly messages: string;
  readonly events: number;
}

/** What is kept with `--sched-keep` beside the recording: enough to redo the breakdown. */
export interface SchedKept {
  readonly negotiations: readonly { readonly from: number; readonly to: number }[];
  readonly classes: readonly [number, ThreadClass][];
  readonly perfPid: number;
}

/** Classes of every thread of the responder (charon: `resp charon`) and of this process (the generator). */
function classesOf(t: Target, resp: readonly ThreadSample[], gen: readonly ThreadSample[], genWorkers: number): Map<number, ThreadClass> {
  const out = new Map<number, ThreadClass>();
  if (t.poolThreads === undefined) for (const x of resp) out.set(x.tid, "resp charon");
  else for (const [tid, role] of classifyThreads(t.pid, resp, t.poolThreads)) out.set(tid, `resp ${role}`);
  for (const [tid, role] of classifyThreads(process.pid, gen, genWorkers)) out.set(tid, `gen ${role}`);
  return out;
}

/** Run `round` (one half-peak measurement; it calls `onProgress` as the load runs) under perf and break it down. */
export async function schedWindow(dir: string, name: string, t: Target, genWorkers: number, keep: boolean, round: (onProgress: () => void) => Promise<Round>): Promise<{ round: Round; sched: SchedCell }> {
  // The generator's pool lives as long as the load run: its threads are sampled while it runs.
  let gen: ThreadSample[] = [];
  const onProgress = (): void => {
    if (gen.length === 0) gen = sampleThreads(process.pid);
  };
  const rec = await startSchedRecording(dir, name);
  let r: Round;
  try {
    r = await round(onProgress);
  } catch (err) {
    await rec.stop();
    throw err;
  }
  const recorded = await rec.stop();
  const resp = sampleThreads(t.pid);
  const classes = classesOf(t, resp, gen, genWorkers);
  const { trace, messages } = await readSchedRecording(rec.file, (tid) => classes.has(tid));
  const offset = monotonicOffsetMs();
  const { tail, middle } = tailAndMiddle(r.samples.map((x) => ({ at: x.startMs + offset, ms: x.ms })));
  const mono = (xs: readonly { at: number; ms: number }[]) => xs.map((x) => ({ from: x.at, to: x.at + x.ms }));
  const sched: SchedCell = {
    tail: schedBreakdown(trace, mono(tail), classes, rec.pid),
    middle: schedBreakdown(trace, mono(middle), classes, rec.pid),
    messages: [recorded, messages].filter((m) => m !== "").join("\n"),
    events: trace.events,
  };
  if (keep) {
    const kept: SchedKept = { negotiations: r.samples.map((x) => ({ from: x.startMs + offset, to: x.startMs + offset + x.ms })), classes: [...classes], perfPid: rec.pid };
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(kept));
  } else {
    rmSync(rec.file, { force: true });
  }
  return { round: r, sched };
}

const f1 = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(1) : "-");

/** The two tables of `--sched`: time by thread class and state, and the main threads' waits by holder. */
export function printSched(rows: readonly { group: number; label: string; threads: string; sched: SchedCell }[]): void {
  const classRows: Record<string, string | number>[] = [];
  const holderRows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const r of rows) {
    for (const [which, b] of [["slowest 1%", r.sched.tail], ["middle 10%", r.sched.middle]] as const) {
      const c = (cls: ThreadClass): string => {
        const x = b.byClass.get(cls);
        return x === undefined ? "-" : `${f1(x.run)} / ${f1(x.wait)}${cls.endsWith(" main") || cls.endsWith(" charon") ? ` / ${f1(x.sleep)}` : ""}`;
      };
      classRows.push({
        group: r.group,
        responder: r.label,
        "pool threads": r.threads,
        negotiations: which,
        n: b.n,
        "mean ms": f1(b.meanMs),
        "resp main (charon) run/wait/sleep": r.threads === "(charon)" ? c("resp charon") : c("resp main"),
        "resp pool run/wait": c("resp pool"),
        "resp v8 run/wait": c("resp v8"),
        "gen main run/wait/sleep": c("gen main"),
        "gen pool run/wait": c("gen pool"),
        "gen v8 run/wait": c("gen v8"),
      });
      for (const main of ["resp main", "resp charon", "gen main"] as const) {
        const h = b.holders.get(main);
        if (h === undefined) continue;
        const g = (k: string): string => f1((h as Map<string, number>).get(k) ?? 0);
        holderRows.push({
          group: r.group,
          responder: r.label,
          "pool threads": r.threads,
          negotiations: which,
          "waiting thread": main,
          "resp main (charon)": f1((h.get("resp main") ?? 0) + (h.get("resp charon") ?? 0)),
          "resp pool": g("resp pool"),
          "resp v8+libuv": f1((h.get("resp v8") ?? 0) + (h.get("resp libuv") ?? 0) + (h.get("resp signal") ?? 0)),
          "gen main": g("gen main"),
          "gen pool": g("gen pool"),
          "gen v8+libuv": f1((h.get("gen v8") ?? 0) + (h.get("gen libuv") ?? 0) + (h.get("gen signal") ?? 0)),
          kernel: g("kernel"),
          perf: g("perf"),
          others: g("others"),
          idle: g("idle"),
        });
      }
      if (which === "slowest 1%" && b.otherNames.length > 0) notes.push(`group ${r.group} ${r.label} ${r.threads}: ${b.otherNames.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(", ")}`);
    }
    if (r.sched.messages !== "") notes.push(`group ${r.group} ${r.label} ${r.threads}: perf: ${r.sched.messages.replace(/\s+/g, " ")}`);
  }
  console.log(
    "\nWhere the half-peak latency goes by the scheduler (--sched, perf sched_switch/wakeup): per negotiation, mean ms of its span each class of\n" +
      "thread ran on a CPU / waited runnable for one / slept (main threads), summed over the class's threads:",
  );
  console.table(classRows);
  console.log("\nThe main threads' waits for a CPU by who held it (ms per negotiation; idle: the CPU was free, i.e. wakeup latency):");
  console.table(holderRows);
  if (notes.length > 0) console.log(`Slowest 1%: the kernel threads and other processes that held the CPU (ms per negotiation), and perf's messages:\n  ${notes.join("\n  ")}`);
}
