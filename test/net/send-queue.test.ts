import { test } from "node:test";
import assert from "node:assert/strict";
import { SendQueue } from "../../src/net/send-queue.js";

test("send queue bounds in-flight and queued datagrams and drains in order", () => {
  const calls: { d: string; done: (e: Error | null) => void }[] = [];
  const q = new SendQueue((d, _p, _a, done) => calls.push({ d: d.toString(), done }), {
    maxInFlight: 2,
    maxQueued: 2,
    maxQueuedBytes: 100,
  });
  for (const s of ["a", "b", "c", "d"]) assert.equal(q.push(Buffer.from(s), 1, "x"), true);
  assert.equal(q.push(Buffer.from("e"), 1, "x"), false);
  assert.equal(q.stats.dropped, 1);
  assert.deepEqual(calls.map((c) => c.d), ["a", "b"]);
  calls[0]!.done(null);
  calls[1]!.done(new Error("EPERM"));
  assert.deepEqual(calls.map((c) => c.d), ["a", "b", "c", "d"]);
  assert.equal(q.stats.sent, 1);
  assert.equal(q.stats.errors, 1);
  assert.equal(q.length, 0);
});

test("send queue bounds queued bytes and refuses after close", () => {
  const q = new SendQueue(() => {}, { maxInFlight: 1, maxQueued: 10, maxQueuedBytes: 8 });
  assert.equal(q.push(Buffer.alloc(100), 1, "x"), true); // in flight, not queued
  assert.equal(q.push(Buffer.alloc(6), 1, "x"), true);
  assert.equal(q.push(Buffer.alloc(6), 1, "x"), false);
  q.close();
  assert.equal(q.push(Buffer.alloc(1), 1, "x"), false);
  assert.equal(q.stats.dropped, 2);
});
