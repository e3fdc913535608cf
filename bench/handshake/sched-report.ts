/**
 * Another look at a recording kept by the handshake bench's `--sched-keep DIR`:
 *   node dist/bench/handshake/sched-report.js DIR/<cell> [--top 10]
 * (<cell> as `g2-in_iked-1`: DIR/<cell>.data is perf's file, DIR/<cell>.json the negotiations and
 * the threads' classes). Prints the bench's two tables for that cell and then the `--top` slowest
 * negotiations one by one: each one's ms by thread class and state, and who held the CPU its
 * main threads waited for.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readSchedRecording } from "./sched-record.js";
import { schedBreakdown } from "./sched-tail.js";
import { printSched, type SchedKept } from "./sched-window.js";
import { tailAndMiddle } from "./tail.js";

const f1 = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(1) : "-");

async function main(args: readonly string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { top: { type: "string", default: "10" } } });
  const base = positionals[0];
  if (base === undefined) throw new Error("usage: sched-report.js DIR/<cell> [--top N]");
  const kept = JSON.parse(readFileSync(`${base}.json`, "utf8")) as SchedKept;
  const classes = new Map(kept.classes);
  const { trace, messages } = await readSchedRecording(`${base}.data`, (tid) => classes.has(tid));
  const { tail, middle } = tailAndMiddle(kept.negotiations.map((x) => ({ at: x.from, ms: x.to - x.from })));
  const mono = (xs: readonly { at: number; ms: number }[]) => xs.map((x) => ({ from: x.at, to: x.at + x.ms }));
  const charon = kept.classes.some(([, c]) => c === "resp charon");
  printSched([
    {
      group: Number(/g(\d+)/.exec(base)?.[1] ?? Number.NaN),
      label: base,
      threads: charon ? "(charon)" : "",
      sched: { tail: schedBreakdown(trace, mono(tail), classes, kept.perfPid), middle: schedBreakdown(trace, mono(middle), classes, kept.perfPid), messages, events: trace.events },
    },
  ]);
  const top = [...kept.negotiations].sort((a, b) => b.to - b.from - (a.to - a.from)).slice(0, Number(v.top));
  const rows = top.map((s) => {
    const b = schedBreakdown(trace, [s], classes, kept.perfPid);
    const row: Record<string, string> = { "start (s into trace)": ((s.from - trace.firstMs) / 1000).toFixed(3), ms: f1(s.to - s.from) };
    for (const [cls, x] of [...b.byClass].sort()) row[cls] = `${f1(x.run)}/${f1(x.wait)}/${f1(x.sleep)}`;
    for (const [who, h] of b.holders) row[`${who} waited behind`] = [...h].filter(([, ms]) => ms >= 0.5).sort((a, b) => b[1] - a[1]).map(([k, ms]) => `${k} ${f1(ms)}`).join(", ");
    row["others by name"] = b.otherNames.map(([n, ms]) => `${n} ${f1(ms)}`).join(", ");
    return row;
  });
  console.log(`\nThe ${rows.length} slowest negotiations, ms run/wait/sleep by class:`);
  console.table(rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
