import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../helpers/manual-clock.js";
import {
  DEFAULT_RETRANSMIT,
  ReplyCache,
  Retransmitter,
  SerialQueue,
  backoffMs,
  retransmitPolicy,
} from "../../src/ike/retransmit.js";

test("policy from ike.config seconds, with defaults and sane bounds", () => {
  assert.deepEqual(retransmitPolicy({}), DEFAULT_RETRANSMIT);
  assert.deepEqual(retransmitPolicy({ retry_timer_init: 1, retry_timer_max: 16, retry_limit: 4 }), {
    initMs: 1000,
    maxMs: 16000,
    limit: 4,
  });
  assert.deepEqual(retransmitPolicy({ retry_timer_init: 2, retry_timer_max: 1 }).maxMs, 2000);
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffMs(DEFAULT_RETRANSMIT, n)), [500, 1000, 2000, 4000, 8000, 30000]);
});

test("retransmits with doubling intervals (0.5,1,2,4,8 s by default), then gives up", () => {
  const clock = new ManualClock(0);
  const sends: { at: number; re: boolean }[] = [];
  let gaveUp = -1;
  const r = new Retransmitter(clock, DEFAULT_RETRANSMIT, (re) => sends.push({ at: clock.now(), re }), () => (gaveUp = clock.now()));
  r.start();
  clock.advance(100_000);
  assert.deepEqual(sends.map((s) => s.at), [0, 500, 1500, 3500, 7500, 15500]);
  assert.deepEqual(sends.map((s) => s.re), [false, true, true, true, true, true]);
  assert.equal(r.retransmissions, 5);
  assert.equal(gaveUp, 31500);
  assert.equal(clock.timerCount, 0);
});

test("stop() disarms: no more sends and no give-up", () => {
  const clock = new ManualClock(0);
  let sends = 0;
  let gaveUp = false;
  const r = new Retransmitter(clock, { initMs: 100, maxMs: 100, limit: 3 }, () => sends++, () => (gaveUp = true));
  r.start();
  clock.advance(150);
  r.stop();
  clock.advance(10_000);
  assert.equal(sends, 2);
  assert.equal(gaveUp, false);
  assert.equal(clock.timerCount, 0);
});

test("reply cache answers only a byte-identical request", () => {
  const c = new ReplyCache();
  const req = Buffer.from("request-1");
  const rep = Buffer.from("reply-1");
  assert.equal(c.match(req), undefined);
  c.remember(req, [rep]);
  req.write("X"); // caller's buffer reused: the cache holds a copy
  rep.write("Y");
  assert.deepEqual(c.match(Buffer.from("request-1"))?.map(String), ["reply-1"]);
  assert.equal(c.match(Buffer.from("request-2")), undefined);
  assert.equal(c.isLastRequest(Buffer.from("request-1")), true);
  c.clear();
  assert.equal(c.match(Buffer.from("request-1")), undefined);
});

test("serial queue runs jobs one at a time, in order, bounded, errors reported", async () => {
  const errors: unknown[] = [];
  const q = new SerialQueue(2, (e) => errors.push(e));
  const order: string[] = [];
  let active = 0;
  const job = (name: string, fail = false) => async () => {
    active++;
    assert.equal(active, 1);
    await new Promise((r) => setImmediate(r));
    order.push(name);
    active--;
    if (fail) throw new Error(name);
  };
  assert.equal(q.push(job("a")), true); // starts at once
  assert.equal(q.push(job("b", true)), true);
  assert.equal(q.push(job("c")), true);
  assert.equal(q.push(job("d")), false, "beyond the bound");
  await q.idle();
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(errors.length, 1);
  assert.equal(q.busy, false);
  q.close();
  assert.equal(q.push(job("e")), false);
});

test("serial queue: a failed job goes to its owner's queueFailed (an object shared by the queue, no closure)", async () => {
  const failed: unknown[] = [];
  const owner = { queueFailed: (e: unknown) => failed.push(e) };
  const q = new SerialQueue(2, owner);
  const boom = new Error("boom");
  assert.equal(
    q.push(async () => {
      throw boom;
    }),
    true,
  );
  await q.idle();
  assert.deepEqual(failed, [boom]);
});

test("serial queue: a job pushed to an idle queue starts before push returns; close drops the waiting ones; idle waiters hear the drain; the queue runs again after", async () => {
  const q = new SerialQueue(4);
  const order: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  q.push(async () => {
    order.push("a started");
    await gate;
    order.push("a done");
  });
  assert.deepEqual(order, ["a started"], "ran synchronously inside push");
  q.push(async () => void order.push("b"));
  q.push(async () => void order.push("c"));
  assert.equal(q.length, 2);
  const idle1 = q.idle();
  const idle2 = q.idle();
  q.close();
  assert.equal(q.length, 0, "close drops the waiting jobs");
  assert.equal(q.busy, true, "the running one goes on");
  release();
  await Promise.all([idle1, idle2]);
  assert.deepEqual(order, ["a started", "a done"]);
  assert.equal(q.busy, false);

  const r = new SerialQueue(1);
  const seen: number[] = [];
  for (let round = 0; round < 3; round++) {
    assert.equal(r.push(async () => void seen.push(round)), true);
    assert.equal(r.push(async () => void seen.push(round + 10)), true);
    assert.equal(r.push(async () => void seen.push(-1)), false, "one waiting at most");
    await r.idle();
  }
  assert.deepEqual(seen, [0, 10, 1, 11, 2, 12]);
});

test("a send that stops its own retransmitter (its SA torn down by a fault) arms no further timer", () => {
  const clock = new ManualClock(0);
  let sends = 0;
  const r: Retransmitter = new Retransmitter(clock, DEFAULT_RETRANSMIT, () => {
    sends++;
    if (sends === 2) r.stop();
  }, () => assert.fail("no give-up after a stop"));
  r.start();
  clock.advance(500);
  assert.equal(sends, 2);
  assert.equal(clock.timerCount, 0);
  clock.advance(100_000);
  assert.equal(sends, 2);
});
