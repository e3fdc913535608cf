/**
 * SA churn on the in-memory SADB: tens of thousands of SA lives (GETSPI → UPDATE → DELETE, ADD →
 * soft/hard expiry, ADD → FLUSH) and of unanswered ACQUIREs must leave every internal table at its
 * baseline and the V8 heap where it was. A gateway churns like this for months.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ManualClock } from "../helpers/manual-clock.js";
import { MemoryKernel, type MemoryKernelSizes } from "../../src/kernel/memory.js";
import { SecureKeyStore } from "../../src/kernel/secure-keys.js";
import { espSa } from "./helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const EMPTY: MemoryKernelSizes = {
  sas: 0,
  reqids: 0,
  reqidSas: 0,
  deadlines: 0,
  timerArmed: false,
  acquiresByFlow: 0,
  acquiresBySeq: 0,
  registered: 0,
};

const lifetimes = { hard: { addSeconds: 3600, idleSeconds: 600 }, soft: { addSeconds: 3000 } };
const SRC = "192.0.2.1";
const DST = "192.0.2.2";

/** One of four SA lives, picked by `i`; leaves the SADB as it found it. */
async function life(kernel: MemoryKernel, clock: ManualClock, i: number): Promise<void> {
  switch (i % 4) {
    case 0: {
      const larval = await kernel.getSpi(SRC, DST, "esp", undefined, { reqid: (i % 64) + 1, seq: 0 });
      await kernel.update(espSa(larval.spi, { reqid: (i % 64) + 1, lifetimes }));
      await kernel.delete(SRC, DST, "esp", larval.spi);
      return;
    }
    case 1:
      await kernel.add(espSa(0x2000 + i, { lifetimes: { hard: { addSeconds: 60 }, soft: { addSeconds: 50 } } }));
      clock.advance(61_000); // soft, then hard expiry
      return;
    case 2:
      await kernel.getSpi(SRC, DST, "esp");
      clock.advance(31_000); // a larval SA never updated dies
      return;
    default:
      await kernel.add(espSa(0x2000 + i, { reqid: 9, lifetimes }));
      assert.equal(await kernel.flush("esp"), 1);
      return;
  }
}

test("50k SA lives return every SADB table to its baseline and keep the heap flat", async (t) => {
  const clock = new ManualClock();
  const keys = new SecureKeyStore();
  const kernel = new MemoryKernel({ clock, keys });
  let expires = 0;
  kernel.on("expire", () => expires++);
  for (let i = 0; i < 2_000; i++) await life(kernel, clock, i); // warm up code and table capacities
  const before = heapUsed();
  for (let i = 0; i < 50_000; i++) await life(kernel, clock, i);
  const grown = heapUsed() - before;
  t.diagnostic(`heap ${(before / 1048576).toFixed(2)} MB -> ${((before + grown) / 1048576).toFixed(2)} MB over 50k SA lives`);
  assert.deepEqual(kernel.debugSizes(), EMPTY);
  assert.equal(clock.timerCount, 0, "no clock timer armed for dead SAs");
  assert.equal(keys.live, 0, "every key slot freed");
  assert.ok(expires >= 50_000 / 4 * 3, `soft+hard and larval expiries fired (${expires})`);
  assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown} bytes over 50k SA lives`);
  await kernel.close();
  keys.destroy();
});

test("churn beside a steady population keeps stale deadlines bounded and drops them with the last SA", async () => {
  const clock = new ManualClock();
  const kernel = new MemoryKernel({ clock });
  for (let s = 0; s < 500; s++) await kernel.add(espSa(0x100000 + s, { lifetimes }));
  for (let i = 0; i < 20_000; i++) {
    await kernel.add(espSa(0x2000 + i, { reqid: 3, lifetimes }));
    await kernel.delete(SRC, DST, "esp", 0x2000 + i);
    // Compaction keeps stale entries below 4 per live SA plus 1,024.
    if (i % 1000 === 0) assert.ok(kernel.debugSizes().deadlines <= 4 * 500 + 1024 + 2);
  }
  const mid = kernel.debugSizes();
  assert.equal(mid.sas, 500);
  assert.equal(mid.reqids, 0);
  assert.equal(await kernel.flush(), 500);
  assert.deepEqual(kernel.debugSizes(), EMPTY);
  assert.equal(clock.timerCount, 0);
  await kernel.close();
});

test("unanswered ACQUIREs leave the table once their time is up, not when it fills", async () => {
  const clock = new ManualClock();
  const kernel = new MemoryKernel({ clock, acquireSeconds: 30 });
  await kernel.register("esp");
  const before = heapUsed();
  for (let i = 0; i < 30_000; i++) {
    const seq = kernel.acquire({ src: { address: SRC, port: 0 }, dst: { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 0 } });
    assert.notEqual(seq, null);
    if (i % 1000 === 999) {
      clock.advance(31_000);
      assert.ok(kernel.debugSizes().acquiresByFlow <= 1000);
    }
  }
  clock.advance(31_000);
  assert.deepEqual(kernel.debugSizes(), { ...EMPTY, registered: 1 });
  const grown = heapUsed() - before;
  assert.ok(grown < 1024 * 1024, `heap grew by ${grown} bytes after 30k expired ACQUIREs`);
  // An answered ACQUIRE goes at once, and the flow may raise a fresh one.
  const seq = kernel.acquire({ src: { address: SRC, port: 0 }, dst: { address: DST, port: 0 } })!;
  await kernel.add(espSa(0x3001, { seq }));
  assert.equal(kernel.debugSizes().acquiresBySeq, 0);
  await kernel.close();
});
