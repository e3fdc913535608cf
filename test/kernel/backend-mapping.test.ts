/**
 * The backends' translations without a kernel: every algorithm the daemon negotiates has a kernel
 * name (XFRM) or number (PF_KEY) and reads back as itself; SAs and policies survive the trip through
 * each backend's messages; SPD replacement puts before it removes and never touches others'
 * policies; outstanding requests time out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { authAlgorithms, espCiphers } from "../../src/crypto/algorithms.js";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import type { SaSpec } from "../../src/kernel/kernel.js";
import { PendingRequests } from "../../src/kernel/pending.js";
import { replacePolicies, SPD_PRIORITY_BASE, type SpdEntry, type SpdOps, type SpdPolicy } from "../../src/kernel/spd.js";
import { resolveSa } from "../../src/kernel/validate.js";
import { authIdOf, encIdOf, xfrmAuth, xfrmEnc } from "../../src/kernel/xfrm/algorithms.js";
import { saInfoFromUsersa, usersaFromSpec } from "../../src/kernel/xfrm/xfrm-sa.js";
import { spdEntryFromXfrm, userpolicyFromSpd } from "../../src/kernel/xfrm/xfrm-spd.js";
import { decodePfkey, encodePfkey } from "../../src/kernel/pfkey/message.js";
import { saExtensions, saInfoFromPfkey } from "../../src/kernel/pfkey/pfkey-sa.js";
import { policyExtensions, spdEntryFromPfkey } from "../../src/kernel/pfkey/pfkey-spd.js";
import { espSa } from "./helpers.js";
import { loadNative, type NativeAddon } from "../../native/index.js";
import type { KernelError } from "../../src/errors.js";
import { openKernel } from "../../src/kernel/open.js";

/** ESP transform id → PF_KEY encryption number, and Phase 2 auth attribute → PF_KEY auth number. */
const ESP_TO_SADB: Record<number, number> = { 2: EncAlg.DesCbc, 3: EncAlg.TripleDesCbc, 7: EncAlg.BlowfishCbc, 11: EncAlg.Null, 12: EncAlg.AesCbc };
const AUTH_TO_SADB: Record<number, number> = { 1: AuthAlg.HmacMd5, 2: AuthAlg.HmacSha1, 5: AuthAlg.HmacSha256, 6: AuthAlg.HmacSha384, 7: AuthAlg.HmacSha512 };

test("every negotiated ESP cipher and MAC has an XFRM name with the RFC ICV length, and reads back", () => {
  for (const c of espCiphers) {
    const id = ESP_TO_SADB[c.id];
    assert.ok(id !== undefined, `ESP transform ${c.name} has a PF_KEY number`);
    const x = xfrmEnc(id)!;
    assert.ok(x !== undefined, c.name);
    assert.equal(encIdOf(x.name), id);
  }
  for (const a of authAlgorithms) {
    const id = AUTH_TO_SADB[a.id]!;
    const x = xfrmAuth(id)!;
    assert.equal(x.truncBits, a.icvBytes * 8, `${a.name} ICV`);
    assert.equal(authIdOf(x.name), id);
  }
  assert.deepEqual([xfrmEnc(EncAlg.AesCbc)!.name, xfrmEnc(EncAlg.TripleDesCbc)!.name, xfrmEnc(EncAlg.Null)!.name, xfrmAuth(AuthAlg.HmacSha256)!.name], ["cbc(aes)", "cbc(des3_ede)", "ecb(cipher_null)", "hmac(sha256)"]);
});

const specs: Array<[string, SaSpec]> = [
  ["ESP AES-256 + SHA-512 tunnel, NAT-T, lifetimes", espSa(0x1001, { encKey: Buffer.alloc(32, 1), authAlg: AuthAlg.HmacSha512, authKey: Buffer.alloc(64, 2), mode: "tunnel", reqid: 7, replayWindow: 32, encap: { sport: 4500, dport: 4500 }, lifetimes: { hard: { addSeconds: 3600, bytes: 1 << 30, allocations: 9 }, soft: { addSeconds: 3240, bytes: 1 << 29, useSeconds: 60 } }, selector: { src: "198.51.100.0/24", dst: "203.0.113.0/24", ulp: 0, srcPort: 0, dstPort: 0 } })],
  ["ESP 3DES + MD5 IPv6", espSa(0x1002, { src: "2001:db8::1", dst: "2001:db8::2", encAlg: EncAlg.TripleDesCbc, encKey: Buffer.alloc(24, 3), authAlg: AuthAlg.HmacMd5, authKey: Buffer.alloc(16, 4) })],
  ["ESP NULL + SHA-1", espSa(0x1003, { encAlg: EncAlg.Null, encKey: undefined })],
  ["ESP Blowfish-448 without MAC", espSa(0x1004, { encAlg: EncAlg.BlowfishCbc, encKey: Buffer.alloc(56, 5), authAlg: 0, authKey: undefined })],
  ["AH SHA-256", { src: "192.0.2.1", dst: "192.0.2.2", proto: "ah", spi: 0x1005, mode: "transport", authAlg: AuthAlg.HmacSha256, authKey: Buffer.alloc(32, 6) }],
];

test("SAs survive the XFRM messages: algorithms, key sizes and keys, lifetimes, NAT-T, selector", () => {
  for (const [name, spec] of specs) {
    const sa = resolveSa(spec);
    const { info, attrs } = usersaFromSpec(sa, spec.encKey, spec.authKey);
    const back = saInfoFromUsersa(info, attrs, undefined, true);
    assert.ok(back.ok, name);
    const v = back.value;
    assert.deepEqual([v.src, v.dst, v.proto, v.spi, v.mode, v.state, v.reqid, v.replayWindow], [sa.src, sa.dst, sa.proto, sa.spi, sa.mode, "mature", sa.reqid, sa.replayWindow], name);
    assert.deepEqual([v.encAlg, v.authAlg, v.encKeyBits, v.authKeyBits], [sa.encAlg, sa.authAlg, (spec.encKey?.length ?? 0) * 8, (spec.authKey?.length ?? 0) * 8], name);
    assert.deepEqual([v.hard, v.soft], [sa.hard, sa.soft], name);
    assert.deepEqual(v.encap, sa.encap, name);
    assert.deepEqual(v.selector, sa.selector, name);
    assert.deepEqual(v.keys?.enc ?? null, spec.encKey ?? (sa.proto === "esp" ? Buffer.alloc(0) : null), name);
    assert.deepEqual(v.keys?.auth ?? null, spec.authKey ?? null, name);
  }
});

test("SAs survive the PF_KEY messages (no selector: Linux PF_KEY has none; idle lifetimes neither)", () => {
  for (const [name, spec] of specs) {
    const sa = resolveSa(spec);
    const msg = decodePfkey(encodePfkey({ type: 5, satype: { esp: 3, ah: 2, ipcomp: 9 }[sa.proto], errno: 0, seq: 1, pid: 1, ext: saExtensions(sa, spec.encKey, spec.authKey) }));
    assert.ok(msg.ok, name);
    const back = saInfoFromPfkey(msg.value, undefined, true);
    assert.ok(back.ok, name);
    const v = back.value;
    assert.deepEqual([v.src, v.dst, v.proto, v.spi, v.mode, v.reqid, v.encAlg, v.authAlg], [sa.src, sa.dst, sa.proto, sa.spi, sa.mode, sa.reqid, sa.encAlg, sa.authAlg], name);
    assert.deepEqual([v.hard, v.soft, v.encap], [sa.hard, sa.soft, sa.encap], name);
    assert.deepEqual(v.keys?.auth ?? null, spec.authKey ?? null, name);
  }
});

const policy = (id: number, dst: string, over: Partial<SpdPolicy> = {}): SpdPolicy => ({
  id,
  dir: "out",
  selector: { src: "192.0.2.1/32", dst, ulp: 0, srcPort: 0, dstPort: 0 },
  action: "ipsec",
  rank: id,
  templates: [{ proto: "esp", mode: "tunnel", src: "192.0.2.1", dst: "192.0.2.2", reqid: 5 }, { proto: "ah", mode: "transport", optional: true }],
  ...over,
});

test("policies survive the XFRM and PF_KEY messages", () => {
  const p = policy(3, "203.0.113.0/24");
  const x = userpolicyFromSpd(p, SPD_PRIORITY_BASE + 3);
  const xe = spdEntryFromXfrm(x.info, x.attrs, () => 3);
  assert.ok(xe.ok);
  assert.deepEqual({ ...xe.value, index: 0 }, { ...p, templates: [{ ...p.templates[0]!, optional: false }, { ...p.templates[1]!, reqid: 0 }], index: 0, priority: SPD_PRIORITY_BASE + 3, owned: true });
  const m = decodePfkey(encodePfkey({ type: 13, satype: 0, errno: 0, seq: 1, pid: 1, ext: policyExtensions(p, SPD_PRIORITY_BASE + 3) }));
  assert.ok(m.ok);
  const pe = spdEntryFromPfkey(m.value.ext, () => 3);
  assert.ok(pe.ok);
  assert.deepEqual(pe.value.templates, xe.value.templates);
  assert.deepEqual(pe.value.selector, p.selector);
});

test("SPD replacement: puts every new policy before it removes an old one, skips others' selectors", async () => {
  const log: string[] = [];
  const foreign: SpdEntry = { ...policy(9, "198.51.100.9/32"), id: 0, index: 900, priority: 100, owned: false };
  const stale: SpdEntry = { ...policy(1, "198.51.100.1/32"), index: 100, priority: SPD_PRIORITY_BASE + 1, owned: true };
  const kept: SpdEntry = { ...policy(2, "198.51.100.2/32"), index: 200, priority: SPD_PRIORITY_BASE + 2, owned: true };
  const ops: SpdOps = {
    dump: async () => [foreign, stale, kept],
    identity: (p) => `${p.dir} ${p.selector.src} ${p.selector.dst}`,
    put: async (p) => void log.push(`put ${p.id}`),
    remove: async (e) => void log.push(`remove ${e.index}`),
  };
  const r = await replacePolicies(ops, [policy(2, "198.51.100.2/32"), policy(4, "198.51.100.4/32"), policy(5, "198.51.100.9/32")]);
  assert.deepEqual(log, ["put 2", "put 4", "remove 100"]);
  assert.deepEqual([r.installed, r.removed, r.conflicts.map((c) => [c.policy.id, c.existing.index])], [2, 1, [[5, 900]]]);
  await assert.rejects(replacePolicies(ops, [policy(2, "198.51.100.2/32"), policy(3, "198.51.100.2/32")]), { code: "IKE_ERR_KERNEL_EINVAL" });
  await assert.rejects(replacePolicies(ops, [policy(2, "198.51.100.2/32", { templates: [] })]), { code: "IKE_ERR_KERNEL_EINVAL" });
  await assert.rejects(replacePolicies(ops, [policy(2, "198.51.100.2/32", { action: "bypass" })]), { code: "IKE_ERR_KERNEL_EINVAL" });
});

test("a request the kernel never answers fails with ETIMEDOUT; closing fails the rest", async () => {
  const p = new PendingRequests<number, never>(5);
  assert.equal(p.nextSeq(), 5);
  const late = p.add(5, "GETSA", 20);
  await assert.rejects(late, { code: "IKE_ERR_KERNEL_ETIMEDOUT" });
  assert.equal(p.size, 0);
  const a = p.add(p.nextSeq(), "DUMP", 10_000);
  p.rejectAll(Object.assign(new Error("closed"), { code: "IKE_ERR_KERNEL_ESHUTDOWN" }) as never);
  await assert.rejects(a, { code: "IKE_ERR_KERNEL_ESHUTDOWN" });
  assert.equal(p.size, 0);
});

test("openKernel: auto opens XFRM where it can, and names both interfaces when neither opens", async () => {
  const absent = Object.assign(new Error("socket: Address family not supported by protocol"), { code: "IKE_ERR_NATIVE_SOCKET", errno: 97, syscall: "socket" });
  const native = { ...loadNative(), openKernelSocket: () => { throw absent; } } as NativeAddon;
  await assert.rejects(openKernel("auto", { native }), (e: KernelError) => {
    assert.equal(e.code, "IKE_ERR_KERNEL_EAFNOSUPPORT");
    assert.match(e.message, /XFRM netlink: .*Address family not supported.*; PF_KEY: .*Address family not supported/);
    return true;
  });
  await assert.rejects(openKernel("pfkey", { native }), { code: "IKE_ERR_KERNEL_EAFNOSUPPORT" });
  await assert.rejects(openKernel("xfrm", { native }), { code: "IKE_ERR_KERNEL_EAFNOSUPPORT" });
});
