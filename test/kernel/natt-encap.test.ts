/**
 * What NAT-T SAs look like on the kernel wire (RFC 3948 UDP encapsulation): XFRM's XFRMA_ENCAP
 * (`struct xfrm_encap_tmpl`: type, sport, dport, the original address) and PF_KEY's NAT-T
 * extensions (SADB_X_EXT_NAT_T_TYPE / _SPORT / _DPORT), byte for byte, as the engine's UDP-encapsulated
 * Quick Mode asks for them (src/ike/phase2/nat-oa.ts kernelEncap); and the UPDATE that moves a mature
 * SA to new ports after a NAT rebinding (Kernel.updateEncap): in the in-memory SADB, and the
 * XFRM_MSG_UPDSA / SADB_UPDATE the real backends build, which repeat the SA with its keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelEncap } from "../../src/ike/phase2/nat-oa.js";
import { resolveSa } from "../../src/kernel/validate.js";
import { usersaFromSpec } from "../../src/kernel/xfrm/xfrm-sa.js";
import { encodeXfrm } from "../../src/kernel/xfrm/message.js";
import { XfrmMsg } from "../../src/kernel/xfrm/constants.js";
import { encodePfkey } from "../../src/kernel/pfkey/message.js";
import { saExtensions } from "../../src/kernel/pfkey/pfkey-sa.js";
import { encapUpdateSpec, updateEncapVia } from "../../src/kernel/backend-common.js";
import { errnoError } from "../../src/kernel/errors.js";
import { KernelClient } from "../../src/kernel/client.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { serveKernelRequest } from "../../src/kernel/messages.js";
import type { EncapUpdate, SaInfo } from "../../src/kernel/kernel.js";
import { espSa } from "./helpers.js";

/** Netlink attributes after the xfrm_usersa_info body: [type, payload]. */
function attributes(msg: Buffer, bodyLen: number): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = 16 + bodyLen;
  while (off + 4 <= msg.length) {
    const len = msg.readUInt16LE(off);
    out.push([msg.readUInt16LE(off + 2), msg.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

/** PF_KEY extensions after the sadb_msg header: [type, whole extension]. */
function extensions(msg: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = 16;
  while (off + 4 <= msg.length) {
    const len = msg.readUInt16LE(off) * 8;
    out.push([msg.readUInt16LE(off + 2), msg.subarray(off, off + len)]);
    off += len;
  }
  return out;
}

// The gateway's inbound SA from a peer behind a NAT: the NAT's port 40000 to our 4500, the peer's
// address before the NAT from NAT-OA.
const encap = kernelEncap({ local: 4500, remote: 40000, peerOriginal: "192.168.1.2" }, "in");

test("the engine's encapsulation of an inbound SA: the peer's port as source, ours as destination", () => {
  assert.deepEqual(encap, { sport: 40000, dport: 4500, originalSrc: "192.168.1.2" });
  assert.deepEqual(kernelEncap({ local: 4500, remote: 40000 }, "out"), { sport: 4500, dport: 40000 });
});

test("XFRM: XFRMA_ENCAP carries UDP_ENCAP_ESPINUDP, the ports in network order and the original address", () => {
  const spec = espSa(0x2001, { src: "203.0.113.1", dst: "10.0.0.2", encap });
  const sa = resolveSa(spec);
  const { info, attrs } = usersaFromSpec(sa, spec.encKey, spec.authKey);
  const msg = encodeXfrm({ type: XfrmMsg.NEWSA, flags: 0, seq: 1, pid: 0, body: { kind: "usersa", info }, attrs });
  const XFRMA_ENCAP = 4;
  const found = attributes(msg, 224).find(([t]) => t === XFRMA_ENCAP);
  assert.ok(found !== undefined, "XFRMA_ENCAP present");
  const b = found[1];
  assert.equal(b.length, 24, "sizeof(struct xfrm_encap_tmpl)");
  assert.equal(b.readUInt16LE(0), 2, "encap_type UDP_ENCAP_ESPINUDP");
  assert.equal(b.readUInt16BE(2), 40000, "encap_sport");
  assert.equal(b.readUInt16BE(4), 4500, "encap_dport");
  assert.deepEqual([...b.subarray(8, 12)], [192, 168, 1, 2], "encap_oa");
});

test("PF_KEY: SADB_X_EXT_NAT_T_TYPE, _SPORT and _DPORT", () => {
  const spec = espSa(0x2002, { src: "203.0.113.1", dst: "10.0.0.2", encap });
  const sa = resolveSa(spec);
  const msg = encodePfkey({ type: 3, satype: 3, errno: 0, seq: 1, pid: 1, ext: saExtensions(sa, spec.encKey, spec.authKey) });
  const ext = new Map(extensions(msg));
  const type = ext.get(20);
  const sport = ext.get(21);
  const dport = ext.get(22);
  assert.ok(type && sport && dport, "the three NAT-T extensions");
  assert.deepEqual([type.length, type[4]], [8, 2], "sadb_x_nat_t_type: UDP_ENCAP_ESPINUDP");
  assert.deepEqual([sport.length, sport.readUInt16BE(4)], [8, 40000]);
  assert.deepEqual([dport.length, dport.readUInt16BE(4)], [8, 4500]);
});

/** A mature SA with `encap` in the in-memory SADB, and the kernel. */
async function installed(e: typeof encap | null = encap): Promise<{ k: MemoryKernel; spec: ReturnType<typeof espSa> }> {
  const k = new MemoryKernel();
  const spec = espSa(0x2003, { src: "203.0.113.1", dst: "10.0.0.2", mode: "tunnel", reqid: 0x3ced, replayWindow: 32, lifetimes: { hard: { addSeconds: 3600 }, soft: { addSeconds: 3240 } }, ...(e !== null ? { encap: e } : {}) });
  await k.add(spec);
  return { k, spec };
}

/** The SA an updateEncap updated (it fails the test when the answer is `gone`). */
function updatedSa(r: EncapUpdate): SaInfo {
  assert.equal(r.kind, "updated");
  return (r as { sa: SaInfo }).sa;
}

test("in-memory SADB: updateEncap replaces the ports, keeps NAT-OA, keys and lifetimes; refuses an SA without encapsulation", async () => {
  const { k, spec } = await installed();
  const r = updatedSa(await k.updateEncap(spec.src, spec.dst, "esp", spec.spi, { sport: 40001, dport: 4500 }));
  assert.deepEqual(r.encap, { sport: 40001, dport: 4500, originalSrc: "192.168.1.2" });
  const got = await k.get(spec.src, spec.dst, "esp", spec.spi, { includeKeys: true });
  assert.deepEqual(got.encap, r.encap);
  assert.deepEqual(got.keys?.enc, spec.encKey);
  assert.equal(got.hard.addSeconds, 3600);
  await assert.rejects(k.updateEncap(spec.src, spec.dst, "esp", spec.spi, { sport: 0, dport: 4500 }), { code: "IKE_ERR_KERNEL_EINVAL" });
  // An SA the kernel does not hold (expired, deleted) is gone, not refused; so is one from another source.
  assert.deepEqual(await k.updateEncap(spec.src, spec.dst, "esp", 0x9999, { sport: 40001, dport: 4500 }), { kind: "gone" });
  assert.deepEqual(await k.updateEncap("198.51.100.7", spec.dst, "esp", spec.spi, { sport: 40001, dport: 4500 }), { kind: "gone" });
  await k.delete(spec.src, spec.dst, "esp", spec.spi);
  assert.deepEqual(await k.updateEncap(spec.src, spec.dst, "esp", spec.spi, { sport: 40001, dport: 4500 }), { kind: "gone" });
  const plain = await installed(null);
  await assert.rejects(plain.k.updateEncap(plain.spec.src, plain.spec.dst, "esp", plain.spec.spi, { sport: 40001, dport: 4500 }), { code: "IKE_ERR_KERNEL_EINVAL" });
  await k.close();
  await plain.k.close();
});

test("updateEncap crosses a kernel message channel", async () => {
  const { k, spec } = await installed();
  const client = new KernelClient((req) => serveKernelRequest(k, req));
  const r = updatedSa(await client.updateEncap(spec.src, spec.dst, "esp", spec.spi, { sport: 40002, dport: 4500 }));
  assert.deepEqual([r.encap?.sport, r.encap?.dport], [40002, 4500]);
  assert.deepEqual(await client.updateEncap(spec.src, spec.dst, "esp", 0x9999, { sport: 40002, dport: 4500 }), { kind: "gone" });
  await k.close();
});

test("XFRM: the UPDSA of a rebinding repeats the SA (keys, lifetimes, reqid) with the new XFRMA_ENCAP ports", async () => {
  const { k, spec } = await installed();
  const current = await k.get(spec.src, spec.dst, "esp", spec.spi, { includeKeys: true });
  const up = encapUpdateSpec(current, { sport: 40001, dport: 4500 });
  const sa = resolveSa(up);
  const { info, attrs } = usersaFromSpec(sa, up.encKey, up.authKey);
  const msg = encodeXfrm({ type: XfrmMsg.UPDSA, flags: 0, seq: 1, pid: 0, body: { kind: "usersa", info }, attrs });
  assert.equal(msg.readUInt16LE(4), XfrmMsg.UPDSA);
  const found = new Map(attributes(msg, 224));
  const e = found.get(4)!;
  assert.deepEqual([e.readUInt16LE(0), e.readUInt16BE(2), e.readUInt16BE(4)], [2, 40001, 4500], "XFRMA_ENCAP: ESPINUDP, new ports");
  assert.deepEqual([...e.subarray(8, 12)], [192, 168, 1, 2], "the original address kept");
  const XFRMA_ALG_CRYPT = 2;
  const XFRMA_ALG_AUTH_TRUNC = 20;
  assert.ok(found.get(XFRMA_ALG_CRYPT)!.subarray(68).equals(spec.encKey!), "the cipher key repeated (xfrm_state_construct needs it)");
  assert.ok(found.get(XFRMA_ALG_AUTH_TRUNC)!.subarray(72).equals(spec.authKey!), "the MAC key repeated");
  assert.deepEqual([info.id.spi, info.reqid, info.mode, info.seq], [spec.spi, 0x3ced, 1, 0], "same SA, tunnel mode, no ACQUIRE answered");
  assert.equal(info.lft.hardAddExpiresSeconds, 3600n);
  await k.close();
});

test("PF_KEY: the SADB_UPDATE of a rebinding repeats the SA with new SADB_X_EXT_NAT_T_SPORT/DPORT", async () => {
  const { k, spec } = await installed();
  const current = await k.get(spec.src, spec.dst, "esp", spec.spi, { includeKeys: true });
  const up = encapUpdateSpec(current, { sport: 40001, dport: 4500 });
  const msg = encodePfkey({ type: 2, satype: 3, errno: 0, seq: 0, pid: 1, ext: saExtensions(resolveSa(up), up.encKey, up.authKey) });
  assert.equal(msg[1], 2, "SADB_UPDATE");
  const ext = new Map(extensions(msg));
  assert.deepEqual([ext.get(20)![4], ext.get(21)!.readUInt16BE(4), ext.get(22)!.readUInt16BE(4)], [2, 40001, 4500]);
  assert.ok(ext.get(9)!.subarray(8).equals(spec.encKey!), "SADB_EXT_KEY_ENCRYPT repeated");
  assert.ok(ext.get(8)!.subarray(8, 28).equals(spec.authKey!), "SADB_EXT_KEY_AUTH repeated");
  assert.equal(ext.get(1)!.readUInt32BE(4), spec.spi, "sadb_sa_spi");
  await k.close();
});

test("a rebinding's UPDATE is refused for an SA without encapsulation or not mature", async () => {
  const { k, spec } = await installed(null);
  const current = await k.get(spec.src, spec.dst, "esp", spec.spi);
  assert.throws(() => encapUpdateSpec(current, { sport: 40001, dport: 4500 }), { code: "IKE_ERR_KERNEL_EINVAL" });
  assert.throws(() => encapUpdateSpec({ ...current, state: "larval", encap: { sport: 1, dport: 2 } }, { sport: 40001, dport: 4500 }), { code: "IKE_ERR_KERNEL_EINVAL" });
  await k.close();
});

test("XFRM and PF_KEY (updateEncapVia): an SA gone before GET, found dead, or gone before the UPDATE answers `gone`; other errors stay refusals", async () => {
  const { k, spec } = await installed();
  const current = await k.get(spec.src, spec.dst, "esp", spec.spi, { includeKeys: true });
  const ports = { sport: 40001, dport: 4500 };
  const sent = async (): Promise<void> => {};
  // GETSA/SADB_GET: ESRCH, or ENOENT as Linux also answers (errnoError maps both).
  assert.deepEqual(await updateEncapVia(async () => Promise.reject(errnoError(3, "GETSA")), ports, sent), { kind: "gone" });
  assert.deepEqual(await updateEncapVia(async () => Promise.reject(errnoError(2, "GETSA")), ports, sent), { kind: "gone" });
  assert.deepEqual(await updateEncapVia(async () => ({ ...current, state: "dead" }), ports, sent), { kind: "gone" });
  // Expired between GET and UPDATE: the UPDATE's ESRCH/ENOENT.
  assert.deepEqual(await updateEncapVia(async () => ({ ...current }), ports, async () => Promise.reject(errnoError(2, "UPDSA"))), { kind: "gone" });
  await assert.rejects(updateEncapVia(async () => ({ ...current }), ports, async () => Promise.reject(errnoError(22, "UPDSA"))), { code: "IKE_ERR_KERNEL_EINVAL" });
  await assert.rejects(updateEncapVia(async () => ({ ...current, state: "larval" }), ports, sent), { code: "IKE_ERR_KERNEL_EINVAL" });
  const r = updatedSa(await updateEncapVia(async () => ({ ...current }), ports, sent));
  assert.deepEqual([r.encap?.sport, r.encap?.dport], [40001, 4500]);
  await k.close();
});
