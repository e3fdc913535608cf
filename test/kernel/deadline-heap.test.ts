/**
 * The in-memory SADB's deadline heap (src/timer-heap.ts, deadlines.ts): one slot per SA at
 * its earliest deadline, moved and removed in place. Checked against plain sorted models, and for
 * what a held pair leaves in it; and the SA record's other shared or merged parts (lifetimes, keys).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import type { ExpireEvent } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { TimerHeap } from "../../src/timer-heap.js";
import { checkLifetimes } from "../../src/kernel/validate.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { WatchedKeyStore, espSa } from "./helpers.js";

/** A small deterministic generator (LCG) so a failure repeats. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

interface Owner {
  id: number;
  dueAt: number;
  heapIndex: number;
}

test("TimerHeap: random set, move and remove keep the same earliest owner as a sorted model, and every index true", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const heap = new TimerHeap<Owner>();
    const owners: Owner[] = Array.from({ length: 60 }, (_, id) => ({ id, dueAt: Infinity, heapIndex: -1 }));
    const model = new Map<number, number>(); // id -> due time
    for (let step = 0; step < 3000; step++) {
      const o = owners[r(owners.length)]!;
      const op = r(10);
      if (op < 6) {
        const at = r(500); // ties on purpose
        heap.set(o, at);
        model.set(o.id, at);
      } else if (op < 8) {
        heap.remove(o);
        model.delete(o.id);
      } else if (heap.size > 0) {
        const top = heap.peek()!;
        const least = Math.min(...model.values());
        assert.equal(top.dueAt, least, `seed ${seed} step ${step}: the root is an earliest owner`);
        heap.remove(top);
        model.delete(top.id);
      }
      assert.equal(heap.size, model.size);
      for (const w of owners) {
        assert.equal(w.heapIndex >= 0, model.has(w.id), `seed ${seed} step ${step}: owner ${w.id} in the heap iff in the model`);
        if (w.heapIndex >= 0) assert.equal(w.dueAt, model.get(w.id));
      }
    }
    // Drained, it yields the model sorted.
    const drained: number[] = [];
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) drained.push(top.dueAt), heap.remove(top);
    assert.deepEqual(drained, [...model.values()].sort((a, b) => a - b));
    assert.ok(owners.every((w) => w.heapIndex === -1));
  }
});

function setup() {
  const clock = new ManualClock();
  const keys = new WatchedKeyStore();
  const kernel = new MemoryKernel({ clock, keys });
  const fired: string[] = [];
  kernel.on("expire", (e: ExpireEvent) => fired.push(`${clock.now()} ${e.sa.spi} ${e.kind}`));
  return { clock, keys, kernel, fired };
}

test("a held pair (GETSPI + UPDATE inbound, ADD outbound) keeps one deadline per SA, however often it is updated", async () => {
  const { kernel, clock } = setup();
  const lifetimes = { soft: { addSeconds: 2700, idleSeconds: 300 }, hard: { addSeconds: 3000, idleSeconds: 600 } };
  const larval = await kernel.getSpi("192.0.2.2", "192.0.2.1", "esp");
  assert.equal(kernel.debugSizes().deadlines, 1, "the larval SA's own deadline");
  await kernel.update(espSa(larval.spi, { src: "192.0.2.2", dst: "192.0.2.1", lifetimes }));
  await kernel.add(espSa(0x5000, { lifetimes }));
  assert.equal(kernel.debugSizes().deadlines, 2, "the larval deadline replaced, not left stale");
  for (let i = 0; i < 100; i++) {
    await kernel.update({ ...espSa(0x5000, { lifetimes }), encKey: undefined, authKey: undefined });
    kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x5000, { bytes: 100 });
    clock.advance(1000);
  }
  assert.deepEqual([kernel.debugSizes().deadlines, kernel.debugSizes().timerArmed], [2, true]);
  await kernel.delete("192.0.2.1", "192.0.2.2", "esp", 0x5000);
  assert.equal(kernel.debugSizes().deadlines, 1);
  await kernel.delete("192.0.2.2", "192.0.2.1", "esp", larval.spi);
  assert.deepEqual([kernel.debugSizes().deadlines, kernel.debugSizes().timerArmed], [0, false], "no SA, no deadline, no timer");
  await kernel.close();
});

test("random ADDs, lifetime UPDATEs and DELETEs: every EXPIRE fires at the time a model of the lifetimes says", async () => {
  for (const seed of [11, 12, 13]) {
    const r = rng(seed);
    const { kernel, clock, fired } = setup();
    // spi -> its soft and hard EXPIRE times (Infinity: none, or the soft one has fired)
    const model = new Map<number, { soft: number; hard: number }>();
    const expected: string[] = [];
    /** Moves the model to `to`: every deadline up to it fires, soft before hard. */
    const modelAdvance = (to: number): void => {
      const due: [number, number, string][] = [];
      for (const [spi, m] of model) {
        if (m.soft <= to && m.soft <= m.hard) due.push([m.soft, spi, "soft"]), (m.soft = Infinity);
        if (m.hard <= to) due.push([m.hard, spi, "hard"]), model.delete(spi);
      }
      for (const [at, spi, kind] of due) expected.push(`${at} ${spi} ${kind}`);
    };
    let spi = 0x10000;
    for (let step = 0; step < 400; step++) {
      const op = r(10);
      const live = [...model.keys()];
      if (op < 5 || live.length === 0) {
        const hard = 1 + r(200);
        const soft = r(3) === 0 ? 0 : 1 + r(hard);
        await kernel.add(espSa(++spi, { lifetimes: { hard: { addSeconds: hard }, soft: { addSeconds: soft } } }));
        // A soft lifetime equal to the hard one still fires first.
        model.set(spi, { soft: soft > 0 ? clock.now() + soft * 1000 : Infinity, hard: clock.now() + hard * 1000 });
      } else if (op < 7) {
        const victim = live[r(live.length)]!;
        await kernel.delete("192.0.2.1", "192.0.2.2", "esp", victim);
        model.delete(victim);
      } else if (op < 8) {
        // A later hard lifetime for a live SA, counted from its add time.
        const victim = live[r(live.length)]!;
        const sa = await kernel.get("192.0.2.1", "192.0.2.2", "esp", victim);
        const m = model.get(victim)!;
        const hardAt = Math.max(m.hard, clock.now() + 1000) + 1000 * r(100);
        const hardSeconds = (hardAt - sa.counters.addTime) / 1000;
        await kernel.update({ ...espSa(victim), encKey: undefined, authKey: undefined, lifetimes: { hard: { addSeconds: hardSeconds }, soft: sa.soft } });
        m.hard = hardAt;
      } else {
        const to = clock.now() + 1000 * r(60);
        clock.advance(to - clock.now());
        modelAdvance(to);
      }
    }
    clock.advance(10_000_000);
    modelAdvance(clock.now());
    const sorted = (a: string[]) => [...a].sort();
    assert.ok(expected.length > 50, `seed ${seed}: the run expired enough SAs to mean something`);
    assert.deepEqual(sorted(fired), sorted(expected), `seed ${seed}`);
    assert.equal(kernel.size, 0);
    assert.equal(kernel.debugSizes().deadlines, 0);
    await kernel.close();
  }
});

test("one key slot per SA: an auth-only (AH) and a cipher-only (AES-GCM) SA give back exactly their key", async () => {
  const { kernel, keys } = setup();
  await kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ah", spi: 0x7002, mode: "transport", authAlg: AuthAlg.HmacSha256, authKey: Buffer.alloc(32, 0xee) });
  await kernel.add(espSa(0x7003, { encAlg: EncAlg.AesGcm16, encKey: Buffer.alloc(20, 0x11), authAlg: AuthAlg.None, authKey: undefined }));
  const ah = await kernel.get("192.0.2.1", "192.0.2.2", "ah", 0x7002, { includeKeys: true });
  assert.deepEqual([ah.encKeyBits, ah.authKeyBits, ah.keys?.enc, ah.keys?.auth], [0, 256, null, Buffer.alloc(32, 0xee)]);
  const gcm = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x7003, { includeKeys: true });
  assert.deepEqual([gcm.encKeyBits, gcm.authKeyBits, gcm.keys?.enc, gcm.keys?.auth], [160, 0, Buffer.alloc(20, 0x11), null]);
  assert.equal(keys.handed.length, 2);
  await kernel.close();
  assert.ok(keys.handed.every((b) => b.every((x) => x === 0)));
});

test("resolved lifetimes are frozen and shared; an UPDATE of one SA's lifetimes leaves another's with the same values alone", async () => {
  const spec = { hard: { addSeconds: 3000 }, soft: { addSeconds: 2700 } };
  const a = checkLifetimes(spec);
  const b = checkLifetimes({ hard: { addSeconds: 3000 }, soft: { addSeconds: 2700 } });
  assert.equal(a.hard, b.hard, "one object for equal values");
  assert.ok(Object.isFrozen(a.hard) && Object.isFrozen(a.soft));
  const { kernel, clock, fired } = setup();
  await kernel.add(espSa(0x8000, { lifetimes: spec }));
  await kernel.add(espSa(0x8001, { lifetimes: spec }));
  const got = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x8000);
  got.hard.addSeconds = 1; // a caller's copy
  await kernel.update({ ...espSa(0x8001), encKey: undefined, authKey: undefined, lifetimes: { hard: { addSeconds: 4000 }, soft: { addSeconds: 3500 } } });
  assert.equal((await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x8000)).hard.addSeconds, 3000);
  assert.equal((await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x8001)).hard.addSeconds, 4000);
  clock.advance(3_000_000);
  assert.deepEqual(fired, [`${clock.now() - 300_000} ${0x8000} soft`, `${clock.now()} ${0x8000} hard`]);
  await kernel.close();
});
