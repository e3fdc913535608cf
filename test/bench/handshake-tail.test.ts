/**
 * The handshake bench's latency breakdown (bench/handshake/tail.ts): which part of each
 * negotiation's span overlapped the responder's and the generator's stalls.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { overlaps, tailAndMiddle } from "../../bench/handshake/tail.js";

test("overlaps count only the part of each stall inside a negotiation's span, by side and kind", () => {
  const spans = [
    { at: 1000, ms: 100 }, // 1000..1100
    { at: 2000, ms: 50 }, // 2000..2050
  ];
  const resp = [
    { at: 1090, ms: 20, kind: "gc-minor" }, // 10 ms inside the first span
    { at: 2010, ms: 10, kind: "lag", runMs: 5, waitMs: 4 }, // inside the second: half of it running, 40% waiting for a CPU
    { at: 3000, ms: 40, kind: "lag", runMs: 40, waitMs: 0 }, // outside both
  ];
  const gen = [{ at: 990, ms: 20, kind: "lag", runMs: 0, waitMs: 20 }]; // 10 ms inside the first span
  const o = overlaps(spans, resp, gen);
  assert.equal(o.n, 2);
  assert.equal(o.meanMs, 75);
  assert.equal(o.respGc, 5);
  assert.equal(o.respLag, 5);
  assert.equal(o.respLagRun, 0.5);
  assert.equal(o.respLagWait, 0.4);
  assert.equal(o.genGc, 0);
  assert.equal(o.genLag, 5);
});

test("a responder that was not probed (charon) has no responder columns", () => {
  const o = overlaps([{ at: 0, ms: 10 }], undefined, []);
  assert.ok(Number.isNaN(o.respGc) && Number.isNaN(o.respLag) && Number.isNaN(o.respLagRun) && Number.isNaN(o.respLagWait));
  assert.equal(o.genLag, 0);
});

test("the tail is every span at or above the nearest-rank p99; the middle is p45-p55", () => {
  const spans = Array.from({ length: 200 }, (_, i) => ({ at: i, ms: i + 1 }));
  const { tail, middle } = tailAndMiddle(spans);
  assert.deepEqual(tail.map((s) => s.ms), [198, 199, 200]);
  assert.equal(middle.length, 20);
  assert.equal(middle[0]!.ms, 91);
  assert.deepEqual(tailAndMiddle([]), { tail: [], middle: [] });
});
