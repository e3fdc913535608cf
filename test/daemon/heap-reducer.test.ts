/**
 * The daemon's heap reducer (src/daemon/heap-reducer.ts): a memory-reducing GC only at a quiet
 * check, with slack, after the heap grew since the last one left it, at most once per
 * SPACING_CHECKS; none after stop. gc-observer.ts tells scavenges from full GCs. The addon's
 * heapReduce gives back committed heap that ordinary full GCs keep.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { loadNative } from "../../native/index.js";
import {
  CHECK_INTERVAL_MS,
  HeapReducer,
  MIN_GROWTH_BYTES,
  MIN_SLACK_BYTES,
  oldGenerationFigures,
  QUIET_SCAVENGES,
  SPACING_CHECKS,
  type HeapFigures,
} from "../../src/daemon/heap-reducer.js";
import { observeGc } from "../../src/daemon/gc-observer.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const MB = 1024 * 1024;

/** A reducer on a manual clock with a scripted heap and scavenge feed. */
function rig(heap: HeapFigures) {
  const clock = new ManualClock();
  let scavenge: () => void = () => assert.fail("not observing");
  let observing = false;
  const r = {
    clock,
    heap,
    reduced: 0,
    told: [] as HeapFigures[],
    get observing() {
      return observing;
    },
    scavenges(n: number) {
      for (let i = 0; i < n; i++) scavenge();
    },
    check(n = 1) {
      for (let i = 0; i < n; i++) clock.advance(CHECK_INTERVAL_MS);
    },
    reducer: undefined as unknown as HeapReducer,
  };
  r.reducer = new HeapReducer({
    clock,
    reduce: () => r.reduced++,
    heap: () => r.heap,
    onReduce: (h) => r.told.push(h),
    observeScavenges: (fn) => {
      scavenge = fn;
      observing = true;
      return () => (observing = false);
    },
  });
  r.reducer.start();
  return r;
}

test("a quiet check after load asks for one memory-reducing GC; none while busy, none while the heap has not grown since", () => {
  const r = rig({ committed: 900 * MB, used: 500 * MB });
  assert.ok(r.observing);
  r.scavenges(QUIET_SCAVENGES + 1);
  r.check();
  assert.equal(r.reduced, 0, "busy: none");
  r.scavenges(QUIET_SCAVENGES);
  r.check();
  assert.equal(r.reduced, 1, "quiet: one");
  assert.deepEqual(r.told, [{ committed: 900 * MB, used: 500 * MB }], "told with the heap before it");
  r.heap = { committed: 700 * MB, used: 500 * MB };
  r.check(10 * SPACING_CHECKS);
  assert.equal(r.reduced, 1, "idle, the heap as the GC left it: none");
  r.heap = { committed: 700 * MB + MIN_GROWTH_BYTES - 1, used: 510 * MB };
  r.check(2);
  assert.equal(r.reduced, 1, "grown by less than MIN_GROWTH_BYTES: none");
  r.heap = { committed: 700 * MB + MIN_GROWTH_BYTES, used: 510 * MB };
  r.scavenges(QUIET_SCAVENGES + 1);
  r.check();
  assert.equal(r.reduced, 1, "grown, but busy: none");
  r.check();
  assert.equal(r.reduced, 2, "grown and quiet: the next");
  assert.equal(r.reducer.reductions, 2);
});

test("at most one memory-reducing GC per SPACING_CHECKS checks, however the heap grows", () => {
  const r = rig({ committed: 900 * MB, used: 100 * MB });
  r.check();
  assert.equal(r.reduced, 1);
  for (let i = 1; i < SPACING_CHECKS; i++) {
    r.heap = { committed: r.heap.committed + 2 * MIN_GROWTH_BYTES, used: r.heap.used };
    r.check();
  }
  assert.equal(r.reduced, 1, "not before SPACING_CHECKS checks");
  r.check();
  assert.equal(r.reduced, 2);
});

test("none while the heap has less than MIN_SLACK_BYTES committed beyond what it uses", () => {
  const r = rig({ committed: 100 * MB + MIN_SLACK_BYTES - 1, used: 100 * MB });
  r.check(3);
  assert.equal(r.reduced, 0);
  r.heap = { committed: 100 * MB + MIN_SLACK_BYTES, used: 100 * MB };
  r.check();
  assert.equal(r.reduced, 1);
});

test("stop ends the observer and the checks", () => {
  const r = rig({ committed: 900 * MB, used: 100 * MB });
  r.reducer.stop();
  assert.equal(r.observing, false);
  assert.equal(r.clock.timerCount, 0);
  r.check(SPACING_CHECKS);
  assert.equal(r.reduced, 0);
});

test("the GC observer tells scavenges from full GCs", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as (o?: { type: string }) => void;
  let scavenges = 0;
  let fulls = 0;
  const stops = [observeGc("scavenge", () => scavenges++), observeGc("full", () => fulls++)];
  try {
    gc({ type: "minor" });
    // The observer reports in batches, after the fact: wait for it, with a generous bound.
    let until = Date.now() + 30_000;
    while (scavenges === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    assert.ok(scavenges > 0, "a scavenge is seen as one");
    const fullsBefore = fulls;
    gc();
    until = Date.now() + 30_000;
    while (fulls === fullsBefore && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    assert.ok(fulls > fullsBefore, "a full GC is seen as one");
  } finally {
    for (const stop of stops) stop();
  }
});

test("the addon's heapReduce gives back committed heap that ordinary full GCs keep", () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const addon = loadNative();
  // Long-lived objects interleaved with short-lived ones, as held SAs among a burst's garbage.
  const keep: object[] = [];
  for (let round = 0; round < 8; round++) {
    let burst: object[] | undefined = [];
    for (let i = 0; i < 50_000; i++) {
      const o = { i, s: `x${i}`, a: [i, i + 1], m: new Map() };
      if (i % 4 === 0) keep.push(o);
      else burst.push(o);
    }
    burst = undefined;
  }
  gc();
  gc();
  const ordinary = v8.getHeapStatistics().total_heap_size;
  assert.equal(addon.heapReduce(true), true);
  const reduced = v8.getHeapStatistics().total_heap_size;
  assert.ok(reduced < ordinary, `committed ${reduced} after a memory-reducing GC, ${ordinary} after two ordinary ones`);
  assert.equal(addon.heapReduce(false), true, "the incremental one is asked for too");
  assert.equal(keep.length, 100_000);
});

test("a spell of short-lived allocation leaves the old generation without slack, though the young generation grew", () => {
  // A child node with the daemon's heap flags (young-generation.ts, old-generation.ts) allocates only garbage
  // for a while, as a burst of negotiations that were all deleted, then goes quiet. The young
  // generation has grown and its scavenges left it nearly empty: the whole heap shows tens of MB
  // committed beyond what it uses, which once made every lull look like load to reduce after.
  const reducer = fileURLToPath(new URL("../../src/daemon/heap-reducer.js", import.meta.url));
  const script = `
    import v8 from "node:v8";
    import { oldGenerationFigures } from ${JSON.stringify(reducer)};
    let window = [];
    for (let i = 0; i < 3_000_000; i++) {
      window.push({ i, s: "x" + i });
      if (window.length > 20_000) window = [];
    }
    window = [];
    const all = v8.getHeapStatistics();
    process.stdout.write(JSON.stringify({ whole: { committed: all.total_heap_size, used: all.used_heap_size }, old: oldGenerationFigures() }));
  `;
  const out = execFileSync(process.execPath, ["--max-semi-space-size=32", "--initial-old-space-size=128", "--input-type=module", "-e", script], { encoding: "utf8" });
  const { whole, old } = JSON.parse(out) as { whole: HeapFigures; old: HeapFigures };
  assert.ok(whole.committed - whole.used >= MIN_SLACK_BYTES, `the whole heap shows slack: ${JSON.stringify(whole)}`);
  assert.ok(old.committed - old.used < MIN_SLACK_BYTES, `the old generation does not: ${JSON.stringify(old)}`);
  assert.ok(old.committed < whole.committed && old.used > 0);
});
