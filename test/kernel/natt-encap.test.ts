/**
 * What NAT-T SAs look like on the kernel wire (RFC 3948 UDP encapsulation): XFRM's XFRMA_ENCAP
 * (`struct xfrm_encap_tmpl`: type, sport, dport, the original address) and PF_KEY's NAT-T
 * extensions (SADB_X_EXT_NAT_T_TYPE / _SPORT / _DPORT), byte for byte, as the engine's UDP-encapsulated
 * Quick Mode asks for them (src/ike/phase2/nat-oa.ts kernelEncap).
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
