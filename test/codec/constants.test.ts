/** Names for every protocol number table, for logs and ikeadm. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  nameOf, isKnown, notifyLabel, isNotifyError, transformIdName, attributeName, attributeValueName, isBasicAttribute,
  ExchangeType, PayloadType, Notify, ProtocolId, IdType, CertEncoding, Doi, Situation, EspTransformId, AhTransformId,
  IpcompTransformId, IkeAttr, IpsecAttr, IkeEncryption, IkeHash, AuthMethod, GroupDescription, GroupType, LifeType,
  EncapsulationMode, AuthAlgorithm, attributeNumber, findAttribute, variableAttribute,
} from "../../src/codec/index.js";

test("nameOf maps numbers to RFC names and marks unknown ones", () => {
  assert.equal(nameOf(ExchangeType, 2), "IdentityProtection");
  assert.equal(nameOf(ExchangeType, 32), "QuickMode");
  assert.equal(nameOf(ExchangeType, 6), "Transaction");
  assert.equal(nameOf(PayloadType, 130), "NATDDraft");
  assert.equal(nameOf(ProtocolId, 3), "IPSEC_ESP");
  assert.equal(nameOf(IdType, 9), "ID_DER_ASN1_DN");
  assert.equal(nameOf(CertEncoding, 4), "X509Signature");
  assert.equal(nameOf(Doi, 1), "Ipsec");
  assert.equal(nameOf(Situation, 1), "IdentityOnly");
  assert.equal(nameOf(ExchangeType, 99), "UNKNOWN(99)");
  assert.equal(isKnown(PayloadType, 21), true);
  assert.equal(isKnown(PayloadType, 22), false);
});

test("notify labels use the RFC spelling for 1-30 and the status types", () => {
  assert.equal(notifyLabel(Notify.InvalidPayloadType), "INVALID-PAYLOAD-TYPE");
  assert.equal(notifyLabel(Notify.UnequalPayloadLengths), "UNEQUAL-PAYLOAD-LENGTHS");
  assert.equal(notifyLabel(24576), "RESPONDER-LIFETIME");
  assert.equal(notifyLabel(24577), "REPLAY-STATUS");
  assert.equal(notifyLabel(24578), "INITIAL-CONTACT");
  assert.equal(notifyLabel(36136), "R-U-THERE");
  assert.equal(notifyLabel(36137), "R-U-THERE-ACK");
  for (let t = 1; t <= 30; t++) assert.doesNotMatch(notifyLabel(t), /UNKNOWN/);
  assert.equal(isNotifyError(14), true);
  assert.equal(isNotifyError(24578), false);
});

test("transform ids are named within their protocol", () => {
  assert.equal(transformIdName(1, 1), "KEY_IKE");
  assert.equal(transformIdName(2, 3), "AH_SHA");
  assert.equal(transformIdName(3, 12), "ESP_AES");
  assert.equal(transformIdName(3, 20), "ESP_AES_GCM_16");
  assert.equal(transformIdName(4, 2), "IPCOMP_DEFLATE");
  assert.equal(transformIdName(9, 1), "UNKNOWN(1)");
  assert.equal(nameOf(AhTransformId, 5), "AH_SHA2_256");
  assert.equal(nameOf(EspTransformId, 3), "ESP_3DES");
  assert.equal(nameOf(IpcompTransformId, 3), "IPCOMP_LZS");
});

test("attribute types and values are named by the proposal's protocol", () => {
  assert.equal(attributeName(1, IkeAttr.LifeDuration), "LifeDuration");
  assert.equal(attributeName(3, IpsecAttr.EncapsulationMode), "EncapsulationMode");
  assert.equal(attributeValueName(1, 1, IkeEncryption.AES_CBC), "AES_CBC");
  assert.equal(attributeValueName(1, 2, IkeHash.SHA2_256), "SHA2_256");
  assert.equal(attributeValueName(1, 13, IkeHash.SHA), "SHA");
  assert.equal(attributeValueName(1, 3, AuthMethod.RsaRevisedEncryption), "RsaRevisedEncryption");
  assert.equal(attributeValueName(1, 3, AuthMethod.XauthInitPreShared), "XauthInitPreShared");
  assert.equal(attributeValueName(1, 3, AuthMethod.HybridInitRsa), "HybridInitRsa");
  assert.equal(attributeValueName(1, 4, GroupDescription.MODP_2048), "MODP_2048");
  assert.equal(attributeValueName(1, 5, GroupType.ECP), "ECP");
  assert.equal(attributeValueName(1, 11, LifeType.Kilobytes), "Kilobytes");
  assert.equal(attributeValueName(3, 4, EncapsulationMode.UdpEncapsulatedTunnel), "UdpEncapsulatedTunnel");
  assert.equal(attributeValueName(3, 4, 61444), "UdpEncapsulatedTransportDraft");
  assert.equal(attributeValueName(3, 5, AuthAlgorithm.HMAC_SHA2_256), "HMAC_SHA2_256");
  assert.equal(attributeValueName(1, 14, 256), "256");
  assert.equal(isBasicAttribute(1, IkeAttr.LifeDuration), false);
  assert.equal(isBasicAttribute(1, IkeAttr.KeyLength), true);
  assert.equal(isBasicAttribute(3, IpsecAttr.SaLifeDuration), false);
  assert.equal(isBasicAttribute(3, IpsecAttr.EncapsulationMode), true);
});

test("attribute helpers read TV and TLV values", () => {
  assert.equal(attributeNumber({ format: "tv", type: 11, value: 1 }), 1);
  assert.equal(attributeNumber({ format: "tlv", type: 12, value: Buffer.from("00015180", "hex") }), 86400);
  assert.equal(attributeNumber({ format: "tlv", type: 12, value: Buffer.alloc(0) }), 0, "an empty TLV reads 0");
  assert.equal(attributeNumber({ format: "tlv", type: 12, value: Buffer.from("0100000000", "hex") }), 0xffffffff, "saturates at 2^32-1");
  assert.equal(attributeNumber({ format: "tlv", type: 12, value: Buffer.alloc(7, 1) }), 0xffffffff);
  assert.equal(attributeNumber({ format: "tlv", type: 12, value: Buffer.from("00000000ffffffff", "hex") }), 0xffffffff);
  assert.deepEqual(variableAttribute(12, 3600), { format: "tv", type: 12, value: 3600 });
  assert.deepEqual(variableAttribute(12, 0xffff), { format: "tv", type: 12, value: 0xffff });
  assert.deepEqual(variableAttribute(12, 0x10000), { format: "tlv", type: 12, value: Buffer.from("00010000", "hex") });
  assert.deepEqual(variableAttribute(12, 86400), { format: "tlv", type: 12, value: Buffer.from("00015180", "hex") });
  assert.deepEqual(variableAttribute(12, 2 ** 40), { format: "tlv", type: 12, value: Buffer.from("ffffffff", "hex") }, "saturates");
  const attrs = [variableAttribute(1, 7), variableAttribute(12, 86400)];
  assert.equal(findAttribute(attrs, 12), attrs[1]);
  assert.equal(findAttribute(attrs, 2), undefined);
});
