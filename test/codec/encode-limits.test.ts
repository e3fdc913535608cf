/**
 * The encoder builds only what the decoder accepts: encoding our own values never yields a
 * datagram that a peer running this codec (or any strict peer) must refuse. An out-of-range value
 * is a programming error and throws RangeError (STYLE §7), before anything reaches the wire.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeMessage, decodePayloads, encodeEncrypted, encodeMessage, encodePayloads, MAX_DATAGRAM, MAX_PAYLOADS, PayloadType, ProtocolId,
  type DataAttribute, type HeaderInit, type Payload, type TransformPayload,
} from "../../src/codec/index.js";

const header: HeaderInit = { icookie: Buffer.alloc(8, 1), rcookie: Buffer.alloc(8), exchangeType: 2, flags: 0, messageId: 0 };
const cert = (n: number): Payload => ({ type: PayloadType.CERT, encoding: 4, data: Buffer.alloc(n, 0x30) });

test("encodeMessage refuses a datagram longer than MAX_DATAGRAM, and builds one of exactly that size", () => {
  // Two payloads that each fit their 16-bit length but together exceed what the decoder takes.
  assert.throws(() => encodeMessage(header, [cert(40_000), cert(40_000)]), RangeError);
  const exact = encodeMessage(header, [cert(MAX_DATAGRAM - 28 - 4 - 1)]);
  assert.equal(exact.length, MAX_DATAGRAM);
  assert.ok(decodeMessage(exact).ok);
});

test("encodeEncrypted refuses a ciphertext that makes the datagram longer than MAX_DATAGRAM", () => {
  const enc = { ...header, flags: 1 };
  assert.throws(() => encodeEncrypted(enc, PayloadType.HASH, Buffer.alloc(MAX_DATAGRAM - 28 + 8)), RangeError);
  assert.equal(encodeEncrypted(enc, PayloadType.HASH, Buffer.alloc(MAX_DATAGRAM - 28)).length, MAX_DATAGRAM);
});

function sa(protocolId: number, attributes: DataAttribute[]): Payload {
  const spi = protocolId === ProtocolId.ISAKMP ? Buffer.alloc(0) : Buffer.from("c0ffee01", "hex");
  return {
    type: PayloadType.SA, doi: 1, situation: 1,
    proposals: [{ type: PayloadType.Proposal, proposalNumber: 1, protocolId, spi, transforms: [{ type: PayloadType.Transform, transformNumber: 1, transformId: protocolId === ProtocolId.ISAKMP ? 1 : 12, attributes }] }],
  };
}

test("a basic (class B) attribute cannot be encoded in TLV form: the decoder would refuse it (ATTRIBUTES-NOT-SUPPORTED)", () => {
  // RFC 2409 appendix A: Encryption Algorithm (1) and Key Length (14) are B; RFC 2407 §4.5: Encapsulation Mode (4) is B.
  assert.throws(() => encodePayloads([sa(ProtocolId.ISAKMP, [{ format: "tlv", type: 1, value: Buffer.from("0007", "hex") }])]), RangeError);
  assert.throws(() => encodePayloads([sa(ProtocolId.ISAKMP, [{ format: "tlv", type: 14, value: Buffer.from("0080", "hex") }])]), RangeError);
  assert.throws(() => encodePayloads([sa(ProtocolId.IPSEC_ESP, [{ format: "tlv", type: 4, value: Buffer.from("0001", "hex") }])]), RangeError);
  // Variable (class V) attributes take either form: Life Duration (IKE 12, IPsec 2).
  assert.ok(encodePayloads([sa(ProtocolId.ISAKMP, [{ format: "tlv", type: 12, value: Buffer.from("00015180", "hex") }])]).length > 0);
  assert.ok(encodePayloads([sa(ProtocolId.IPSEC_ESP, [{ format: "tlv", type: 2, value: Buffer.from("00015180", "hex") }])]).length > 0);
  // The Attribute payload (mode-cfg) has no form rule, as on decode.
  assert.ok(encodePayloads([{ type: PayloadType.Attribute, cfgType: 1, identifier: 0, attributes: [{ format: "tlv", type: 1, value: Buffer.alloc(0) }] }]).length > 0);
});

test("a TV attribute value must fit 16 bits", () => {
  assert.throws(() => encodePayloads([sa(ProtocolId.ISAKMP, [{ format: "tv", type: 11, value: 0x10000 }])]), RangeError);
});

test("counts the decoder caps (payloads, proposals, transforms, attributes) are caps on encode too", () => {
  const vid: Payload = { type: PayloadType.VID, data: Buffer.alloc(16, 1) };
  assert.equal(decodePayloads(PayloadType.VID, encodePayloads(Array(MAX_PAYLOADS).fill(vid))).ok, true);
  assert.throws(() => encodePayloads(Array(MAX_PAYLOADS + 1).fill(vid)), RangeError);
  const transform = (n: number, attributes: DataAttribute[] = []): TransformPayload => ({ type: PayloadType.Transform, transformNumber: n, transformId: 1, attributes });
  const ikeSa = (proposals: number, transforms: number, attributes: number): Payload => ({
    type: PayloadType.SA, doi: 1, situation: 1,
    proposals: Array.from({ length: proposals }, (_, p) => ({
      type: PayloadType.Proposal, proposalNumber: p + 1, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(0),
      transforms: Array.from({ length: transforms }, (_, t) => transform(t + 1, Array<DataAttribute>(attributes).fill({ format: "tv", type: 11, value: 1 }))),
    })),
  });
  for (const [p, t, a] of [[64, 1, 0], [1, 64, 0], [1, 1, 64]] as const) {
    const r = decodePayloads(PayloadType.SA, encodePayloads([ikeSa(p, t, a)]));
    assert.ok(r.ok, `${p} proposals, ${t} transforms, ${a} attributes decode`);
  }
  assert.throws(() => encodePayloads([ikeSa(65, 1, 0)]), RangeError);
  assert.throws(() => encodePayloads([ikeSa(1, 65, 0)]), RangeError);
  assert.throws(() => encodePayloads([ikeSa(1, 1, 65)]), RangeError);
});
