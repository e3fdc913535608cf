/**
 * Wireshark agreement: messages built by our encoder, together using every ISAKMP payload type
 * (SA/Proposal/Transform with TV and TLV attributes, KE, ID of several types, CERT, CR, HASH,
 * SIG, NONCE, N incl. RESPONDER-LIFETIME and DPD, D with several SPIs, VID, NAT-D, NAT-OA,
 * Attribute) under Main, Aggressive, Quick, Informational and Transaction headers, are written
 * unencrypted to a pcap and dissected by tshark through `capture.sh check --strict`: no
 * malformed packet, no expert error or warning, and the payload list tshark sees in each
 * message is the one we encoded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { checkPcap, interopSkip, repoRoot } from "../helpers/interop.js";
import { writePcapFile, type UdpDatagram } from "../helpers/pcap.js";
import {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  ExchangeType,
  IdType,
  Notify,
  PayloadType,
  ProtocolId,
  type HeaderInit,
  type Payload,
} from "../../src/codec/index.js";

const icookie = Buffer.from("0f1e2d3c4b5a6978", "hex");
const rcookie = Buffer.from("8877665544332211", "hex");
const cookies = Buffer.concat([icookie, rcookie]);
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const tv = (type: number, value: number) => ({ format: "tv" as const, type, value });
const tlv = (type: number, value: Buffer) => ({ format: "tlv" as const, type, value });
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** A real certificate and CA name, taken from the recorded strongSwan RSA exchange. */
function realCertAndAuthority(): { cert: Buffer; authority: Buffer } {
  const fx = JSON.parse(readFileSync(path.join(repoRoot(), "test/fixtures/packets/mm-rsa-aes128-sha1-g14.json"), "utf8")) as {
    packets: { hex: string; plaintextHex?: string }[];
  };
  const mm5 = fx.packets[4]!;
  const h = decodeMessage(Buffer.from(mm5.hex, "hex"));
  assert.ok(h.ok);
  const r = decodePayloads(h.value.header.nextPayload, Buffer.from(mm5.plaintextHex ?? "", "hex"), { padded: true });
  assert.ok(r.ok);
  const cert = r.value.find((p) => p.type === PayloadType.CERT);
  const cr = r.value.find((p) => p.type === PayloadType.CR);
  assert.ok(cert?.type === PayloadType.CERT && cr?.type === PayloadType.CR);
  return { cert: cert.data, authority: cr.authority };
}

function isakmpSa(): Payload {
  return {
    type: PayloadType.SA,
    doi: 1,
    situation: 1,
    proposals: [
      {
        type: PayloadType.Proposal,
        proposalNumber: 1,
        protocolId: ProtocolId.ISAKMP,
        spi: Buffer.alloc(0),
        transforms: [
          // AES-128/SHA-256/MODP-2048/PSK, lifetime as a 4-byte TLV (values over 0xffff must be).
          { type: PayloadType.Transform, transformNumber: 1, transformId: 1, attributes: [tv(1, 7), tv(14, 128), tv(2, 4), tv(4, 14), tv(3, 1), tv(11, 1), tlv(12, u32(86400))] },
          { type: PayloadType.Transform, transformNumber: 2, transformId: 1, attributes: [tv(1, 5), tv(2, 2), tv(4, 2), tv(3, 3), tv(11, 1), tv(12, 28800)] },
        ],
      },
    ],
  };
}

function ipsecSa(pfs: boolean): Payload {
  return {
    type: PayloadType.SA,
    doi: 1,
    situation: 1,
    proposals: [
      {
        type: PayloadType.Proposal,
        proposalNumber: 1,
        protocolId: ProtocolId.IPSEC_ESP,
        spi: Buffer.from("c1a2b3c4", "hex"),
        transforms: [
          {
            type: PayloadType.Transform,
            transformNumber: 1,
            transformId: 12,
            attributes: [tv(6, 128), tv(5, 2), ...(pfs ? [tv(3, 14)] : []), tv(4, 1), tv(1, 1), tlv(2, u32(3600)), tv(1, 2), tlv(2, u32(4_608_000))],
          },
        ],
      },
      {
        type: PayloadType.Proposal,
        proposalNumber: 2,
        protocolId: ProtocolId.IPSEC_AH,
        spi: Buffer.from("c5d6e7f8", "hex"),
        transforms: [{ type: PayloadType.Transform, transformNumber: 1, transformId: 3, attributes: [tv(5, 2), tv(4, 2), tv(1, 1), tv(2, 3600)] }],
      },
    ],
  };
}

const id = (idType: number, data: Buffer, protocolId = 0, port = 0): Payload => ({ type: PayloadType.ID, idType, protocolId, port, data });
const hash = (seed: number): Payload => ({ type: PayloadType.HASH, data: bytes(20, seed) });
const nonce = (seed: number): Payload => ({ type: PayloadType.NONCE, data: bytes(32, seed) });
const ke = (seed: number): Payload => ({ type: PayloadType.KE, keyData: bytes(256, seed) });
const vid = (hex: string): Payload => ({ type: PayloadType.VID, data: Buffer.from(hex, "hex") });
const natd = (seed: number): Payload => ({ type: PayloadType.NATD, hash: bytes(20, seed) });
const notify = (notifyType: number, protocolId: number, spi: Buffer, data = Buffer.alloc(0)): Payload => ({
  type: PayloadType.N,
  doi: 1,
  protocolId,
  notifyType,
  spi,
  data,
});

interface Built {
  header: HeaderInit;
  payloads: Payload[];
  /** Expected tshark notify labels in order (pcapcheck's names). */
  notifies?: string[];
}

function messages(): Built[] {
  const { cert, authority } = realCertAndAuthority();
  const h = (exchangeType: number, messageId: number, r = rcookie): HeaderInit => ({ icookie, rcookie: r, exchangeType, flags: 0, messageId });
  const mm = ExchangeType.IdentityProtection;
  const qm = ExchangeType.QuickMode;
  const info = ExchangeType.Informational;
  const v6 = Buffer.from("20010db8000000000000000000000001", "hex");
  const lifeAttrs = Buffer.concat([Buffer.from("80010001", "hex"), Buffer.from("00020004", "hex"), u32(1800)]);
  return [
    { header: h(mm, 0, Buffer.alloc(8)), payloads: [isakmpSa(), vid("afcad71368a1f1c96b8696fc77570100"), vid("4a131c81070358455c5728f20e95452f")] },
    { header: h(mm, 0), payloads: [ke(1), nonce(2), natd(3), natd(4)] },
    { header: h(mm, 0), payloads: [ke(5), nonce(6), { type: PayloadType.CR, encoding: 4, authority }, natd(7), natd(8)] },
    {
      header: h(mm, 0),
      payloads: [
        id(IdType.ID_IPV4_ADDR, Buffer.from([127, 0, 1, 2]), 17, 500),
        { type: PayloadType.CERT, encoding: 4, data: cert },
        { type: PayloadType.SIG, data: bytes(256, 9) },
        { type: PayloadType.CR, encoding: 4, authority },
        notify(Notify.InitialContact, ProtocolId.ISAKMP, cookies),
      ],
      notifies: ["INITIAL-CONTACT"],
    },
    { header: h(mm, 0), payloads: [id(IdType.ID_FQDN, Buffer.from("responder.example")), hash(10)] },
    {
      header: h(ExchangeType.Aggressive, 0, Buffer.alloc(8)),
      payloads: [isakmpSa(), ke(11), nonce(12), id(IdType.ID_USER_FQDN, Buffer.from("alice@example.org")), vid("09002689dfd6b712")],
    },
    {
      header: h(ExchangeType.Aggressive, 0),
      payloads: [isakmpSa(), ke(13), nonce(14), id(IdType.ID_DER_ASN1_DN, authority), vid("09002689dfd6b712"), natd(15), natd(16), hash(17)],
    },
    { header: h(ExchangeType.Aggressive, 0), payloads: [hash(18), id(IdType.ID_KEY_ID, Buffer.from("0a0b0c0d", "hex"))] },
    {
      header: h(qm, 0x11223344),
      payloads: [
        hash(19),
        ipsecSa(true),
        nonce(20),
        ke(21),
        id(IdType.ID_IPV4_ADDR_SUBNET, Buffer.from("0a010000ffff0000", "hex")),
        id(IdType.ID_IPV6_ADDR, v6, 17, 4500),
        { type: PayloadType.NATOA, idType: IdType.ID_IPV4_ADDR, address: Buffer.from([192, 0, 2, 7]) },
        { type: PayloadType.NATOA, idType: IdType.ID_IPV6_ADDR, address: v6 },
      ],
    },
    {
      header: h(qm, 0x11223344),
      payloads: [
        hash(22),
        ipsecSa(false),
        nonce(23),
        id(IdType.ID_IPV4_ADDR_RANGE, Buffer.from([10, 1, 0, 1, 10, 1, 0, 99])),
        id(IdType.ID_IPV6_ADDR_SUBNET, Buffer.concat([v6, Buffer.from("ffffffffffffffff0000000000000000", "hex")])),
        notify(Notify.ResponderLifetime, ProtocolId.IPSEC_ESP, Buffer.from("c1a2b3c4", "hex"), lifeAttrs),
      ],
      notifies: ["RESPONDER-LIFETIME"],
    },
    { header: h(qm, 0x11223344), payloads: [hash(24)] },
    {
      header: h(info, 0x0badcafe),
      payloads: [hash(25), notify(Notify.RUThere, ProtocolId.ISAKMP, cookies, u32(7))],
      notifies: ["R-U-THERE"],
    },
    {
      header: h(info, 0x0badcaff),
      payloads: [hash(26), notify(Notify.RUThereAck, ProtocolId.ISAKMP, cookies, u32(7))],
      notifies: ["R-U-THERE-ACK"],
    },
    {
      header: h(info, 0x12345678),
      payloads: [hash(27), { type: PayloadType.D, doi: 1, protocolId: ProtocolId.IPSEC_ESP, spiSize: 4, spis: [u32(0xc1a2b3c4), u32(0xc0000101), u32(0xcfffff00)] }],
    },
    {
      header: h(info, 0x12345679),
      payloads: [hash(28), { type: PayloadType.D, doi: 1, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [cookies] }],
    },
    {
      header: h(ExchangeType.Transaction, 0x5a5a5a5a),
      payloads: [hash(29), { type: PayloadType.Attribute, cfgType: 1, identifier: 0x1234, attributes: [tlv(1, Buffer.alloc(0)), tlv(2, Buffer.alloc(0))] }],
    },
  ];
}

const SHORT: Record<number, string> = {
  1: "SA", 4: "KE", 5: "ID", 6: "CERT", 7: "CR", 8: "HASH", 9: "SIG", 10: "NONCE",
  11: "N", 12: "D", 13: "VID", 14: "ATTR", 20: "NAT-D", 21: "NAT-OA",
};

test("wireshark: the message set uses every payload type and round-trips through our codec", () => {
  const built = messages();
  const types = new Set(built.flatMap((m) => m.payloads.map((p) => p.type)));
  for (const t of [1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21]) assert.ok(types.has(t as Payload["type"]), `payload ${t} unused`);
  for (const m of built) {
    const wire = encodeMessage(m.header, m.payloads);
    const d = decodeMessage(wire);
    assert.ok(d.ok && d.value.kind === "plain", JSON.stringify(!d.ok && d.error));
    assert.deepEqual(encodePayloads(d.value.payloads), wire.subarray(28));
  }
});

test("wireshark: tshark dissects our encoder's messages cleanly (capture.sh check --strict)", { skip: interopSkip(), timeout: 120_000 }, async () => {
  const built = messages();
  const dir = mkdtempSync(path.join(tmpdir(), "iked-ws-"));
  try {
    const datagrams: UdpDatagram[] = built.map((m, i) => {
      const fromI = i % 2 === 0;
      return {
        time: 1_800_000_000 + i / 1000,
        src: fromI ? "127.0.1.2" : "127.0.1.1",
        sport: 500,
        dst: fromI ? "127.0.1.1" : "127.0.1.2",
        dport: 500,
        payload: encodeMessage(m.header, m.payloads),
      };
    });
    const pcap = path.join(dir, "encoder.pcap");
    writePcapFile(pcap, datagrams, { linkType: "ethernet" });
    const r = await checkPcap(pcap, { strict: true, expect: "main:5,aggressive:3,quick:3,info:4,transaction:1" });
    assert.ok(r.ok, `capture.sh check failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.result.packets, String(built.length));
    assert.equal(r.result.malformed, "0");
    assert.equal(r.result.errors, "0");
    assert.equal(r.result.warnings, "0");
    // Wireshark must see the same payload chain (and notify types) we encoded.
    const lines = r.stdout.split("\n").filter((l) => /^#\d+/.test(l));
    assert.equal(lines.length, built.length);
    lines.forEach((line, i) => {
      const m = built[i]!;
      const list = `[${m.payloads.map((p) => SHORT[p.type]).join(",")}]`;
      assert.ok(line.includes(list), `#${i + 1}: tshark saw ${line}, we sent ${list}`);
      if (m.notifies) assert.ok(line.includes(`{${m.notifies.join(",")}}`), `#${i + 1}: notifies in ${line}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
