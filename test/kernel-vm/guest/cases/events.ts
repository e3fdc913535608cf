/**
 * The kernel talking back, through each backend: the ACQUIRE of a first ping answered with
 * GETSPI + UPDATE/ADD so the traffic flows; soft then hard EXPIRE by time and by bytes; DUMP and GET
 * reading back what was installed (keys only when asked); DELETE and FLUSH by someone else noticed;
 * the SPD installed, replaced, left stale by a "crash" and removed; REGISTER (PF_KEY) and the
 * negative ACQUIRE (PF_KEY).
 */
import assert from "node:assert/strict";
import { AuthAlg, EncAlg } from "../../../../src/kernel/algorithms.js";
import type { AcquireEvent, DeleteEvent, ExpireEvent, FlushEvent } from "../../../../src/kernel/kernel.js";
import type { KernelKind } from "../../../../src/kernel/open.js";
import { PfkeyKernel } from "../../../../src/kernel/pfkey/pfkey-kernel.js";
import { until } from "../../../helpers/netns.js";
import { network, openGuestKernel, packets, pairPolicies, pairSas, ping, protect, withKernels } from "../world.js";
import type { GuestCase } from "./index.js";

let nextSpi = 0x3000;
const spis = (): [number, number] => [nextSpi++, nextSpi++];
const esp = { proto: "esp" as const, mode: "transport" as const, family: 4 as const, encAlg: EncAlg.AesCbc, encBits: 128, authAlg: AuthAlg.HmacSha1 };

function acquireCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: the first ping's ACQUIRE, answered with GETSPI and UPDATE/ADD, brings the traffic through`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        const acquires: AcquireEvent[] = [];
        l.on("acquire", (e) => acquires.push(e));
        await l.installPolicies(pairPolicies(left, right, esp, 11));
        await r.installPolicies(pairPolicies(right, left, esp, 12));
        assert.equal(await ping(left, right.v4, { wait: 1 }), false, "no SA yet");
        const a = await until("the ACQUIRE", () => acquires[0]);
        assert.deepEqual([a.proto, a.mode, a.dst.address, a.src.address, a.policy.index], ["esp", "transport", right.v4, left.v4, 11]);
        assert.deepEqual(a.endpoints, { src: left.v4, dst: right.v4 });
        // The responder's part, done by the test: the inbound SPI is ours, the outbound the peer's.
        const inbound = await l.getSpi(right.v4, left.v4, "esp", { min: 0x4000, max: 0x4fff }, { seq: a.seq });
        assert.equal(inbound.state, "larval");
        const [out, back] = pairSas(left, right, { ...esp, spis: [0x5000 + (nextSpi++ & 0xfff), inbound.spi] });
        await r.add(out!);
        await r.add(back!);
        await l.update(back!);
        await l.add({ ...out!, seq: a.seq });
        assert.ok(await ping(left, right.v4), "the ping after the SAs went in");
        assert.ok((await packets(l, out!)) >= 1 && (await packets(l, back!)) >= 1);
        const sas = await l.dump("esp");
        assert.deepEqual(sas.map((s) => s.state).sort(), ["mature", "mature"], "no larval state left behind");
      }),
  };
}

function expireCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: soft then hard EXPIRE by seconds and by bytes`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        const events: ExpireEvent[] = [];
        l.on("expire", (e) => events.push(e));
        const [timed] = pairSas(left, right, { ...esp, spis: spis(), lifetimes: { soft: { addSeconds: 2 }, hard: { addSeconds: 4 } } });
        await l.add(timed!);
        const soft = await until("the soft EXPIRE", () => events.find((e) => e.sa.spi === timed!.spi && e.kind === "soft"), 60_000);
        assert.deepEqual([soft.reason, soft.sa.state], ["addtime", "dying"]);
        assert.equal((await l.get(timed!.src, timed!.dst, "esp", timed!.spi)).state, "dying");
        const hard = await until("the hard EXPIRE", () => events.find((e) => e.sa.spi === timed!.spi && e.kind === "hard"), 60_000);
        assert.deepEqual([hard.reason, hard.sa.state], ["addtime", "dead"]);
        await assert.rejects(l.get(timed!.src, timed!.dst, "esp", timed!.spi), { code: "IKE_ERR_KERNEL_ESRCH" });
        const sas = await protect(l, r, left, right, { ...esp, spis: spis(), lifetimes: { soft: { bytes: 2500 }, hard: { bytes: 6000 } } });
        for (let i = 0; i < 10 && !events.some((e) => e.sa.spi === sas[0].spi && e.kind === "hard"); i++) await ping(left, right.v4, { size: 1000, wait: 1 });
        const byBytes = events.filter((e) => e.sa.spi === sas[0].spi).map((e) => [e.kind, e.reason]);
        assert.deepEqual(byBytes, [["soft", "bytes"], ["hard", "bytes"]]);
      }),
  };
}

function readBackCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: DUMP and GET read back what was installed, keys only when asked`,
    run: () =>
      withKernels(kind, async (l, _r, left, right) => {
        const [a, b] = pairSas(left, right, { proto: "esp", mode: "tunnel", family: 6, encAlg: EncAlg.TripleDesCbc, encBits: 192, authAlg: AuthAlg.HmacSha384, spis: spis(), lifetimes: { hard: { addSeconds: 3600, bytes: 1 << 30 }, soft: { addSeconds: 3000, bytes: 1 << 29 } } });
        await l.add({ ...a!, reqid: 9, label: "rule-7", kmCookie: 7 });
        await l.add(b!);
        await assert.rejects(l.add(b!), { code: "IKE_ERR_KERNEL_EEXIST" });
        const plain = await l.dump();
        assert.equal(plain.length, 2, "the refused duplicate left nothing");
        assert.ok(plain.every((s) => s.keys === undefined));
        const withKeys = await l.dump("esp", { includeKeys: true });
        const got = withKeys.find((s) => s.spi === a!.spi)!;
        assert.deepEqual(
          [got.src, got.dst, got.mode, got.reqid, got.encAlg, got.encKeyBits, got.authAlg, got.authKeyBits, got.state, got.label, got.kmCookie],
          [left.v6, right.v6, "tunnel", 9, EncAlg.TripleDesCbc, 192, AuthAlg.HmacSha384, 384, "mature", "rule-7", 7],
        );
        assert.deepEqual([got.hard.addSeconds, got.hard.bytes, got.soft.addSeconds, got.soft.bytes], [3600, 1 << 30, 3000, 1 << 29]);
        assert.deepEqual(got.keys, { enc: a!.encKey, auth: a!.authKey });
        const one = await l.get(a!.src, a!.dst, "esp", a!.spi, { includeKeys: true });
        assert.deepEqual(one.keys, got.keys);
        assert.equal((await l.dump("esp", { reqid: 9 })).length, 1);
        assert.equal(await l.flush("esp"), 2);
        assert.deepEqual(await l.dump(), []);
      }),
  };
}

function othersCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: DELETE and FLUSH by another program are noticed`,
    run: () =>
      withKernels(kind, async (l, _r, left, right) => {
        const seen: Array<DeleteEvent | FlushEvent> = [];
        l.on("delete", (e) => seen.push(e));
        l.on("flush", (e) => seen.push(e));
        const [a, b] = pairSas(left, right, { ...esp, spis: spis() });
        await l.add(a!);
        await l.add(b!);
        await l.delete(b!.src, b!.dst, "esp", b!.spi); // ours: no event
        await left.ns.ip("xfrm", "state", "delete", "src", a!.src, "dst", a!.dst, "proto", "esp", "spi", String(a!.spi));
        await until("the DELETE", () => seen.length > 0);
        assert.deepEqual(seen[0], { type: "delete", src: a!.src, dst: a!.dst, proto: "esp", spi: a!.spi });
        await l.add(b!);
        await left.ns.ip("xfrm", "state", "flush");
        await until("the FLUSH", () => seen.length > 1);
        assert.equal(seen[1]!.type, "flush");
        assert.equal(seen.length, 2);
      }),
  };
}

function spdCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: policies installed, replaced in place, left stale by a crash, removed; others' kept`,
    run: async () => {
      const [left, right] = await network();
      await left.ns.ip("xfrm", "policy", "add", "src", "10.7.0.0/16", "dst", "10.8.0.0/16", "dir", "out", "priority", "50", "tmpl", "proto", "ah");
      const first = await openGuestKernel(kind, left.ns.path);
      const set1 = [...pairPolicies(left, right, esp, 1), ...pairPolicies(left, right, { proto: "esp", mode: "tunnel", family: 6 }, 2)];
      assert.deepEqual(await first.installPolicies(set1), { installed: 4, removed: 0, conflicts: [] });
      await first.close(); // a crash: nothing removed
      const k = await openGuestKernel(kind, left.ns.path);
      try {
        const before = (await k.dumpPolicies()).filter((e) => e.owned);
        assert.equal(before.length, 4);
        const set2 = pairPolicies(left, right, esp, 1).map((p) => ({ ...p, rank: 5 }));
        assert.deepEqual(await k.installPolicies(set2), { installed: 2, removed: 2, conflicts: [] });
        const after = await k.dumpPolicies();
        assert.deepEqual(after.filter((e) => e.owned).map((e) => [e.id, e.rank]), [[1, 5], [1, 5]]);
        assert.deepEqual(after.filter((e) => e.owned).map((e) => e.index).sort(), before.filter((e) => e.selector.src.includes(".")).map((e) => e.index).sort(), "updated in place");
        assert.equal(await k.removePolicies(), 2);
        assert.deepEqual((await k.dumpPolicies()).map((e) => e.selector.src), ["10.7.0.0/16"]);
      } finally {
        await k.close();
        await left.ns.ip("xfrm", "policy", "flush");
      }
    },
  };
}

const pfkeyOnly: GuestCase[] = [
  {
    name: "pfkey: REGISTER answers the kernel's algorithms; a negative ACQUIRE is accepted",
    run: () =>
      withKernels("pfkey", async (l, _r, left, right) => {
        const k = l as PfkeyKernel;
        const s = await k.register("esp");
        for (const id of [EncAlg.DesCbc, EncAlg.TripleDesCbc, EncAlg.BlowfishCbc, EncAlg.Null, EncAlg.AesCbc, EncAlg.AesCtr]) assert.ok(s.encrypt.some((a) => a.id === id), `encryption ${id}`);
        for (const id of [AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.HmacSha384, AuthAlg.HmacSha512, AuthAlg.AesXcbcMac]) assert.ok(s.auth.some((a) => a.id === id), `auth ${id}`);
        assert.ok(!s.auth.some((a) => a.id === AuthAlg.HmacSha256), "HMAC-SHA-256 left out: Linux af_key truncates it to 96 bits");
        assert.deepEqual(await k.register("esp"), s, "registered once; the answer is kept");
        const acquires: AcquireEvent[] = [];
        k.on("acquire", (e) => acquires.push(e));
        await k.installPolicies(pairPolicies(left, right, esp, 3));
        await ping(left, right.v4, { wait: 1 });
        const a = await until("the ACQUIRE", () => acquires[0]);
        assert.equal(a.policy.index, 3);
        // Linux builds an ACQUIRE's proposals from the template's algorithm masks, which PF_KEY
        // cannot set (af_key marks its templates "all algorithms" without setting the masks): a policy
        // PF_KEY installed gets none. One installed by `ip xfrm` (masks all ones) shows them.
        assert.deepEqual(a.policy.combinations, []);
        await k.rejectAcquire(a.seq);
        await k.removePolicies();
        // Another flow (IPv6): the IPv4 one's larval state is the kernel's until it expires.
        await left.ns.ip("xfrm", "policy", "add", "src", left.v6, "dst", right.v6, "dir", "out", "tmpl", "proto", "esp", "mode", "transport");
        try {
          await ping(left, right.v6, { wait: 1 });
          const b = await until("the second ACQUIRE", () => acquires[1]);
          assert.equal(b.policy.index, 0, "not one of ours");
          assert.ok(b.policy.combinations.some((c) => c.encAlg === EncAlg.AesCbc && c.authAlg === AuthAlg.HmacSha1 && c.encMaxBits === 256), `the proposals list AES-CBC with HMAC-SHA1: ${JSON.stringify(b.policy.combinations.slice(0, 3))}`);
          await k.rejectAcquire(b.seq);
        } finally {
          await left.ns.ip("xfrm", "policy", "flush");
        }
        assert.ok((await k.dump()).every((sa) => sa.spi !== 0));
      }),
  },
];

/** The event and read-back cases of one backend. */
export function eventCases(kind: KernelKind): GuestCase[] {
  return [acquireCase(kind), expireCase(kind), readBackCase(kind), othersCase(kind), spdCase(kind), ...(kind === "pfkey" ? pfkeyOnly : [])];
}
