/**
 * The clock's one timer queue (src/timer-queue.ts): deadlines in order, ties in arming order,
 * cancel and re-arm in place, NaN/negative refused, waits beyond 2^31-1 ms re-armed, one clock timer
 * for all of them, and a random workload checked against a plain sorted model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER_DELAY, type Clock, type TimerHandle } from "../src/clock.js";
import { InvariantError } from "../src/errors.js";
import { QueuedTimer, TimerQueue, timerQueueOf } from "../src/timer-queue.js";
import { ManualClock } from "./helpers/manual-clock.js";

/** A timer that records when it fired, and may run `then` when it does. */
class Probe extends QueuedTimer {
  firedAt: number[] = [];
  then: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    readonly name: string,
    private readonly log: string[],
  ) {
    super();
  }

  fire(): void {
    this.firedAt.push(this.clock.now());
    this.log.push(this.name);
    this.then?.();
  }
}

function setup(): { clock: ManualClock; q: TimerQueue; log: string[]; probe: (name: string) => Probe } {
  const clock = new ManualClock(0);
  const q = new TimerQueue(clock);
  const log: string[] = [];
  return { clock, q, log, probe: (name) => new Probe(clock, name, log) };
}

test("timers fire at their own deadline, in deadline order, whatever the order they were armed in", () => {
  const { clock, q, log, probe } = setup();
  const c = probe("c");
  const a = probe("a");
  const b = probe("b");
  q.add(c, 3000);
  q.add(a, 1000);
  q.add(b, 2000);
  assert.equal(q.size, 3);
  assert.equal(clock.timerCount, 1, "one clock timer for all three");
  clock.advance(999);
  assert.deepEqual(log, [], "nothing before the first deadline");
  clock.advance(10_000);
  assert.deepEqual(log, ["a", "b", "c"]);
  assert.deepEqual([a.firedAt, b.firedAt, c.firedAt], [[1000], [2000], [3000]], "each at its exact millisecond");
  assert.equal(q.size, 0);
  assert.equal(clock.timerCount, 0, "an empty queue holds no clock timer");
  assert.equal(a.queued, false);
});

test("timers due at the same millisecond fire in the order they were armed", () => {
  const { clock, q, log, probe } = setup();
  const names = ["p", "q", "r", "s", "t", "u", "v"];
  for (const n of names) q.add(probe(n), 500);
  q.add(probe("early"), 499);
  clock.advance(500);
  assert.deepEqual(log, ["early", ...names]);
});

test("cancel: a removed timer never fires, from the root, the middle or the last place; removing twice is harmless", () => {
  const { clock, q, log, probe } = setup();
  const ts = Array.from({ length: 9 }, (_, i) => probe(`t${i}`));
  ts.forEach((t, i) => q.add(t, (i + 1) * 100));
  q.remove(ts[0]!); // the root
  q.remove(ts[4]!); // the middle
  q.remove(ts[8]!); // the last
  q.remove(ts[8]!);
  q.remove(probe("never queued"));
  assert.equal(q.size, 6);
  clock.advance(1000);
  assert.deepEqual(log, ["t1", "t2", "t3", "t5", "t6", "t7"]);
});

test("cancelling the timer the clock timer waits for: the rest still fire on time; cancelling all disarms the clock", () => {
  const { clock, q, log, probe } = setup();
  const a = probe("a");
  const b = probe("b");
  q.add(a, 100);
  q.add(b, 300);
  q.remove(a);
  clock.advance(299);
  assert.deepEqual(log, []);
  clock.advance(1);
  assert.deepEqual(b.firedAt, [300]);
  q.add(a, 50);
  assert.equal(clock.timerCount, 1);
  q.remove(a);
  assert.equal(clock.timerCount, 0);
  assert.equal(q.armed, false);
});

test("re-arm moves a timer (later and earlier), it fires once, at the new deadline", () => {
  const { clock, q, probe } = setup();
  const a = probe("a");
  const b = probe("b");
  q.add(a, 100);
  q.add(b, 200);
  q.add(a, 500); // later than it was
  q.add(b, 50); // earlier than it was, and than the clock timer
  assert.equal(q.size, 2);
  clock.advance(1000);
  assert.deepEqual(a.firedAt, [500]);
  assert.deepEqual(b.firedAt, [50]);
});

test("a timer re-armed from its own fire() fires again; one armed with no delay fires in the same turn", () => {
  const { clock, q, log, probe } = setup();
  const a = probe("a");
  let left = 3;
  a.then = () => {
    if (--left > 0) q.add(a, 1000);
  };
  const z = probe("z");
  const now = probe("now");
  z.then = () => q.add(now, 0);
  q.add(a, 1000);
  q.add(z, 1500);
  clock.advance(10_000);
  assert.deepEqual(a.firedAt, [1000, 2000, 3000]);
  assert.deepEqual(now.firedAt, [1500]);
  assert.deepEqual(log, ["a", "z", "now", "a", "a"]);
});

test("clamps: NaN and negative delays are refused before anything changes; a wait beyond 2^31-1 ms is armed in steps and fires on time", () => {
  const clock = new ManualClock(0);
  let longest = 0;
  const watched: Clock = {
    now: () => clock.now(),
    setTimer: (fn, ms): TimerHandle => ((longest = Math.max(longest, ms)), clock.setTimer(fn, ms)),
    clearTimer: (h) => clock.clearTimer(h),
  };
  const q = new TimerQueue(watched);
  const log: string[] = [];
  const a = new Probe(clock, "a", log);
  const isInvariant = (e: unknown): boolean => e instanceof InvariantError;
  assert.throws(() => q.add(a, Number.NaN), isInvariant);
  assert.throws(() => q.add(a, -1), isInvariant);
  assert.equal(q.size, 0);
  q.add(a, 100);
  assert.throws(() => q.add(a, Number.NaN), isInvariant);
  assert.equal(a.queued, true, "a refused re-arm leaves the timer as it was");
  const far = new Probe(clock, "far", log);
  q.add(far, 30 * 86_400_000);
  clock.advance(MAX_TIMER_DELAY);
  assert.deepEqual(log, ["a"], "not at 24.8 days");
  clock.advance(30 * 86_400_000 - MAX_TIMER_DELAY);
  assert.deepEqual(far.firedAt, [30 * 86_400_000]);
  assert.equal(longest, MAX_TIMER_DELAY, "no clock wait longer than the longest");
  assert.equal(clock.timerCount, 0);
});

test("many timers: a random workload of arms, re-arms and cancels fires exactly as a sorted model says", () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const { clock, q, probe } = setup();
  const fired: [string, number][] = [];
  const timers = Array.from({ length: 2000 }, (_, i) => {
    const t = probe(`t${i}`);
    t.then = () => fired.push([t.name, clock.now()]);
    return t;
  });
  /** name -> [deadline, arming order] of each timer expected to fire. */
  const model = new Map<string, [number, number]>();
  let order = 0;
  for (let step = 0; step < 20_000; step++) {
    const t = timers[rnd(timers.length)]!;
    if (rnd(4) === 0) {
      q.remove(t);
      model.delete(t.name);
    } else {
      const ms = rnd(5) * 1000 + rnd(3); // many ties
      q.add(t, ms);
      model.set(t.name, [clock.now() + ms, order++]);
    }
    if (step % 1000 === 999) {
      // Some fire now and leave the model.
      clock.advance(700);
      for (const [name, [at]] of [...model]) if (at <= clock.now()) model.delete(name);
    }
  }
  assert.equal(q.size, model.size);
  const expected = [...model].sort((x, y) => x[1][0] - y[1][0] || x[1][1] - y[1][1]).map(([name, [at]]) => [name, at]);
  fired.length = 0;
  clock.advance(10_000);
  assert.deepEqual(fired, expected);
  assert.equal(q.size, 0);
  assert.equal(clock.timerCount, 0);
});

test("small queues: after any cancels, the rest fire in deadline order (a hole refilled from another subtree moves up)", () => {
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let trial = 0; trial < 3000; trial++) {
    const { clock, q, log, probe } = setup();
    const n = 3 + rnd(30);
    const ts = Array.from({ length: n }, (_, i) => probe(`t${i}`));
    const at = new Map<string, number>();
    for (const t of ts) {
      const ms = 1 + rnd(1000);
      q.add(t, ms);
      at.set(t.name, ms);
    }
    for (let k = rnd(n); k > 0; k--) {
      const t = ts[rnd(n)]!;
      q.remove(t);
      at.delete(t.name);
    }
    clock.advance(1000);
    const firedAt = log.map((name) => at.get(name)!);
    assert.deepEqual(firedAt, [...firedAt].sort((x, y) => x - y), `trial ${trial}`);
    assert.deepEqual(new Set(log), new Set(at.keys()));
  }
});

test("timerQueueOf: one queue per clock", () => {
  const a = new ManualClock();
  const b = new ManualClock();
  assert.equal(timerQueueOf(a), timerQueueOf(a));
  assert.notEqual(timerQueueOf(a), timerQueueOf(b));
});

test("deadlines follow the clock's monotonic time: a wall-clock step moves none of them", () => {
  // A ManualClock whose wall time (now) is stepped apart from its monotonic time, as NTP or an
  // operator's `date` steps the system clock while performance.now() goes on.
  const base = new ManualClock(0);
  let step = 0;
  const clock: Clock = {
    now: () => base.now() + step,
    monotonic: () => base.now(),
    setTimer: (fn, ms) => base.setTimer(fn, ms),
    clearTimer: (h) => base.clearTimer(h),
  };
  const q = new TimerQueue(clock);
  const log: string[] = [];
  const a = new Probe(clock, "a", log);
  const b = new Probe(clock, "b", log);
  q.add(a, 10_000);
  step = 3_600_000; // wall clock an hour ahead
  q.add(b, 20_000);
  base.advance(9_999);
  assert.deepEqual(log, [], "a forward step fires nothing early");
  step = -3_600_000; // and an hour behind
  base.advance(1);
  assert.deepEqual(log, ["a"], "a backward step delays nothing");
  base.advance(9_999);
  assert.deepEqual(log, ["a"]);
  base.advance(1);
  assert.deepEqual(log, ["a", "b"], "b at its own monotonic deadline");
});
