/** The spec-driven trace dump: key=value lines with names, and redaction chosen by the caller. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, dumpMessage, dumpPayload, PayloadType, type Payload } from "../../src/codec/index.js";
import { h, gh, tv, tlv, msg } from "./helpers.js";

test("dump names numbers and nests proposals, transforms and attributes", () => {
  const body = gh(13, "00000001 00000001" + gh(0, "01 01 00 01" + gh(0, "00 01 0000" + tv(1, 7) + tv(2, 2) + tlv(12, "00007080")))) + gh(0, "aabb");
  const r = decodeMessage(h(msg({ next: 1, exchange: 2 }, body)));
  assert.ok(r.ok);
  const lines = dumpMessage(r.value);
  assert.deepEqual(lines.slice(0, 9), [
    "HDR.icookie=0102030405060708",
    "HDR.rcookie=0000000000000000",
    "HDR.nextPayload=1(SA)",
    "HDR.majorVersion=1",
    "HDR.minorVersion=0",
    "HDR.exchangeType=2(IdentityProtection)",
    "HDR.flags=0(none)",
    "HDR.messageId=0",
    `HDR.length=${28 + h(body).length}`,
  ]);
  assert.ok(lines.includes("SA.doi=1(Ipsec)"));
  assert.ok(lines.includes("SA.proposals[0].protocolId=1(ISAKMP)"));
  assert.ok(lines.includes("SA.proposals[0].transforms[0].transformId=1(KEY_IKE)"));
  assert.ok(lines.includes("SA.proposals[0].transforms[0].attributes[0]=EncryptionAlgorithm:7(AES_CBC)"));
  assert.ok(lines.includes("SA.proposals[0].transforms[0].attributes[1]=HashAlgorithm:2(SHA)"));
  assert.ok(lines.includes("SA.proposals[0].transforms[0].attributes[2]=LifeDuration:00007080(28800)"));
  assert.equal(lines.at(-1), "VID.data=aabb");
});

test("dump of an encrypted message shows only the ciphertext length", () => {
  const r = decodeMessage(h(msg({ next: 8, exchange: 5, flags: 1, messageId: 1 }, "00".repeat(32))));
  assert.ok(r.ok);
  assert.equal(dumpMessage(r.value).at(-1), "BODY=<encrypted 32 bytes>");
  assert.ok(dumpMessage(r.value).includes("HDR.flags=1(Encryption)"));
});

test("redaction is the caller's policy, per payload type and field path", () => {
  const ke: Payload = { type: PayloadType.KE, keyData: h("0102") };
  const hash: Payload = { type: PayloadType.HASH, data: h("a1a2a3") };
  const n: Payload = { type: PayloadType.N, doi: 1, protocolId: 1, notifyType: 36136, spi: h("00".repeat(16)), data: h("0000002a") };
  const redact = (pt: number, path: string): boolean => pt === PayloadType.HASH || path === "N.spi";
  assert.deepEqual(dumpPayload(ke, redact), ["KE.keyData=0102"]);
  assert.deepEqual(dumpPayload(hash, redact), ["HASH.data=<redacted 3 bytes>"]);
  assert.deepEqual(dumpPayload(n, redact), ["N.doi=1(Ipsec)", "N.protocolId=1(ISAKMP)", "N.notifyType=36136(R-U-THERE)", "N.spi=<redacted 16 bytes>", "N.data=0000002a"]);
  assert.deepEqual(dumpPayload(hash), ["HASH.data=a1a2a3"]);
});
