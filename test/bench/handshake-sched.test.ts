/**
 * The handshake bench's scheduler breakdown (`--sched`): perf script's sched_switch/wakeup lines
 * become each thread's run / wait / sleep intervals and each CPU's holders (sched-trace.ts), and a
 * negotiation's span is charged by thread class, with the main threads' waits by who held the CPU
 * (sched-tail.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { tailFirstSecond } from "../../bench/handshake/measure.js";
import { schedBreakdown, type ThreadClass } from "../../bench/handshake/sched-tail.js";
import { SchedTraceBuilder } from "../../bench/handshake/sched-trace.js";

/** A perf script line at `ms` (CLOCK_MONOTONIC 100 s + ms) on `cpu` by `pid/tid`. */
const at = (ms: number): string => {
  const ns = 100_000_000_000 + Math.round(ms * 1e6);
  return `${Math.floor(ns / 1e9)}.${String(ns % 1e9).padStart(9, "0")}`;
};
const sw = (ms: number, cpu: number, prev: [string, number, number], state: string, next: [string, number]): string =>
  `${String(prev[1]).padStart(6)}/${prev[2]} [${String(cpu).padStart(3, "0")}] ${at(ms)}:       sched:sched_switch: prev_comm=${prev[0]} prev_pid=${prev[2]} prev_prio=120 prev_state=${state} ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`;
const wake = (ms: number, cpu: number, by: [number, number], comm: string, tid: number): string =>
  `${String(by[0]).padStart(6)}/${by[1]} [${String(cpu).padStart(3, "0")}] ${at(ms)}:       sched:sched_wakeup: comm=${comm} pid=${tid} prio=120 target_cpu=${String(cpu).padStart(3, "0")}`;

// CPU 0: the responder's main thread (pid 10) and its V8 thread (11); a stranger (cc, pid 50) too.
// CPU 1: the generator's main thread (pid 20), idle between.
const LINES = [
  sw(0, 0, ["swapper/0", 0, 0], "R", ["node", 10]), // resp main runs from 0
  sw(0, 1, ["swapper/1", 0, 0], "R", ["node", 20]), // gen main runs from 0
  sw(2, 0, ["node", 10, 10], "S", ["node", 11]), // resp main sleeps at 2; its V8 thread runs
  sw(3, 1, ["node", 20, 20], "S", ["swapper/1", 0]), // gen main sleeps at 3
  wake(4, 0, [10, 11], "node", 10), // resp main woken at 4, CPU 0 busy with 11
  sw(5, 0, ["node", 10, 11], "R", ["cc", 50]), // 11 preempted by a stranger
  sw(7, 0, ["cc", 50, 50], "S", ["node", 10]), // resp main runs at 7: waited 4..7 (1 ms behind v8, 2 behind cc)
  wake(8, 1, [0, 0], "node", 20), // gen main woken at 8 on an idle CPU
  sw(8.5, 1, ["swapper/1", 0, 0], "R", ["node", 20]), // runs at 8.5: 0.5 ms wakeup latency
  sw(9, 0, ["node", 10, 10], "S", ["swapper/0", 0]),
  sw(10, 1, ["node", 20, 20], "S", ["swapper/1", 0]),
  "some other line perf prints",
];

function build() {
  const b = new SchedTraceBuilder((tid) => tid === 10 || tid === 11 || tid === 20);
  for (const l of LINES) b.line(l);
  return b.finish();
}

test("switches and wakeups become run, wait and sleep intervals, and every CPU's holders", () => {
  const t = build();
  assert.equal(t.events, 11);
  assert.equal(t.firstMs, 100_000);
  assert.equal(t.lastMs, 100_010);
  const main = t.threads.get(10)!;
  // run 0-2, sleep 2-4, wait 4-7 (then on CPU 0), run 7-9, then asleep to the end.
  assert.deepEqual(
    main.spans.map((x, i) => (i % 3 === 2 ? x : x - 100_000)),
    [0, 2, 0, 2, 4, 2, 4, 7, 1, 7, 9, 0, 9, 10, 2],
  );
  assert.deepEqual(main.cpus, [-1, -1, 0, -1, -1]);
  assert.equal(t.threads.has(50), false, "a thread not of interest keeps no timeline");
  assert.deepEqual(t.cpus.get(0)!.map((x, i) => (i % 3 === 2 ? x : x - 100_000)), [0, 2, 10, 2, 5, 11, 5, 7, 50, 7, 9, 10, 9, 10, 0]);
  assert.equal(t.tgid.get(50), 50);
  assert.equal(t.comm.get(50), "cc");
});

test("a negotiation's span is charged by class and state, and the main threads' waits by holder", () => {
  const t = build();
  const classes = new Map<number, ThreadClass>([
    [10, "resp main"],
    [11, "resp v8"],
    [20, "gen main"],
  ]);
  const b = schedBreakdown(t, [{ from: 100_001, to: 100_009 }], classes);
  assert.equal(b.n, 1);
  assert.equal(b.meanMs, 8);
  assert.deepEqual(b.byClass.get("resp main"), { run: 3, wait: 3, sleep: 2 });
  assert.deepEqual(b.byClass.get("gen main"), { run: 2.5, wait: 0.5, sleep: 5 });
  // The V8 thread: woken never (no wakeup event), ran 2-5, preempted (waiting) from 5.
  assert.deepEqual(b.byClass.get("resp v8"), { run: 3, wait: 4, sleep: 0 });
  const resp = b.holders.get("resp main")!;
  assert.equal(resp.get("resp v8"), 1);
  assert.equal(resp.get("others"), 2);
  assert.equal(b.holders.get("gen main")!.get("idle"), 0.5);
  assert.deepEqual(b.otherNames, [["cc", 2]]);
  // Two spans: means.
  const two = schedBreakdown(t, [{ from: 100_000, to: 100_002 }, { from: 100_002, to: 100_004 }], classes);
  assert.deepEqual(two.byClass.get("resp main"), { run: 1, wait: 0, sleep: 1 });
});

test("the half-peak table's start-up column: of the slowest 1%, those started within the run's first second", () => {
  // 100 negotiations, one every 100 ms; the two slowest (at or above the nearest-rank p99) start 0.5 s and 5 s in.
  const samples = Array.from({ length: 100 }, (_, i) => ({ startMs: 5000 + i * 100, ms: 1 }));
  samples[5]!.ms = 50;
  samples[50]!.ms = 40;
  assert.deepEqual(tailFirstSecond(samples), { n: 1, of: 2 });
  assert.deepEqual(tailFirstSecond([]), { n: 0, of: 0 });
});

test("the start-up column takes a long run's samples (more than a spread argument list holds)", () => {
  // 300,000 negotiations one per ms (a long --half-peak-secs at a high rate); every 50th is slow.
  const samples = Array.from({ length: 300_000 }, (_, i) => ({ startMs: 1000 + i, ms: i % 50 === 0 ? 50 : 1 }));
  assert.deepEqual(tailFirstSecond(samples), { n: 20, of: 6000 });
});

test("odd perf script lines (cut anywhere, garbage, spliced) never throw and leave no interval backwards", () => {
  const cut = fc.tuple(fc.constantFrom(...LINES), fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1)));
  const odd = fc.oneof(cut, fc.string(), fc.constantFrom(...LINES), fc.tuple(cut, fc.string()).map(([a, b]) => a + b));
  fc.assert(
    fc.property(fc.array(odd, { maxLength: 40 }), (lines) => {
      const b = new SchedTraceBuilder(() => true);
      for (const l of lines) b.line(l);
      const t = b.finish();
      for (const a of [...t.threads.values()].map((x) => x.spans).concat([...t.cpus.values()]))
        for (let i = 0; i < a.length; i += 3) assert.ok(a[i + 1]! >= a[i]!, `interval ${a[i]}..${a[i + 1]}`);
    }),
    { numRuns: 500 },
  );
});

test("an event older than one already read is skipped and counted", () => {
  const b = new SchedTraceBuilder(() => true);
  b.line(LINES[2]!); // at 2 ms
  b.line(LINES[0]!); // at 0 ms: out of order
  b.line(LINES[4]!); // at 4 ms
  const t = b.finish();
  assert.equal(t.events, 2);
  assert.equal(t.outOfOrder, 1);
  assert.deepEqual(t.cpus.get(0)!.map((x, i) => (i % 3 === 2 ? x : x - 100_000)), [2, 4, 11]);
});
