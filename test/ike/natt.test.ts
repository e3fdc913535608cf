import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EncapsulationMode, PayloadType, type Payload } from "../../src/codec/index.js";
import { hashById } from "../../src/crypto/algorithms.js";
import { detectNat, natDHash, natDPayloads, nattVersionOf, nattVid, natDType, natOaType, offeredVids, udpEncapMode } from "../../src/ike/natt.js";

test("NAT-T vendor IDs are the MD5 hashes peers send (strongSwan and Libreswan tables)", () => {
  assert.equal(nattVid("rfc3947").toString("hex"), "4a131c81070358455c5728f20e95452f");
  assert.equal(nattVid("draft-03").toString("hex"), "7d9419a65310ca6f2c179d9215529d56");
  assert.equal(nattVid("draft-02n").toString("hex"), "90cb80913ebb696e086381b5ec427b1f");
  assert.equal(nattVid("draft-02").toString("hex"), "cd60464335df21f87cfdb2fc68b6a448");
  assert.equal(offeredVids().length, 4);
});

test("the most preferred version among a message's vendor IDs is chosen; others are ignored", () => {
  const vid = (data: Buffer): Payload => ({ type: PayloadType.VID, data });
  const other = vid(Buffer.from("afcad71368a1f1c96b8696fc77570100", "hex")); // DPD
  assert.equal(nattVersionOf([other]), undefined);
  assert.equal(nattVersionOf([other, vid(nattVid("draft-02")), vid(nattVid("draft-03"))]), "draft-03");
  assert.equal(nattVersionOf([vid(nattVid("draft-02n")), vid(nattVid("rfc3947"))]), "rfc3947");
  assert.equal(natDType("rfc3947"), 20);
  assert.equal(natDType("draft-02"), 130);
  assert.equal(natOaType("draft-03"), 131);
  assert.equal(udpEncapMode("rfc3947", "tunnel"), EncapsulationMode.UdpEncapsulatedTunnel);
  assert.equal(udpEncapMode("draft-02n", "transport"), 61444);
});

const sha1 = hashById(2)!;
const ci = Buffer.from("0102030405060708", "hex");
const cr = Buffer.from("1112131415161718", "hex");

test("NAT-D is HASH(CKY-I | CKY-R | IP | port) (RFC 3947 section 3.2), IPv4 and IPv6", () => {
  const want = createHash("sha1").update(Buffer.concat([ci, cr, Buffer.from([192, 0, 2, 1]), Buffer.from([0x01, 0xf4])])).digest();
  assert.deepEqual(natDHash(sha1, ci, cr, { address: "192.0.2.1", port: 500 }), want);
  const v6 = Buffer.alloc(16);
  v6.writeUInt16BE(0x2001, 0);
  v6.writeUInt16BE(0x0db8, 2);
  v6.writeUInt16BE(1, 14);
  const want6 = createHash("sha1").update(Buffer.concat([ci, cr, v6, Buffer.from([0x11, 0x94])])).digest();
  assert.deepEqual(natDHash(sha1, ci, cr, { address: "2001:db8::1", port: 4500 }), want6);
});

test("detection: the first NAT-D names the receiver, the others the sender", () => {
  const a = { address: "192.168.1.2", port: 500 };
  const natPub = { address: "203.0.113.1", port: 40000 };
  const b = { address: "10.0.0.2", port: 500 };
  // a (behind a NAT) sends to b: NAT-D(b), NAT-D(a as it knows itself).
  const fromA = natDPayloads("rfc3947", sha1, ci, cr, a, b);
  assert.deepEqual(detectNat(sha1, ci, cr, fromA, b, natPub), { localBehindNat: false, peerBehindNat: true });
  // b answers to the NAT's mapping: NAT-D(203.0.113.1:40000), NAT-D(b); a receives it on its own address.
  const fromB = natDPayloads("rfc3947", sha1, ci, cr, b, natPub);
  assert.deepEqual(detectNat(sha1, ci, cr, fromB, a, b), { localBehindNat: true, peerBehindNat: false });
  // No NAT: both match.
  assert.deepEqual(detectNat(sha1, ci, cr, natDPayloads("draft-02", sha1, ci, cr, b, a), a, b), { localBehindNat: false, peerBehindNat: false });
  // Fewer than two NAT-D: nothing to say.
  assert.equal(detectNat(sha1, ci, cr, fromA.slice(0, 1), b, natPub), undefined);
});
