/**
 * The half-peak table's old-space figures (bench/handshake/old-space.ts): the window of a run's
 * negotiations, and the rises and full GCs in it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { oldSpaceIn, spanOf } from "../../bench/handshake/old-space.js";

test("the window of a long run's negotiations: from the first start to the last end, however many", () => {
  // 500 s at 600/s (--half-peak-secs 500): a spread of that many arguments overflows the stack.
  const spans = Array.from({ length: 300_000 }, (_, i) => ({ at: 1_000 + i, ms: i === 5 ? 400_000 : 2 }));
  assert.deepEqual(spanOf(spans), { from: 1_000, to: 401_005 });
});

test("old space in a window: the rises in it per negotiation, the full GCs that started in it", () => {
  const rises = [
    { at: 5, bytes: 1024 },
    { at: 10, bytes: 2048 },
    { at: 20, bytes: 1024 },
    { at: 31, bytes: 4096 },
  ];
  const events = [
    { kind: "gc-major", at: 12, ms: 3 },
    { kind: "gc-minor", at: 15, ms: 1 },
    { kind: "gc-major", at: 40, ms: 3 },
  ] as Parameters<typeof oldSpaceIn>[1];
  assert.deepEqual(oldSpaceIn(rises, events, 10, 30, 3), { kbPerNegotiation: 1, fullGcs: 1 });
  assert.ok(Number.isNaN(oldSpaceIn(rises, events, 10, 30, 0).kbPerNegotiation));
});
