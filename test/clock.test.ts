/**
 * Every timer of the daemon goes through a Clock (src/clock.ts), which clamps a delay longer than
 * Node's longest wait and refuses NaN and negative delays as broken invariants (Node would turn
 * either into a 1 ms timer: an SA lifetime computed as NaN ended the SA at once). The owners of
 * long waits re-arm: an ISAKMP SA's timers wait in steps, the SADB's deadline heap re-arms.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER_DELAY, refClock, systemClock, timerDelay, type Clock } from "../src/clock.js";
import { InvariantError } from "../src/errors.js";
import { IsakmpSa } from "../src/ike/isakmp-sa.js";
import { nullLog } from "../src/ike/log.js";
import { Retransmitter } from "../src/ike/retransmit.js";
import { IkeStats } from "../src/ike/stats.js";
import { Deadlines } from "../src/kernel/deadlines.js";
import { ManualClock } from "./helpers/manual-clock.js";

const isInvariant = (e: unknown): boolean => e instanceof InvariantError && e.code === "IKE_ERR_INVARIANT";

test("timerDelay: NaN and negative delays are broken invariants; long ones are cut to 2^31-1 ms", () => {
  assert.throws(() => timerDelay(Number.NaN), isInvariant);
  assert.throws(() => timerDelay(-1), isInvariant);
  assert.throws(() => timerDelay(-0.5), isInvariant);
  assert.equal(timerDelay(0), 0);
  assert.equal(timerDelay(1500), 1500);
  assert.equal(timerDelay(2 ** 31), MAX_TIMER_DELAY);
  assert.equal(timerDelay(Number.POSITIVE_INFINITY), MAX_TIMER_DELAY);
});

for (const [name, clock] of [["systemClock", systemClock], ["refClock", refClock]] as const) {
  test(`${name}: refuses NaN and negative delays, arms a long one at the longest wait`, () => {
    assert.throws(() => clock.setTimer(() => assert.fail("fired"), Number.NaN), isInvariant);
    assert.throws(() => clock.setTimer(() => assert.fail("fired"), -5), isInvariant);
    const h = clock.setTimer(() => assert.fail("a 30-day timer fired"), 30 * 24 * 3600 * 1000);
    // Node keeps the delay it armed with on the Timeout object (it would be 1 ms after an overflow).
    assert.equal((h as unknown as { _idleTimeout: number })._idleTimeout, MAX_TIMER_DELAY);
    clock.clearTimer(h);
  });
}

test("ManualClock checks delays like the system clock, so tests see a NaN timer too", () => {
  const c = new ManualClock();
  assert.throws(() => c.setTimer(() => {}, Number.NaN), isInvariant);
  assert.throws(() => c.setTimer(() => {}, -1), isInvariant);
});

test("ISAKMP SA timers: NaN or negative is refused when armed, not fired 1 ms later", () => {
  const clock = new ManualClock();
  const sa = new IsakmpSa(
    { role: "initiator", icookie: Buffer.alloc(8, 1), local: { address: "10.0.0.1", port: 500 }, remote: { address: "10.0.0.2", port: 500 } },
    { clock, log: nullLog, stats: new IkeStats() },
  );
  assert.throws(() => sa.setTimer("lifetime", Number.NaN, () => assert.fail("fired")), isInvariant);
  assert.throws(() => sa.setTimer("lifetime", -1000, () => assert.fail("fired")), isInvariant);
  assert.deepEqual(sa.timerNames(), []);
  sa.destroy("test");
});

test("Retransmitter: a NaN backoff is refused at the first send instead of a 1 ms resend loop", () => {
  const clock = new ManualClock();
  let sent = 0;
  const r = new Retransmitter(clock, { initMs: Number.NaN, maxMs: Number.NaN, limit: 5 }, () => sent++, () => {});
  assert.throws(() => r.start(), isInvariant);
  assert.equal(clock.timerCount, 0);
});

test("SADB deadlines: one past fires on the next turn, one beyond the longest wait is re-armed, a NaN one is refused", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const one = { dueAt: Infinity, heapIndex: -1, id: 1 };
  const two = { dueAt: Infinity, heapIndex: -1, id: 2 };
  const d = new Deadlines<typeof one>(clock as Clock, (o) => fired.push(o.id));
  assert.throws(() => d.set(one, Number.NaN), isInvariant);
  d.set(one, clock.now() - 5000);
  clock.advance(0);
  assert.deepEqual(fired, [1], "a deadline already past is due at once");
  const far = clock.now() + 2 * MAX_TIMER_DELAY + 10;
  d.set(two, far);
  clock.advance(MAX_TIMER_DELAY);
  clock.advance(MAX_TIMER_DELAY);
  assert.deepEqual(fired, [1], "not before its time");
  clock.advance(10);
  assert.deepEqual(fired, [1, 2]);
  d.close();
});
