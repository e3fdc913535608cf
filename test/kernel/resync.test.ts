/**
 * The resync after lost kernel events (src/kernel/resync.ts) against the in-memory SADB: pairs the
 * kernel no longer has go the DELETE way, SAs past their soft lifetime the soft EXPIRE way, pairs
 * recorded while the dump ran are left alone, one resync runs at a time and lost events during it
 * coalesce into one more; a failed dump is tried again with a bounded backoff on the clock; the
 * metrics count lost events and resyncs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DeleteEvent, ExpireEvent, SaInfo } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { KernelResync, RESYNC_RETRY_MAX_MS, RESYNC_RETRY_MIN_MS, softLimitReached, type HeldPair, type ResyncReport } from "../../src/kernel/resync.js";
import { KernelCounters, instrumentKernel } from "../../src/metrics/kernel-counters.js";
import { espSa } from "./helpers.js";
import { ManualClock } from "../helpers/manual-clock.js";

const A = "192.0.2.1";
const B = "192.0.2.2";

/** Installs the pair (outbound `out` A→B, inbound `inb` B→A) with `soft` add seconds; returns it as held. */
async function pair(k: MemoryKernel, out: number, inb: number, softAdd = 0): Promise<HeldPair> {
  const lifetimes = { hard: { addSeconds: 3600 }, soft: { addSeconds: softAdd } };
  await k.add({ ...espSa(out, { src: A, dst: B }), lifetimes });
  await k.add({ ...espSa(inb, { src: B, dst: A }), lifetimes });
  return { proto: "esp", outbound: { src: A, dst: B, spi: out }, inbound: { src: B, dst: A, spi: inb } };
}

/** A resync over `k` whose DELETE path forgets the pair from `table`, and whose soft EXPIRE path rekeys each pair once. */
function harness(k: Pick<MemoryKernel, "dump">, table: HeldPair[], now?: () => number) {
  const removed: DeleteEvent[] = [];
  const soft: ExpireEvent[] = [];
  const started = new Set<number>();
  const reports: ResyncReport[] = [];
  // Retries of failed dumps wait on it: nothing fires unless a test advances it.
  const clock = new ManualClock();
  const resync = new KernelResync({
    clock,
    kernel: k,
    held: () => table,
    removed: (ev) => {
      removed.push(ev);
      const i = table.findIndex((p) => [p.inbound, p.outbound].some((h) => h.spi === ev.spi && h.dst === ev.dst));
      if (i < 0) return 0;
      table.splice(i, 1);
      return 1;
    },
    softExpired: (ev) => {
      soft.push(ev);
      const p = table.find((x) => x.outbound.spi === ev.sa.spi);
      if (p === undefined || started.has(ev.sa.spi)) return false;
      started.add(ev.sa.spi);
      return true;
    },
    ...(now !== undefined ? { now } : {}),
    done: (r) => reports.push(r),
  });
  return { resync, removed, soft, reports, clock };
}

test("pairs of which the kernel lost a half are handed to the DELETE path once; the others stay", async () => {
  const k = new MemoryKernel();
  try {
    const table = [await pair(k, 0x1001, 0x2001), await pair(k, 0x1002, 0x2002), await pair(k, 0x1003, 0x2003)];
    // Lost events: the kernel removed pair 2's inbound SA and both of pair 3's, and no DELETE came.
    await k.delete(B, A, "esp", 0x2002);
    await k.delete(A, B, "esp", 0x1003);
    await k.delete(B, A, "esp", 0x2003);
    const h = harness(k, table);
    h.resync.request("overrun");
    await h.resync.idle();
    assert.deepEqual(h.removed, [
      { type: "delete", src: B, dst: A, proto: "esp", spi: 0x2002 },
      { type: "delete", src: A, dst: B, proto: "esp", spi: 0x1003 },
    ], "one DeleteEvent per pair, naming a missing half");
    assert.deepEqual(table.map((p) => p.outbound.spi), [0x1001], "the table matches the kernel");
    assert.deepEqual(h.reports, [{ causes: ["overrun"], kernelSas: 3, held: 3, missing: 2, removed: 2, softExpired: 0, rekeyed: 0 }]);
  } finally {
    await k.close();
  }
});

test("a pair whose removal is still under way is not handed to the DELETE path again by any later resync", async () => {
  const k = new MemoryKernel();
  try {
    const table = [await pair(k, 0x1001, 0x2001)];
    await k.delete(A, B, "esp", 0x1001);
    const removed: DeleteEvent[] = [];
    // The DELETE path forgets the pair only once the kernel has answered: not yet.
    const resync = new KernelResync({ kernel: k, held: () => table, removed: (ev) => (removed.push(ev), 1), softExpired: () => false });
    // However many resyncs come while the removal waits for the kernel (an overrun storm).
    for (let i = 0; i < 4; i++) {
      resync.request("overrun");
      await resync.idle();
    }
    assert.equal(removed.length, 1);
    resync.close();
    resync.request("overrun");
    await resync.idle();
    assert.equal(removed.length, 1, "closed: no more resyncs");
  } finally {
    await k.close();
  }
});

test("a pair recorded while the dump runs is not taken for one the kernel lost", async () => {
  const k = new MemoryKernel();
  try {
    const table: HeldPair[] = [];
    const late: HeldPair = { proto: "esp", outbound: { src: A, dst: B, spi: 0x3001 }, inbound: { src: B, dst: A, spi: 0x3002 } };
    const dumping = { dump: async () => {
      const sas = await k.dump();
      table.push(late); // recorded after the kernel answered, before the resync looks
      return sas;
    } };
    const h = harness(dumping, table);
    h.resync.request("overrun");
    await h.resync.idle();
    assert.deepEqual(h.removed, []);
    assert.equal(table.length, 1);
  } finally {
    await k.close();
  }
});

test("an SA past its soft lifetime by the kernel's counters gets the soft EXPIRE path; a second resync rekeys nothing more", async () => {
  const k = new MemoryKernel();
  try {
    const table = [await pair(k, 0x1001, 0x2001, 600), await pair(k, 0x1002, 0x2002, 0)];
    // The kernel's clock is real time; the resync's "now" is 11 minutes later: pair 1's soft
    // lifetime (10 minutes) has passed, and its soft EXPIRE was lost.
    const h = harness(k, table, () => Date.now() + 11 * 60_000);
    h.resync.request("overrun");
    await h.resync.idle();
    assert.deepEqual(h.soft.map((e) => [e.kind, e.reason, e.sa.spi, e.sa.state]).sort(), [["soft", "addtime", 0x1001, "dying"], ["soft", "addtime", 0x2001, "dying"]]);
    assert.equal(h.reports[0]!.rekeyed, 1, "the pair is renegotiated once");
    h.resync.request("error");
    await h.resync.idle();
    assert.equal(h.reports[1]!.rekeyed, 0, "not again");
    assert.deepEqual(h.removed, []);
  } finally {
    await k.close();
  }
});

test("soft limits: bytes, packets (Linux's allocations), use time, add time; none reached", () => {
  const sa = (soft: Partial<SaInfo["soft"]>, counters: Partial<SaInfo["counters"]>): SaInfo =>
    ({
      soft: { allocations: 0, bytes: 0, addSeconds: 0, useSeconds: 0, idleSeconds: 0, ...soft },
      counters: { bytes: 0, packets: 0, allocations: 0, addTime: 1_000_000, useTime: null, lastUseTime: null, ...counters },
    }) as SaInfo;
  assert.equal(softLimitReached(sa({ bytes: 100 }, { bytes: 100 }), 0), "bytes");
  assert.equal(softLimitReached(sa({ allocations: 10 }, { packets: 10 }), 0), "allocations");
  assert.equal(softLimitReached(sa({ useSeconds: 5 }, { useTime: 2_000_000 }), 2_005_000), "usetime");
  assert.equal(softLimitReached(sa({ addSeconds: 5 }, {}), 1_005_000), "addtime");
  assert.equal(softLimitReached(sa({ addSeconds: 5, bytes: 100, useSeconds: 1 }, { bytes: 99 }), 1_004_999), null);
});

test("one resync at a time: lost events during one coalesce into one more", async () => {
  const k = new MemoryKernel();
  try {
    let dumps = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = { dump: async () => {
      dumps++;
      if (dumps === 1) await gate;
      return k.dump();
    } };
    const h = harness(slow, []);
    h.resync.request("overrun");
    h.resync.request("overrun");
    h.resync.request("error");
    h.resync.request("overrun");
    assert.equal(dumps, 1, "the first resync is under way, the others wait");
    release();
    await h.resync.idle();
    assert.equal(dumps, 2);
    assert.deepEqual(h.reports.map((r) => r.causes), [["overrun"], ["overrun", "error"]]);
  } finally {
    await k.close();
  }
});

test("a dump that fails is reported and reconciles nothing; the metrics count lost events and resyncs", async () => {
  const k = new MemoryKernel();
  const counters = new KernelCounters("memory");
  const detach = instrumentKernel(k, counters);
  try {
    const table = [await pair(k, 0x1001, 0x2001)];
    const h = harness(k, table);
    k.emit("lost", { type: "lost", cause: "overrun", detail: "IKE_ERR_NATIVE_OVERRUN" });
    await k.delete(A, B, "esp", 0x1001);
    h.resync.request("overrun");
    await h.resync.idle();
    const dump = k.dump.bind(k);
    k.dump = async () => {
      throw new Error("ENOBUFS");
    };
    h.resync.request("error");
    await h.resync.idle();
    k.dump = dump;
    assert.equal(h.reports[1]!.error, "ENOBUFS");
    assert.deepEqual(counters.toJSON().lost, { overrun: 1 });
    assert.deepEqual(counters.toJSON().resyncs, { done: 1, failed: 1, removed: 1, rekeyed: 0 });
  } finally {
    detach();
    await k.close();
  }
});

test("a failed dump is tried again after 1 s, the wait doubling to 60 s and back to 1 s after a success; a lost event meanwhile takes the retry's place; close disarms it", async () => {
  const k = new MemoryKernel();
  try {
    const table = [await pair(k, 0x1001, 0x2001)];
    await k.delete(B, A, "esp", 0x2001);
    let failing = true;
    let dumps = 0;
    const flaky = { dump: async () => {
      dumps++;
      if (failing) throw new Error("ENOBUFS");
      return k.dump();
    } };
    const h = harness(flaky, table);
    h.resync.request("overrun");
    await h.resync.idle();
    const waits = [RESYNC_RETRY_MIN_MS];
    while (waits.at(-1)! < RESYNC_RETRY_MAX_MS) waits.push(Math.min(waits.at(-1)! * 2, RESYNC_RETRY_MAX_MS));
    waits.push(RESYNC_RETRY_MAX_MS);
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    for (const [i, wait] of waits.entries()) {
      assert.equal(h.reports.length, i + 1);
      assert.equal(h.reports[i]!.error, "ENOBUFS");
      assert.equal(h.reports[i]!.retryMs, wait, `failure ${i + 1} waits ${wait} ms`);
      assert.equal(h.clock.timerCount, 1, "one retry armed");
      h.clock.advance(wait - 1);
      await h.resync.idle();
      assert.equal(dumps, i + 1, "not before its time");
      if (i === waits.length - 1) failing = false;
      h.clock.advance(1);
      await h.resync.idle();
      assert.equal(dumps, i + 2, "tried again");
    }
    const ok = h.reports.at(-1)!;
    assert.deepEqual(ok, { causes: ["overrun"], kernelSas: 1, held: 1, missing: 1, removed: 1, softExpired: 0, rekeyed: 0 }, "the retry repaired what the lost events broke");
    assert.equal(h.clock.timerCount, 0, "no retry after a success");

    // After a success the wait starts again at 1 s; a lost event while the retry waits runs a
    // resync at once, covering the retry's causes, and the retry is disarmed (never two dumps at once).
    failing = true;
    h.resync.request("error");
    await h.resync.idle();
    assert.equal(h.reports.at(-1)!.retryMs, RESYNC_RETRY_MIN_MS);
    failing = false;
    const before = dumps;
    h.resync.request("overrun");
    await h.resync.idle();
    assert.equal(dumps, before + 1);
    assert.deepEqual(h.reports.at(-1)!.causes, ["error", "overrun"]);
    assert.equal(h.clock.timerCount, 0, "the waiting retry was disarmed");
    h.clock.advance(RESYNC_RETRY_MAX_MS);
    await h.resync.idle();
    assert.equal(dumps, before + 1, "and does not run later");

    failing = true;
    h.resync.request("error");
    await h.resync.idle();
    assert.equal(h.clock.timerCount, 1);
    h.resync.close();
    assert.equal(h.clock.timerCount, 0, "closed: the retry is disarmed");
  } finally {
    await k.close();
  }
});

test("a dump that fails while more lost events wait is not retried on a timer: the queued resync runs at once and covers its causes", async () => {
  const k = new MemoryKernel();
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let dumps = 0;
    const flaky = { dump: async () => {
      dumps++;
      if (dumps === 1) {
        await gate;
        throw new Error("ENOBUFS");
      }
      return k.dump();
    } };
    const h = harness(flaky, []);
    h.resync.request("overrun");
    h.resync.request("error");
    release();
    await h.resync.idle();
    assert.equal(dumps, 2);
    assert.equal(h.reports[0]!.error, "ENOBUFS");
    assert.equal(h.reports[0]!.retryMs, undefined);
    assert.deepEqual(h.reports[1]!.causes, ["error", "overrun"]);
    assert.equal(h.reports[1]!.error, undefined);
    assert.equal(h.clock.timerCount, 0);
  } finally {
    await k.close();
  }
});
