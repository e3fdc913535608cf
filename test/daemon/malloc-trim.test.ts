/**
 * The daemon's malloc trim (src/daemon/malloc-trim.ts): one trim a second after a full GC (several
 * GCs meanwhile make one), none after stop; with the real GC observer, a forced full GC leads to a
 * trim; the addon's mallocTrim answers on this glibc machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { loadNative } from "../../native/index.js";
import { MallocTrimmer, TRIM_DELAY_MS } from "../../src/daemon/malloc-trim.js";
import { refClock } from "../../src/clock.js";
import { ManualClock } from "../helpers/manual-clock.js";

test("one trim a second after a full GC; GCs while one is pending add none; nothing after stop", () => {
  const clock = new ManualClock();
  let gc: () => void = () => assert.fail("not observing");
  let observing = false;
  let trims = 0;
  const t = new MallocTrimmer({
    clock,
    trim: () => (trims++, true),
    observeFullGc: (fn) => {
      gc = fn;
      observing = true;
      return () => (observing = false);
    },
  });
  t.start();
  assert.ok(observing);
  gc();
  gc();
  clock.advance(TRIM_DELAY_MS - 1);
  assert.equal(trims, 0, "not before the delay");
  clock.advance(1);
  assert.equal(trims, 1, "two GCs, one trim");
  gc();
  clock.advance(TRIM_DELAY_MS);
  assert.equal(trims, 2);
  gc();
  t.stop();
  assert.equal(observing, false);
  assert.equal(clock.timerCount, 0, "the pending trim is cancelled");
  clock.advance(10 * TRIM_DELAY_MS);
  assert.equal(trims, 2);
});

test("with the real GC observer, a forced full GC is followed by a trim", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  let trims = 0;
  const t = new MallocTrimmer({ clock: refClock, trim: () => (trims++, true) });
  t.start();
  try {
    gc();
    // Wait for the condition (the observer reports asynchronously), with a generous bound.
    const until = Date.now() + 30_000;
    while (trims === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(trims, 1);
  } finally {
    t.stop();
  }
});

test("the addon's mallocTrim runs (glibc): it answers whether memory went back", () => {
  const addon = loadNative();
  assert.equal(typeof addon.mallocTrim(), "boolean");
  // Make some freed memory in the main arena, then trim twice.
  let keep: Buffer[] = [];
  for (let i = 0; i < 2000; i++) keep.push(Buffer.allocUnsafeSlow(4096));
  keep = keep.filter((_, i) => i % 50 === 0);
  assert.equal(typeof addon.mallocTrim(), "boolean");
  assert.ok(keep.length > 0);
});
