/**
 * Table of valid payload chains (STYLE §8): each case's bytes decode to `value`, `value` encodes to
 * the same bytes, and the decoded value re-encodes identically (mirror). `first` is the type of the
 * first payload (the header's next payload). Bytes are built by helpers.ts, independently of the codec.
 */
import { h, gh, tv, tlv, rep } from "./helpers.js";
import type { Payload } from "../../src/codec/index.js";

export interface ValueCase {
  readonly name: string;
  readonly first: number;
  readonly hex: string;
  readonly value: Payload[];
}

const ikeAttrs = tv(1, 7) + tv(14, 128) + tv(2, 2) + tv(3, 1) + tv(4, 14) + tv(11, 1) + tlv(12, "00007080");
const ikeAttrValues = [
  { format: "tv", type: 1, value: 7 },
  { format: "tv", type: 14, value: 128 },
  { format: "tv", type: 2, value: 2 },
  { format: "tv", type: 3, value: 1 },
  { format: "tv", type: 4, value: 14 },
  { format: "tv", type: 11, value: 1 },
  { format: "tlv", type: 12, value: h("00007080") },
] as const;

const espAttrs = tv(1, 1) + tlv(2, "00000e10") + tv(4, 3) + tv(5, 2) + tv(6, 256) + tv(3, 14);
const espAttrValues = [
  { format: "tv", type: 1, value: 1 },
  { format: "tlv", type: 2, value: h("00000e10") },
  { format: "tv", type: 4, value: 3 },
  { format: "tv", type: 5, value: 2 },
  { format: "tv", type: 6, value: 256 },
  { format: "tv", type: 3, value: 14 },
] as const;

const cases: ValueCase[] = [
  {
    name: "SA phase 1: one ISAKMP proposal, two KEY_IKE transforms, TV and TLV attributes",
    first: 1,
    hex: gh(0, "00000001 00000001" + gh(0, "01 01 00 02" + gh(3, "00 01 0000" + ikeAttrs) + gh(0, "01 01 0000" + tv(1, 5) + tv(2, 1) + tv(3, 3) + tv(4, 2)))),
    value: [{
      type: 1, doi: 1, situation: 1,
      proposals: [{
        type: 2, proposalNumber: 1, protocolId: 1, spi: h(""),
        transforms: [
          { type: 3, transformNumber: 0, transformId: 1, attributes: [...ikeAttrValues] },
          { type: 3, transformNumber: 1, transformId: 1, attributes: [
            { format: "tv", type: 1, value: 5 }, { format: "tv", type: 2, value: 1 }, { format: "tv", type: 3, value: 3 }, { format: "tv", type: 4, value: 2 }] },
        ],
      }],
    }],
  },
  {
    name: "SA phase 1 with DOI 0, 16-byte SPI and XAUTH/hybrid auth method numbers",
    first: 1,
    hex: gh(0, "00000000 00000001" + gh(0, "01 01 10 01" + rep("ab", 16) + gh(0, "00 01 0000" + tv(3, 65001) + tv(3, 64221) + tv(16, 1)))),
    value: [{
      type: 1, doi: 0, situation: 1,
      proposals: [{
        type: 2, proposalNumber: 1, protocolId: 1, spi: h(rep("ab", 16)),
        transforms: [{ type: 3, transformNumber: 0, transformId: 1, attributes: [
          { format: "tv", type: 3, value: 65001 }, { format: "tv", type: 3, value: 64221 }, { format: "tv", type: 16, value: 1 }] }],
      }],
    }],
  },
  {
    name: "SA quick mode: AH+ESP bundle (same proposal number) then ESP alone, UDP-encapsulated modes",
    first: 1,
    hex: gh(0, "00000001 00000001" +
      gh(2, "01 02 04 01 c0000001" + gh(0, "01 03 0000" + tv(1, 1) + tv(4, 1) + tv(5, 2))) +
      gh(2, "01 03 04 02 c0000002" + gh(3, "01 0c 0000" + espAttrs) + gh(0, "02 03 0000" + tv(4, 61443) + tv(5, 1))) +
      gh(0, "02 03 04 01 c0000003" + gh(0, "01 14 0000" + tv(4, 4) + tv(4, 61444) + tv(6, 128) + tv(11, 1) + tv(10, 1)))),
    value: [{
      type: 1, doi: 1, situation: 1,
      proposals: [
        { type: 2, proposalNumber: 1, protocolId: 2, spi: h("c0000001"), transforms: [
          { type: 3, transformNumber: 1, transformId: 3, attributes: [{ format: "tv", type: 1, value: 1 }, { format: "tv", type: 4, value: 1 }, { format: "tv", type: 5, value: 2 }] }] },
        { type: 2, proposalNumber: 1, protocolId: 3, spi: h("c0000002"), transforms: [
          { type: 3, transformNumber: 1, transformId: 12, attributes: [...espAttrValues] },
          { type: 3, transformNumber: 2, transformId: 3, attributes: [{ format: "tv", type: 4, value: 61443 }, { format: "tv", type: 5, value: 1 }] }] },
        { type: 2, proposalNumber: 2, protocolId: 3, spi: h("c0000003"), transforms: [
          { type: 3, transformNumber: 1, transformId: 20, attributes: [
            { format: "tv", type: 4, value: 4 }, { format: "tv", type: 4, value: 61444 }, { format: "tv", type: 6, value: 128 },
            { format: "tv", type: 11, value: 1 }, { format: "tv", type: 10, value: 1 }] }] },
      ],
    }],
  },
  {
    name: "SA with an IPCOMP proposal (2-byte CPI) and a variable attribute sent as TV",
    first: 1,
    hex: gh(0, "00000001 00000001" + gh(0, "01 04 02 01 1234" + gh(0, "01 02 0000" + tv(1, 1) + tv(2, 3600)))),
    value: [{ type: 1, doi: 1, situation: 1, proposals: [{ type: 2, proposalNumber: 1, protocolId: 4, spi: h("1234"), transforms: [
      { type: 3, transformNumber: 1, transformId: 2, attributes: [{ format: "tv", type: 1, value: 1 }, { format: "tv", type: 2, value: 3600 }] }] }] }],
  },
  {
    name: "SA: transform with no attributes, empty TLV value",
    first: 1,
    hex: gh(0, "00000001 00000001" + gh(0, "00 03 04 02 00000100" + gh(3, "00 0b 0000") + gh(0, "01 0b 0000" + tlv(9, "")))),
    value: [{ type: 1, doi: 1, situation: 1, proposals: [{ type: 2, proposalNumber: 0, protocolId: 3, spi: h("00000100"), transforms: [
      { type: 3, transformNumber: 0, transformId: 11, attributes: [] },
      { type: 3, transformNumber: 1, transformId: 11, attributes: [{ format: "tlv", type: 9, value: h("") }] }] }] }],
  },
  { name: "KE", first: 4, hex: gh(0, rep("5a", 128)), value: [{ type: 4, keyData: h(rep("5a", 128)) }] },
  { name: "HASH", first: 8, hex: gh(0, rep("11", 20)), value: [{ type: 8, data: h(rep("11", 20)) }] },
  { name: "SIG", first: 9, hex: gh(0, rep("22", 256)), value: [{ type: 9, data: h(rep("22", 256)) }] },
  { name: "NONCE of 8 bytes (minimum)", first: 10, hex: gh(0, rep("33", 8)), value: [{ type: 10, data: h(rep("33", 8)) }] },
  { name: "NONCE of 256 bytes (maximum)", first: 10, hex: gh(0, rep("34", 256)), value: [{ type: 10, data: h(rep("34", 256)) }] },
  { name: "VID", first: 13, hex: gh(0, "4a131c81070358455c5728f20e95452f"), value: [{ type: 13, data: h("4a131c81070358455c5728f20e95452f") }] },
  {
    name: "N INITIAL-CONTACT with the cookie pair as SPI",
    first: 11,
    hex: gh(0, "00000001 01 10 6002" + rep("01", 8) + rep("02", 8)),
    value: [{ type: 11, doi: 1, protocolId: 1, notifyType: 24578, spi: h(rep("01", 8) + rep("02", 8)), data: h("") }],
  },
  {
    name: "N R-U-THERE with sequence number (RFC 3706)",
    first: 11,
    hex: gh(0, "00000001 01 10 8d28" + rep("03", 16) + "0000002a"),
    value: [{ type: 11, doi: 1, protocolId: 1, notifyType: 36136, spi: h(rep("03", 16)), data: h("0000002a") }],
  },
  {
    name: "N R-U-THERE-ACK",
    first: 11,
    hex: gh(0, "00000001 01 10 8d29" + rep("03", 16) + "0000002a"),
    value: [{ type: 11, doi: 1, protocolId: 1, notifyType: 36137, spi: h(rep("03", 16)), data: h("0000002a") }],
  },
  {
    name: "N RESPONDER-LIFETIME for an ESP SPI with lifetime attributes as data",
    first: 11,
    hex: gh(0, "00000001 03 04 6000 c0000004" + tv(1, 1) + tlv(2, "00000e10")),
    value: [{ type: 11, doi: 1, protocolId: 3, notifyType: 24576, spi: h("c0000004"), data: h(tv(1, 1) + tlv(2, "00000e10")) }],
  },
  {
    name: "N REPLAY-STATUS",
    first: 11,
    hex: gh(0, "00000001 03 04 6001 c0000005 00000001"),
    value: [{ type: 11, doi: 1, protocolId: 3, notifyType: 24577, spi: h("c0000005"), data: h("00000001") }],
  },
  {
    name: "N unauthenticated error with protocol 0, no SPI, DOI 0 (strongSwan style)",
    first: 11,
    hex: gh(0, "00000000 00 00 000e"),
    value: [{ type: 11, doi: 0, protocolId: 0, notifyType: 14, spi: h(""), data: h("") }],
  },
  {
    name: "D of one ISAKMP SA (cookie pair)",
    first: 12,
    hex: gh(0, "00000001 01 10 0001" + rep("0a", 16)),
    value: [{ type: 12, doi: 1, protocolId: 1, spiSize: 16, spis: [h(rep("0a", 16))] }],
  },
  {
    name: "D of three ESP SAs",
    first: 12,
    hex: gh(0, "00000001 03 04 0003 c0000001 c0000002 c0000003"),
    value: [{ type: 12, doi: 1, protocolId: 3, spiSize: 4, spis: [h("c0000001"), h("c0000002"), h("c0000003")] }],
  },
  {
    name: "D of IPCOMP CPIs",
    first: 12,
    hex: gh(0, "00000001 04 02 0002 1234 5678"),
    value: [{ type: 12, doi: 1, protocolId: 4, spiSize: 2, spis: [h("1234"), h("5678")] }],
  },
  {
    name: "Attribute (mode-cfg) request for an IPv4 address and XAUTH name",
    first: 14,
    hex: gh(0, "01 00 1234" + tlv(1, "") + tlv(16521, "") + tv(16520, 0)),
    value: [{ type: 14, cfgType: 1, identifier: 0x1234, attributes: [
      { format: "tlv", type: 1, value: h("") }, { format: "tlv", type: 16521, value: h("") }, { format: "tv", type: 16520, value: 0 }] }],
  },
  { name: "NAT-D (RFC 3947, payload 20)", first: 20, hex: gh(0, rep("44", 20)), value: [{ type: 20, hash: h(rep("44", 20)) }] },
  { name: "NAT-D (draft, payload 130)", first: 130, hex: gh(0, rep("45", 16)), value: [{ type: 130, hash: h(rep("45", 16)) }] },
  { name: "NAT-OA IPv4 (payload 21)", first: 21, hex: gh(0, "01 000000 c0a80001"), value: [{ type: 21, idType: 1, address: h("c0a80001") }] },
  { name: "NAT-OA IPv6 (draft payload 131)", first: 131, hex: gh(0, "05 000000" + "20010db8000000000000000000000001"), value: [{ type: 131, idType: 5, address: h("20010db8000000000000000000000001") }] },
  { name: "Fragment, last", first: 132, hex: gh(0, "0007 02 01 deadbeef"), value: [{ type: 132, fragmentId: 7, fragmentNumber: 2, flags: 1, data: h("deadbeef") }] },
  { name: "CR with empty authority", first: 7, hex: gh(0, "04"), value: [{ type: 7, encoding: 4, authority: h("") }] },
  { name: "CR with a DN", first: 7, hex: gh(0, "04 3012310b3009060355040613024348"), value: [{ type: 7, encoding: 4, authority: h("3012310b3009060355040613024348") }] },
];

// Every certificate encoding of RFC 2408 §3.9.
for (let enc = 1; enc <= 10; enc++) {
  cases.push({ name: `CERT encoding ${enc}`, first: 6, hex: gh(0, enc.toString(16).padStart(2, "0") + "308201"), value: [{ type: 6, encoding: enc, data: h("308201") }] });
}

// Every IPsec DOI identification type (RFC 2407 §4.6.2), with protocol/port selectors.
const ids: [number, string, number, number][] = [
  [1, "c0a80101", 17, 500],
  [2, Buffer.from("vpn.example.org").toString("hex"), 0, 0],
  [3, Buffer.from("alice@example.org").toString("hex"), 17, 0],
  [4, "0a000000ffffff00", 0, 0],
  [5, "20010db8000000000000000000000001", 6, 443],
  [6, "20010db8000000000000000000000000" + "ffffffffffffffff0000000000000000", 0, 0],
  [7, "0a0000010a0000ff", 17, 1701],
  [8, "20010db8000000000000000000000001" + "20010db80000000000000000000000ff", 0, 0],
  [9, "3012310b3009060355040613024348", 0, 0],
  [10, "820f76706e2e6578616d706c652e6f7267", 0, 0],
  [11, "0102030405", 0, 0],
];
for (const [idType, data, proto, port] of ids) {
  cases.push({
    name: `ID type ${idType}`,
    first: 5,
    hex: gh(0, idType.toString(16).padStart(2, "0") + proto.toString(16).padStart(2, "0") + port.toString(16).padStart(4, "0") + data),
    value: [{ type: 5, idType, protocolId: proto, port, data: h(data) }],
  });
}

// Every RFC 2408 §3.14.1 error type, as an unauthenticated notify.
for (let t = 1; t <= 30; t++) {
  cases.push({ name: `N error type ${t}`, first: 11, hex: gh(0, "00000001 01 00 " + t.toString(16).padStart(4, "0")), value: [{ type: 11, doi: 1, protocolId: 1, notifyType: t, spi: h(""), data: h("") }] });
}

// A quick mode QM1 body: HASH, SA, NONCE, KE, ID, ID, NAT-OA, NAT-OA.
cases.push({
  name: "QM1 plaintext chain: HASH SA NONCE KE IDci IDcr NAT-OAi NAT-OAr",
  first: 8,
  hex: gh(1, rep("11", 20)) +
    gh(10, "00000001 00000001" + gh(0, "01 03 04 01 c0000010" + gh(0, "01 0c 0000" + espAttrs))) +
    gh(4, rep("22", 16)) +
    gh(5, rep("33", 32)) +
    gh(5, "04 00 0000 0a000000ffffff00") +
    gh(21, "04 00 0000 0a010000ffffff00") +
    gh(21, "01 000000 0a000002") +
    gh(0, "01 000000 c0000205"),
  value: [
    { type: 8, data: h(rep("11", 20)) },
    { type: 1, doi: 1, situation: 1, proposals: [{ type: 2, proposalNumber: 1, protocolId: 3, spi: h("c0000010"), transforms: [
      { type: 3, transformNumber: 1, transformId: 12, attributes: [...espAttrValues] }] }] },
    { type: 10, data: h(rep("22", 16)) },
    { type: 4, keyData: h(rep("33", 32)) },
    { type: 5, idType: 4, protocolId: 0, port: 0, data: h("0a000000ffffff00") },
    { type: 5, idType: 4, protocolId: 0, port: 0, data: h("0a010000ffffff00") },
    { type: 21, idType: 1, address: h("0a000002") },
    { type: 21, idType: 1, address: h("c0000205") },
  ],
});

export const VALUE_CASES: readonly ValueCase[] = cases;
