/**
 * The handshake bench's split of the generator's CPU (bench/handshake/thread-cpu.ts): ikeload's
 * pool threads start and end inside one measured run, so no sample shows them and their time is
 * what the process spent beyond the threads the samples show.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuWithEndedPool, type ThreadSample } from "../../bench/handshake/thread-cpu.js";

const PID = 100;
const t = (tid: number, cpuSecs: number, sigBlk: string, start = 1): ThreadSample => ({ tid, start, cpuSecs, sigBlk });

test("a pool that started and ended between the samples gets the process's CPU the living threads did not spend", () => {
  const before = [t(PID, 10, "0"), t(101, 1, "200"), t(102, 0.5, "0"), t(103, 0.2, "fffffffe")];
  // Main +2 s, V8 +0.5 s, libuv +0.1 s, the signal thread nothing; the process +3.4 s in all.
  const after = [t(PID, 12, "0"), t(101, 1.5, "200"), t(102, 0.6, "0"), t(103, 0.2, "fffffffe")];
  const c = cpuWithEndedPool(PID, before, after, 3.4);
  assert.equal(c.main, 2);
  assert.equal(c.v8, 0.5);
  assert.ok(Math.abs(c.libuv - 0.1) < 1e-9);
  assert.equal(c.signal, 0);
  assert.equal(c.pool.length, 1);
  assert.ok(Math.abs(c.pool[0]! - 0.8) < 1e-9, String(c.pool[0]));
  assert.ok(Math.abs(c.total - 3.4) < 1e-9);
});

test("ticks the living threads count beyond the process's own figure never make the pool negative", () => {
  const c = cpuWithEndedPool(PID, [t(PID, 1, "0")], [t(PID, 1.02, "0")], 0.01);
  assert.equal(c.pool[0], 0);
  assert.ok(Math.abs(c.main - 0.02) < 1e-9);
});
