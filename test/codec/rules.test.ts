/**
 * The per-exchange payload rules (RFC 2409 §5): conforming messages pass, each kind of violation gives
 * its code and points at the offending payload.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkRules, decodeMessage, decodeDecrypted, encodeMessage, encodePayloads, encodeEncrypted, PayloadType as P,
  type MessagePosition, type Payload, type PlainMessage,
} from "../../src/codec/index.js";
import { h } from "./helpers.js";

const I = h("0102030405060708");
const R = h("1112131415161718");
const Z = Buffer.alloc(8);

const ikeSa: Payload = { type: P.SA, doi: 1, situation: 1, proposals: [{ type: P.Proposal, proposalNumber: 1, protocolId: 1, spi: h(""), transforms: [
  { type: P.Transform, transformNumber: 1, transformId: 1, attributes: [{ format: "tv", type: 1, value: 7 }] }] }] };
const espSa: Payload = { type: P.SA, doi: 1, situation: 1, proposals: [{ type: P.Proposal, proposalNumber: 1, protocolId: 3, spi: h("c0000001"), transforms: [
  { type: P.Transform, transformNumber: 1, transformId: 12, attributes: [{ format: "tv", type: 4, value: 1 }] }] }] };
const ke: Payload = { type: P.KE, keyData: h("aa".repeat(32)) };
const nonce: Payload = { type: P.NONCE, data: h("bb".repeat(16)) };
const id: Payload = { type: P.ID, idType: 1, protocolId: 17, port: 500, data: h("c0a80001") };
const hash: Payload = { type: P.HASH, data: h("cc".repeat(20)) };
const sig: Payload = { type: P.SIG, data: h("dd".repeat(64)) };
const vid: Payload = { type: P.VID, data: h("afcad71368a1f1c96b8696fc77570100") };
const natd: Payload = { type: P.NATD, hash: h("ee".repeat(20)) };
const natdDraft: Payload = { type: P.NATDDraft, hash: h("ef".repeat(20)) };
const cr: Payload = { type: P.CR, encoding: 4, authority: h("") };
const cert: Payload = { type: P.CERT, encoding: 4, data: h("3082") };
const notify: Payload = { type: P.N, doi: 1, protocolId: 1, notifyType: 24578, spi: Buffer.concat([I, R]), data: h("") };
const del: Payload = { type: P.D, doi: 1, protocolId: 3, spiSize: 4, spis: [h("c0000001")] };
const attr: Payload = { type: P.Attribute, cfgType: 1, identifier: 1, attributes: [] };

/** Builds the message as it would arrive and decodes it (decrypting = taking the clear chain). */
function arrive(exchangeType: number, payloads: Payload[], opts: { encrypted?: boolean; rcookie?: Buffer; messageId?: number } = {}): PlainMessage {
  const header = { icookie: I, rcookie: opts.rcookie ?? R, exchangeType, flags: opts.encrypted ? 1 : 0, messageId: opts.messageId ?? 0 };
  if (!opts.encrypted) {
    const r = decodeMessage(encodeMessage(header, payloads));
    assert.ok(r.ok && r.value.kind === "plain", r.ok ? "" : r.error.code);
    return r.value as PlainMessage;
  }
  const body = encodePayloads(payloads);
  const r = decodeMessage(encodeEncrypted(header, payloads[0]?.type ?? 0, body));
  assert.ok(r.ok && r.value.kind === "encrypted");
  const d = decodeDecrypted(r.value.header, body);
  assert.ok(d.ok);
  return d.value;
}

const MM = 2, AM = 4, INFO = 5, TXN = 6, QM = 32, NGM = 33;

const good: [MessagePosition, PlainMessage][] = [
  ["MM1", arrive(MM, [ikeSa, vid, vid, vid, vid, vid], { rcookie: Z })],
  ["MM2", arrive(MM, [ikeSa, vid])],
  ["MM3", arrive(MM, [ke, nonce, cr, natd, natd])],
  ["MM4", arrive(MM, [ke, nonce, cr, natdDraft, natdDraft, vid])],
  ["MM5", arrive(MM, [id, hash, notify], { encrypted: true })],
  ["MM5", arrive(MM, [id, cert, sig], { encrypted: true })],
  ["MM6", arrive(MM, [id, cert, cert, sig], { encrypted: true })],
  ["MM3_ENC", arrive(MM, [ke, hash, id, nonce])],
  ["MM4_ENC", arrive(MM, [ke, id, nonce])],
  ["MM5_ENC", arrive(MM, [hash], { encrypted: true })],
  ["MM6_ENC", arrive(MM, [hash], { encrypted: true })],
  ["AM1", arrive(AM, [ikeSa, ke, nonce, id, vid], { rcookie: Z })],
  ["AM2", arrive(AM, [ikeSa, ke, nonce, id, natd, natd, hash, vid])],
  ["AM3", arrive(AM, [hash, natd, natd])],
  ["AM3", arrive(AM, [cert, sig], { encrypted: true })],
  ["QM1", arrive(QM, [hash, espSa, nonce, ke, id, id], { encrypted: true, messageId: 7 })],
  ["QM1", arrive(QM, [hash, espSa, nonce], { encrypted: true, messageId: 7 })],
  ["QM2", arrive(QM, [hash, espSa, nonce, id, id, notify], { encrypted: true, messageId: 7 })],
  ["QM3", arrive(QM, [hash], { encrypted: true, messageId: 7 })],
  ["NGM1", arrive(NGM, [hash, ikeSa], { encrypted: true, messageId: 9 })],
  ["INFO", arrive(INFO, [hash, del], { encrypted: true, messageId: 3 })],
  ["INFO", arrive(INFO, [hash, notify], { encrypted: true, messageId: 3 })],
  ["INFO_CLEAR", arrive(INFO, [notify])],
  ["TXN", arrive(TXN, [hash, attr], { encrypted: true, messageId: 11 })],
];
for (const [pos, m] of good) {
  test(`rules accept ${pos}: ${m.payloads.map((p) => p.type).join(",")}`, () => {
    assert.equal(checkRules(pos, m.header, m.payloads), null);
  });
}

const bad: [string, MessagePosition, PlainMessage, string, number | ((m: PlainMessage) => number)][] = [
  ["MM1 in aggressive mode", "MM1", arrive(AM, [ikeSa], { rcookie: Z }), "IKE_ERR_WRONG_EXCHANGE", 18],
  ["MM1 with a responder cookie", "MM1", arrive(MM, [ikeSa]), "IKE_ERR_INVALID_COOKIE", 8],
  ["MM2 without a responder cookie", "MM2", arrive(MM, [ikeSa], { rcookie: Z }), "IKE_ERR_INVALID_COOKIE", 8],
  ["MM1 encrypted", "MM1", arrive(MM, [ikeSa], { rcookie: Z, encrypted: true }), "IKE_ERR_UNEXPECTED_ENCRYPTION", 19],
  ["MM5 in the clear", "MM5", arrive(MM, [id, hash]), "IKE_ERR_NOT_ENCRYPTED", 19],
  ["MM1 with a KE", "MM1", arrive(MM, [ikeSa, ke], { rcookie: Z }), "IKE_ERR_UNEXPECTED_PAYLOAD", (m) => m.payloads[1]!.raw!.offset],
  ["MM1 without SA", "MM1", arrive(MM, [vid], { rcookie: Z }), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["MM1 with two SAs", "MM1", arrive(MM, [ikeSa, ikeSa], { rcookie: Z }), "IKE_ERR_REPEATED_PAYLOAD", (m) => m.payloads[1]!.raw!.offset],
  ["MM1 proposing ESP", "MM1", arrive(MM, [espSa], { rcookie: Z }), "IKE_ERR_SA_PROTOCOL", 28],
  ["MM3 without nonce", "MM3", arrive(MM, [ke]), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["MM5 with HASH and SIG", "MM5", arrive(MM, [id, hash, sig], { encrypted: true }), "IKE_ERR_REPEATED_PAYLOAD", (m) => m.payloads[2]!.raw!.offset],
  ["MM5 without HASH or SIG", "MM5", arrive(MM, [id], { encrypted: true }), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["AM2 without authentication", "AM2", arrive(AM, [ikeSa, ke, nonce, id]), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["QM1 with one ID", "QM1", arrive(QM, [hash, espSa, nonce, id], { encrypted: true, messageId: 7 }), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["QM1 with three IDs", "QM1", arrive(QM, [hash, espSa, nonce, id, id, id], { encrypted: true, messageId: 7 }), "IKE_ERR_REPEATED_PAYLOAD", (m) => m.payloads[5]!.raw!.offset],
  ["QM1 without HASH first", "QM1", arrive(QM, [espSa, hash, nonce], { encrypted: true, messageId: 7 }), "IKE_ERR_PAYLOAD_ORDER", 28],
  ["QM1 proposing ISAKMP", "QM1", arrive(QM, [hash, ikeSa, nonce], { encrypted: true, messageId: 7 }), "IKE_ERR_SA_PROTOCOL", (m) => m.payloads[1]!.raw!.offset],
  ["QM3 with a nonce", "QM3", arrive(QM, [hash, nonce], { encrypted: true, messageId: 7 }), "IKE_ERR_UNEXPECTED_PAYLOAD", (m) => m.payloads[1]!.raw!.offset],
  ["INFO with only a HASH", "INFO", arrive(INFO, [hash], { encrypted: true, messageId: 3 }), "IKE_ERR_MISSING_PAYLOAD", 0],
  ["INFO with N before HASH", "INFO", arrive(INFO, [notify, hash], { encrypted: true, messageId: 3 }), "IKE_ERR_PAYLOAD_ORDER", 28],
  ["INFO_CLEAR with a delete", "INFO_CLEAR", arrive(INFO, [notify, del]), "IKE_ERR_UNEXPECTED_PAYLOAD", (m) => m.payloads[1]!.raw!.offset],
];
for (const [name, pos, m, code, offset] of bad) {
  test(`rules refuse ${name} → ${code}`, () => {
    const e = checkRules(pos, m.header, m.payloads);
    assert.ok(e !== null);
    assert.equal(e.code, code);
    assert.equal(e.offset, typeof offset === "number" ? offset : offset(m));
  });
}

test("count errors name the payload types and counts (the text is built only on failure)", () => {
  const one = arrive(QM, [hash, espSa, nonce, id], { encrypted: true, messageId: 7 });
  assert.equal(checkRules("QM1", one.header, one.payloads)?.detail, "QM1 needs 0 or 2 ID, has 1");
  const three = arrive(QM, [hash, espSa, nonce, id, id, id], { encrypted: true, messageId: 7 });
  assert.equal(checkRules("QM1", three.header, three.payloads)?.detail, "QM1 carries 3 ID");
  const lone = arrive(INFO, [hash], { encrypted: true, messageId: 3 });
  assert.equal(checkRules("INFO", lone.header, lone.payloads)?.detail, "INFO needs 1 N|D, has 0");
});
