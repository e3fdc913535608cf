import { test } from "node:test";
import assert from "node:assert/strict";
import { KernelError } from "../../src/errors.js";
import { AuthAlg, CompAlg, EncAlg } from "../../src/kernel/algorithms.js";
import { ManualClock } from "../helpers/manual-clock.js";
import type { AcquireEvent, ExpireEvent } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { SaRecord, larvalSa } from "../../src/kernel/sa-record.js";
import diagnostics from "node:diagnostics_channel";
import { WatchedKeyStore, espSa } from "./helpers.js";

const code = (c: string) => (err: unknown) => err instanceof KernelError && err.code === c;

function setup(opts: { larvalSeconds?: number; maxSas?: number; idleLifetimes?: boolean } = {}) {
  const clock = new ManualClock();
  const keys = new WatchedKeyStore();
  const kernel = new MemoryKernel({ clock, keys, ...opts });
  const expires: ExpireEvent[] = [];
  const acquires: AcquireEvent[] = [];
  kernel.on("expire", (e) => expires.push(e));
  kernel.on("acquire", (e) => acquires.push(e));
  return { clock, keys, kernel, expires, acquires };
}

test("ADD then GET returns the SA without keys; includeKeys returns copies", async () => {
  const { kernel } = setup();
  const added = await kernel.add(espSa(0x1001, { reqid: 7, kmCookie: 3, label: "to-b", replayWindow: 32 }));
  assert.equal(added.state, "mature");
  assert.equal(added.encKeyBits, 128);
  assert.equal(added.authKeyBits, 160);
  assert.equal(added.keys, undefined);
  const got = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x1001);
  assert.equal(got.reqid, 7);
  assert.equal(got.kmCookie, 3);
  assert.equal(got.label, "to-b");
  assert.equal(got.replayWindow, 32);
  assert.equal(got.keys, undefined);
  const withKeys = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x1001, { includeKeys: true });
  assert.deepEqual(withKeys.keys?.enc, Buffer.alloc(16, 0xa5));
  assert.deepEqual(withKeys.keys?.auth, Buffer.alloc(20, 0x5a));
  await kernel.close();
});

test("the SADB copies keys: wiping the caller's buffer leaves the SA's key intact", async () => {
  const { kernel } = setup();
  const spec = espSa(0x1002);
  await kernel.add(spec);
  spec.encKey!.fill(0);
  const got = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x1002, { includeKeys: true });
  assert.deepEqual(got.keys?.enc, Buffer.alloc(16, 0xa5));
  await kernel.close();
});

test("duplicate ADD is EEXIST; DELETE, GET and UPDATE of unknown SAs are ESRCH", async () => {
  const { kernel } = setup();
  await kernel.add(espSa(0x2000));
  await assert.rejects(kernel.add(espSa(0x2000)), code("IKE_ERR_KERNEL_EEXIST"));
  await assert.rejects(kernel.delete("192.0.2.1", "192.0.2.2", "esp", 0x2001), code("IKE_ERR_KERNEL_ESRCH"));
  await assert.rejects(kernel.get("192.0.2.1", "192.0.2.2", "ah", 0x2000), code("IKE_ERR_KERNEL_ESRCH"));
  await assert.rejects(kernel.update(espSa(0x2002)), code("IKE_ERR_KERNEL_ESRCH"));
  // The SA is named by (dst, proto, spi), but a wrong source does not match either.
  await assert.rejects(kernel.delete("192.0.2.9", "192.0.2.2", "esp", 0x2000), code("IKE_ERR_KERNEL_ESRCH"));
  await kernel.delete("192.0.2.1", "192.0.2.2", "esp", 0x2000);
  await assert.rejects(kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x2000), code("IKE_ERR_KERNEL_ESRCH"));
  await kernel.close();
});

test("requests a kernel would refuse are EINVAL or EPROTONOSUPPORT", async () => {
  const { kernel } = setup();
  const bad: Array<[Parameters<typeof espSa>[1], string, number?]> = [
    [{ encKey: Buffer.alloc(15) }, "IKE_ERR_KERNEL_EINVAL"],
    [{ authKey: Buffer.alloc(16) }, "IKE_ERR_KERNEL_EINVAL"],
    [{ encAlg: 99 }, "IKE_ERR_KERNEL_EPROTONOSUPPORT"],
    [{ authAlg: 99 }, "IKE_ERR_KERNEL_EPROTONOSUPPORT"],
    [{ encAlg: EncAlg.None }, "IKE_ERR_KERNEL_EINVAL"],
    [{ encAlg: EncAlg.Null, encKey: undefined, authAlg: AuthAlg.None, authKey: undefined }, "IKE_ERR_KERNEL_EINVAL"],
    [{ encAlg: EncAlg.AesGcm16, encKey: Buffer.alloc(20) }, "IKE_ERR_KERNEL_EINVAL"],
    [{ dst: "2001:db8::1" }, "IKE_ERR_KERNEL_EINVAL"],
    [{ src: "not-an-address" }, "IKE_ERR_KERNEL_EINVAL"],
    [{ mode: "beet" as "tunnel" }, "IKE_ERR_KERNEL_EINVAL"],
    [{ replayWindow: 256 }, "IKE_ERR_KERNEL_EINVAL"],
    [{ lifetimes: { hard: { addSeconds: 10 }, soft: { addSeconds: 20 } } }, "IKE_ERR_KERNEL_EINVAL"],
    [{ encap: { sport: 0, dport: 4500 } }, "IKE_ERR_KERNEL_EINVAL"],
    [{ selector: { src: "10.0.0.0/33", dst: "10.0.1.0/24", ulp: 0, srcPort: 0, dstPort: 0 } }, "IKE_ERR_KERNEL_EINVAL"],
    [{}, "IKE_ERR_KERNEL_EINVAL", 255],
  ];
  for (const [over, c, spi] of bad) await assert.rejects(kernel.add(espSa(spi ?? 0x3000, over)), code(c), JSON.stringify(over));
  await assert.rejects(kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ah", spi: 0x3001, mode: "transport", encAlg: EncAlg.AesCbc, encKey: Buffer.alloc(16), authAlg: AuthAlg.HmacSha1, authKey: Buffer.alloc(20) }), code("IKE_ERR_KERNEL_EINVAL"));
  await assert.rejects(kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ipcomp", spi: 0x10000, mode: "transport", compAlg: CompAlg.Deflate }), code("IKE_ERR_KERNEL_EINVAL"));
  assert.equal(kernel.size, 0);
  await kernel.close();
});

test("AH, IPCOMP, IPv6, NAT-T and tunnel SAs are accepted and reported back", async () => {
  const { kernel } = setup();
  await kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ah", spi: 0x4000, mode: "transport", authAlg: AuthAlg.HmacSha256, authKey: Buffer.alloc(32, 1) });
  await kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ipcomp", spi: 0x4001, mode: "tunnel", compAlg: CompAlg.Deflate });
  const v6 = await kernel.add(espSa(0x4002, { src: "2001:DB8:0:0::1", dst: "2001:db8::0:2" }));
  assert.equal(v6.src, "2001:db8::1");
  assert.equal(v6.dst, "2001:db8::2");
  await kernel.get("2001:db8:0::1", "2001:0db8::2", "esp", 0x4002);
  const natt = await kernel.add(
    espSa(0x4003, {
      mode: "tunnel",
      encap: { sport: 4500, dport: 4501, originalSrc: "10.0.0.5" },
      selector: { src: "10.1.0.7/16", dst: "10.2.0.0/16", ulp: 6, srcPort: 0, dstPort: 22 },
    }),
  );
  assert.deepEqual(natt.encap, { sport: 4500, dport: 4501, originalSrc: "10.0.0.5" });
  assert.deepEqual(natt.selector, { src: "10.1.0.0/16", dst: "10.2.0.0/16", ulp: 6, srcPort: 0, dstPort: 22 });
  assert.equal((await kernel.dump("ah")).length, 1);
  assert.equal((await kernel.dump()).length, 4);
  await kernel.close();
});

test("GETSPI makes a larval SA in range, UPDATE makes it mature and answers the ACQUIRE", async () => {
  const { kernel, acquires } = setup();
  await kernel.register("esp");
  const seq = kernel.acquire({ src: { address: "192.0.2.1", port: 0 }, dst: { address: "192.0.2.2", port: 0 } });
  assert.equal(acquires.length, 1);
  const larval = await kernel.getSpi("192.0.2.2", "192.0.2.1", "esp", { min: 0x5000, max: 0x50ff }, { seq: seq!, reqid: 9 });
  assert.equal(larval.state, "larval");
  assert.ok(larval.spi >= 0x5000 && larval.spi <= 0x50ff);
  assert.equal(larval.seq, seq);
  const mature = await kernel.update(espSa(larval.spi, { src: "192.0.2.2", dst: "192.0.2.1", seq: seq!, reqid: 9, lifetimes: { hard: { addSeconds: 60 } } }));
  assert.equal(mature.state, "mature");
  assert.equal(mature.hard.addSeconds, 60);
  assert.equal((await kernel.dump(undefined, { reqid: 9 })).length, 1);
  // Once answered, the same flow raises a fresh ACQUIRE.
  const again = kernel.acquire({ src: { address: "192.0.2.1", port: 0 }, dst: { address: "192.0.2.2", port: 0 } });
  assert.notEqual(again, seq);
  assert.equal(acquires.length, 2);
  await kernel.close();
});

test("UPDATE of a mature SA changes lifetimes only", async () => {
  const { kernel } = setup();
  await kernel.add(espSa(0x5100));
  await assert.rejects(kernel.update(espSa(0x5100)), code("IKE_ERR_KERNEL_EINVAL"));
  const up = await kernel.update(espSa(0x5100, { encKey: undefined, authKey: undefined, lifetimes: { hard: { bytes: 1000 } } }));
  assert.equal(up.hard.bytes, 1000);
  const keys = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x5100, { includeKeys: true });
  assert.deepEqual(keys.keys?.enc, Buffer.alloc(16, 0xa5));
  await kernel.close();
});

test("GETSPI never hands out 0..255 and fails with ENOBUFS when the range is used up", async () => {
  const { kernel } = setup();
  const spis = new Set<number>();
  for (let i = 0; i < 16; i++) spis.add((await kernel.getSpi("192.0.2.1", "192.0.2.2", "esp", { min: 0, max: 271 })).spi);
  assert.equal(spis.size, 16);
  for (const spi of spis) assert.ok(spi >= 256 && spi <= 271);
  await assert.rejects(kernel.getSpi("192.0.2.1", "192.0.2.2", "esp", { min: 0, max: 271 }), code("IKE_ERR_KERNEL_ENOBUFS"));
  // Uniqueness is per destination: another peer may get the same SPI.
  await kernel.getSpi("192.0.2.1", "192.0.2.3", "esp", { min: 256, max: 256 });
  await assert.rejects(kernel.getSpi("192.0.2.1", "192.0.2.2", "esp", { min: 10, max: 200 }), code("IKE_ERR_KERNEL_EINVAL"));
  await kernel.close();
});

test("SPIs stay unique over many allocations", async () => {
  const { kernel } = setup();
  const seen = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const { spi } = await kernel.getSpi("192.0.2.1", "192.0.2.2", "esp", { min: 256, max: 256 + 30000 });
    assert.ok(!seen.has(spi), `duplicate SPI ${spi}`);
    seen.add(spi);
  }
  const cpi = await kernel.getSpi("192.0.2.1", "192.0.2.2", "ipcomp");
  assert.ok(cpi.spi >= 256 && cpi.spi <= 0xffff);
  await kernel.close();
});

test("a larval SA that is never updated expires hard, like xfrm_acq_expires", async () => {
  const { kernel, clock, expires } = setup({ larvalSeconds: 30 });
  const larval = await kernel.getSpi("192.0.2.1", "192.0.2.2", "esp");
  clock.advance(29_999);
  assert.equal(expires.length, 0);
  clock.advance(1);
  assert.equal(expires.length, 1);
  assert.equal(expires[0]!.kind, "hard");
  assert.equal(expires[0]!.reason, "larval");
  assert.equal(expires[0]!.sa.spi, larval.spi);
  assert.equal(expires[0]!.sa.state, "dead");
  assert.equal(kernel.size, 0);
  await kernel.close();
});

test("time lifetimes: soft fires once (SA dying), then hard deletes and wipes the keys", async () => {
  const { kernel, clock, keys, expires } = setup();
  await kernel.add(espSa(0x6000, { lifetimes: { soft: { addSeconds: 90 }, hard: { addSeconds: 100 } } }));
  const held = keys.handed.slice();
  assert.equal(held.length, 1, "one secure slot holds both keys");
  assert.equal(held[0]!.length, 16 + 20);
  clock.advance(89_000);
  assert.equal(expires.length, 0);
  clock.advance(1_000);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason, e.sa.state]), [["soft", "addtime", "dying"]]);
  assert.equal(expires[0]!.sa.keys, undefined);
  assert.equal((await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x6000)).state, "dying");
  assert.ok(held.every((b) => b.some((x) => x !== 0)));
  clock.advance(10_000);
  assert.deepEqual(expires.map((e) => [e.kind, e.sa.state]), [["soft", "dying"], ["hard", "dead"]]);
  assert.ok(held.every((b) => b.every((x) => x === 0)), "keys zeroed after hard expiry");
  await assert.rejects(kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x6000), code("IKE_ERR_KERNEL_ESRCH"));
  await kernel.close();
});

test("use-time lifetimes count from first traffic", async () => {
  const { kernel, clock, expires } = setup();
  await kernel.add(espSa(0x6100, { lifetimes: { hard: { useSeconds: 10 } } }));
  clock.advance(60_000);
  assert.equal(expires.length, 0);
  assert.equal(kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6100, { bytes: 100 }), true);
  clock.advance(10_000);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["hard", "usetime"]]);
  await kernel.close();
});

test("idle lifetimes count from the last use", async () => {
  const { kernel, clock, expires } = setup();
  await kernel.add(espSa(0x6300, { lifetimes: { soft: { idleSeconds: 10 }, hard: { idleSeconds: 20 } } }));
  clock.advance(8_000);
  kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6300, { bytes: 1 });
  clock.advance(8_000);
  kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6300, { bytes: 1 });
  clock.advance(9_999);
  assert.equal(expires.length, 0);
  clock.advance(1);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["soft", "idle"]]);
  clock.advance(10_000);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["soft", "idle"], ["hard", "idle"]]);
  assert.equal(expires[1]!.sa.counters.lastUseTime, expires[1]!.sa.counters.useTime! + 8_000);
  await kernel.close();
});

test("idleLifetimes false: like Linux, the idle lifetime is kept but expires nothing (the engine enforces it)", async () => {
  const { kernel, clock, expires } = setup({ idleLifetimes: false });
  assert.equal(kernel.enforcesIdle, false);
  const keeping = setup().kernel;
  assert.equal(keeping.enforcesIdle, true, "the default keeps it");
  await keeping.close();
  await kernel.add(espSa(0x6400, { lifetimes: { soft: { idleSeconds: 10 }, hard: { idleSeconds: 20, addSeconds: 100 } } }));
  assert.equal((await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x6400)).hard.idleSeconds, 20);
  clock.advance(99_999);
  assert.equal(expires.length, 0, "never used for 100 s: no idle expiry");
  clock.advance(1);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["hard", "addtime"]], "the other lifetimes still hold");
  await kernel.close();
});

test("byte lifetimes: accounting crosses soft then hard; counters are reported", async () => {
  const { kernel, clock, keys, expires } = setup();
  await kernel.add(espSa(0x6200, { lifetimes: { soft: { bytes: 900 }, hard: { bytes: 1000 } } }));
  clock.advance(5);
  assert.equal(kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6200, { bytes: 500, packets: 5 }), true);
  const mid = await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x6200);
  assert.equal(mid.counters.bytes, 500);
  assert.equal(mid.counters.packets, 5);
  assert.equal(mid.counters.useTime, clock.now());
  kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6200, { bytes: 450 });
  kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6200, { bytes: 10 });
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["soft", "bytes"]]);
  assert.equal(kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x6200, { bytes: 40 }), false);
  assert.deepEqual(expires.map((e) => [e.kind, e.reason]), [["soft", "bytes"], ["hard", "bytes"]]);
  assert.equal(expires[1]!.sa.counters.bytes, 1000);
  assert.ok(keys.handed.every((b) => b.every((x) => x === 0)));
  await kernel.close();
});

test("DELETE and FLUSH zero the key buffers the SADB held", async () => {
  const { kernel, keys } = setup();
  await kernel.add(espSa(0x7000));
  await kernel.add(espSa(0x7001));
  await kernel.add({ src: "192.0.2.1", dst: "192.0.2.2", proto: "ah", spi: 0x7002, mode: "transport", authAlg: AuthAlg.HmacSha512, authKey: Buffer.alloc(64, 0xee) });
  assert.equal(keys.handed.length, 3, "one slot per SA");
  const first = keys.handed.slice(0, 1);
  await kernel.delete("192.0.2.1", "192.0.2.2", "esp", 0x7000);
  assert.ok(first.every((b) => b.every((x) => x === 0)));
  assert.ok(keys.handed.slice(1).every((b) => b.some((x) => x !== 0)));
  assert.equal(await kernel.flush("ah"), 1);
  assert.equal(kernel.size, 1);
  assert.equal(await kernel.flush(), 1);
  assert.ok(keys.handed.every((b) => b.every((x) => x === 0)));
  assert.equal(keys.store.live, 0);
  await kernel.close();
});

test("maxSas bounds the SADB: GETSPI and ADD past it are ENOBUFS, a DELETE makes room, nothing leaks", async () => {
  const { kernel, keys } = setup({ maxSas: 2 });
  await kernel.add(espSa(0x7100));
  const larval = await kernel.getSpi("192.0.2.2", "192.0.2.1", "esp");
  await assert.rejects(kernel.add(espSa(0x7101)), code("IKE_ERR_KERNEL_ENOBUFS"));
  await assert.rejects(kernel.getSpi("192.0.2.2", "192.0.2.1", "esp"), code("IKE_ERR_KERNEL_ENOBUFS"));
  assert.equal(kernel.size, 2);
  assert.equal(keys.store.live, 1, "the refused ADD left no key behind (one slot per SA with keys)");
  // UPDATE of the larval SA needs no new slot, so a full SADB still accepts it.
  const mature = await kernel.update(espSa(larval.spi, { src: "192.0.2.2", dst: "192.0.2.1" }));
  assert.equal(mature.state, "mature");
  await kernel.delete("192.0.2.1", "192.0.2.2", "esp", 0x7100);
  assert.equal((await kernel.add(espSa(0x7101))).state, "mature");
  assert.equal(keys.store.live, 2);
  await kernel.close();
  assert.equal(keys.store.live, 0);
});

test("DUMP never returns key bytes unless asked", async () => {
  const { kernel } = setup();
  await kernel.add(espSa(0x7100));
  await kernel.add(espSa(0x7101, { proto: "esp", reqid: 4 }));
  const plain = await kernel.dump();
  assert.equal(plain.length, 2);
  for (const sa of plain) assert.equal(sa.keys, undefined);
  assert.ok(!JSON.stringify(plain).includes("a5a5"));
  const keyed = await kernel.dump("esp", { includeKeys: true, reqid: 4 });
  assert.equal(keyed.length, 1);
  assert.deepEqual(keyed[0]!.keys?.auth, Buffer.alloc(20, 0x5a));
  await kernel.close();
});

test("REGISTER lists algorithms; ACQUIRE reaches only registered protocols and is not repeated", async () => {
  const { kernel, acquires, clock } = setup();
  const unregistered = kernel.acquire({ src: { address: "192.0.2.1", port: 1000 }, dst: { address: "192.0.2.2", port: 22 }, ulp: 6 });
  assert.equal(unregistered, null);
  const esp = await kernel.register("esp");
  assert.ok(esp.encrypt.some((a) => a.id === EncAlg.AesCbc && a.minBits === 128 && a.maxBits === 256));
  assert.ok(esp.auth.some((a) => a.id === AuthAlg.HmacSha256));
  const ah = await kernel.register("ah");
  assert.equal(ah.encrypt.length, 0);
  const policy = { index: 3, combinations: [{ proto: "esp" as const, encAlg: EncAlg.AesCbc, encMinBits: 128, encMaxBits: 256, authAlg: AuthAlg.HmacSha1, authMinBits: 160, authMaxBits: 160 }] };
  const req = { src: { address: "192.0.2.1", port: 1000 }, dst: { address: "192.0.2.2", port: 22 }, ulp: 6, mode: "tunnel" as const, policy };
  const seq = kernel.acquire(req);
  assert.equal(kernel.acquire(req), seq);
  assert.equal(acquires.length, 1);
  assert.deepEqual(acquires[0], {
    type: "acquire",
    seq,
    src: { address: "192.0.2.1", port: 1000 },
    dst: { address: "192.0.2.2", port: 22 },
    ulp: 6,
    proto: "esp",
    mode: "tunnel",
    policy: { index: 3, selector: null, combinations: policy.combinations },
  });
  assert.throws(() => kernel.acquire({ ...req, ulp: 256 }), code("IKE_ERR_KERNEL_EINVAL"));
  assert.throws(() => kernel.acquire({ ...req, dst: { address: "192.0.2.2", port: 70000 } }), code("IKE_ERR_KERNEL_EINVAL"));
  clock.advance(30_000);
  assert.notEqual(kernel.acquire(req), seq);
  assert.equal(acquires.length, 2);
  await kernel.close();
});

test("a closed kernel refuses requests and holds no keys", async () => {
  const { kernel, keys } = setup();
  await kernel.add(espSa(0x8000, { lifetimes: { hard: { addSeconds: 5 } } }));
  await kernel.close();
  assert.ok(keys.handed.every((b) => b.every((x) => x === 0)));
  await assert.rejects(kernel.dump(), code("IKE_ERR_KERNEL_ESHUTDOWN"));
});

test("only one clock timer is armed however many SAs have deadlines", async () => {
  const { kernel, clock, expires } = setup();
  for (let i = 0; i < 50; i++) await kernel.add(espSa(0x9000 + i, { lifetimes: { hard: { addSeconds: 100 - i } } }));
  assert.equal(clock.timerCount, 1);
  clock.advance(60_000);
  assert.equal(expires.length, 10);
  assert.deepEqual(expires.map((e) => e.sa.spi).slice(0, 3), [0x9000 + 49, 0x9000 + 48, 0x9000 + 47]);
  assert.equal(clock.timerCount, 1);
  await kernel.close();
  assert.equal(clock.timerCount, 0);
});

test("ACQUIRE and EXPIRE are also published on diagnostics channels", async () => {
  const { kernel, clock } = setup();
  const seen: string[] = [];
  const onAcquire = (m: unknown) => seen.push(`acquire ${(m as AcquireEvent).seq}`);
  const onExpire = (m: unknown) => seen.push(`expire ${(m as ExpireEvent).kind} ${(m as ExpireEvent).sa.keys === undefined}`);
  diagnostics.subscribe("iked:kernel:acquire", onAcquire);
  diagnostics.subscribe("iked:kernel:expire", onExpire);
  try {
    await kernel.register("esp");
    kernel.acquire({ src: { address: "192.0.2.1", port: 0 }, dst: { address: "192.0.2.2", port: 0 } });
    await kernel.add(espSa(0xa000, { lifetimes: { hard: { addSeconds: 1 } } }));
    clock.advance(1000);
    assert.deepEqual(seen, ["acquire 1", "expire hard true"]);
  } finally {
    diagnostics.unsubscribe("iked:kernel:acquire", onAcquire);
    diagnostics.unsubscribe("iked:kernel:expire", onExpire);
    await kernel.close();
  }
});

test("an SA that carried nothing keeps no counters object; its reported counters are as before, and its first use makes them", () => {
  const rec = new SaRecord(larvalSa("192.0.2.1", "192.0.2.2", "esp", 0x7100, {}), "larval", 1_000);
  assert.equal(Object.hasOwn(rec, "counters"), false, "no counters object of its own");
  assert.equal(rec.use, undefined);
  assert.deepEqual(rec.info(false).counters, { bytes: 0, packets: 0, allocations: 0, addTime: 1_000, useTime: null, lastUseTime: null });
  assert.equal(rec.account(100, 2, 1, 2_000), true, "first use");
  assert.equal(rec.account(50, 1, 0, 3_000), false);
  assert.deepEqual(rec.counters, { bytes: 150, packets: 3, allocations: 1, addTime: 1_000, useTime: 2_000, lastUseTime: 3_000 });
  const a = rec.info(false).counters;
  a.bytes = 0;
  assert.equal(rec.counters.bytes, 150, "a caller's copy, not the record's");
});

test("the in-memory SADB reports an unused SA's counters as before, and counts its traffic from the first use", async () => {
  const clock = new ManualClock();
  const kernel = new MemoryKernel({ clock, keys: new WatchedKeyStore() });
  clock.advance(5_000);
  await kernel.add(espSa(0x7200));
  const before = (await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x7200)).counters;
  assert.deepEqual({ ...before, addTime: 0 }, { bytes: 0, packets: 0, allocations: 0, addTime: 0, useTime: null, lastUseTime: null });
  clock.advance(1_000);
  assert.equal(kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x7200, { bytes: 10 }), true);
  clock.advance(1_000);
  assert.equal(kernel.account("192.0.2.1", "192.0.2.2", "esp", 0x7200, { bytes: 5, packets: 2 }), true);
  const after = (await kernel.get("192.0.2.1", "192.0.2.2", "esp", 0x7200)).counters;
  assert.equal(after.bytes, 15);
  assert.equal(after.packets, 3);
  assert.equal(after.addTime, before.addTime);
  assert.equal(after.lastUseTime! - after.useTime!, 1_000);
  await kernel.close();
});
