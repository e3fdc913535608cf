/**
 * IKEv1 key derivation checked against an independent implementation: strongSwan 5.9.8.
 *
 * Each fixture test/fixtures/crypto/strongswan-*.json was recorded by
 * test/tools/record-kdf-vectors.ts from a real strongSwan initiator talking to a strongSwan
 * responder on loopback. Where each value comes from:
 *   - packets: the captured datagrams (dumpcap). Cookies (ISAKMP header), SAi_b (MM1/AM1 SA
 *     payload body), g^xi/g^xr (MM3/MM4 or AM1/AM2 KE bodies), Ni_b/Nr_b (Nonce bodies) and, in
 *     Aggressive Mode, IDii_b/IDir_b and HASH_R (AM1/AM2) are taken from them here; the encrypted messages are decrypted here with our own keys, and the HASH
 *     payloads inside are strongSwan's HASH_I/HASH_R, HASH(1..3) and Informational HASH(1).
 *   - log.initiator / log.responder: charon's --log-level 4 byte dumps (`NAME => N bytes`): the
 *     DH secret g^xy (our only input that is not on the wire), SKEYID, SKEYID_d/a/e, Ka, the
 *     initial IV, HASH_I/HASH_R and their input data, Hash(1..3), the Quick Mode DH secret and SA
 *     seeds, and "next IV for MID m" after each message.
 *   - sas: the SAs charon installed (spi, keys) from the fake XFRM log (xfrm.log).
 * Our derivation must reproduce every one of these values.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ProtocolId } from "../../src/codec/index.js";
import { cipherByName, hashByName, keymatLength, type IpsecProtocolId } from "../../src/crypto/algorithms.js";
import * as kdf from "../../src/crypto/kdf.js";
import { Phase1Keymat, phase1Suite, type Phase1Exchange } from "../../src/crypto/keymat.js";
import { SecureBuffer } from "../../src/crypto/secure.js";

interface Fixture {
  case: string;
  description: string;
  options: string[];
  psk: string;
  packets: { from: "initiator" | "responder"; hex: string }[];
  log: { initiator: Record<string, string[]>; responder: Record<string, string[]> };
  sas: Record<string, string>[];
}

const fixtureDir = fileURLToPath(new URL("../../../test/fixtures/crypto/", import.meta.url));
const fixtures: Fixture[] = readdirSync(fixtureDir)
  .filter((f) => f.startsWith("strongswan-") && f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(fixtureDir + f, "utf8")) as Fixture);

const hex = (s: string): Buffer => Buffer.from(s, "hex");
const opt = (f: Fixture, name: string): string | undefined => {
  const i = f.options.indexOf(name);
  return i < 0 ? undefined : f.options[i + 1];
};
/** The single (or n-th) logged block of this name. */
function logged(f: Fixture, side: "initiator" | "responder", name: string, n = 0): Buffer {
  const v = f.log[side][name]?.[n];
  assert.ok(v !== undefined, `${f.case}: ${side} log has no "${name}" #${n}`);
  return hex(v);
}

const Payload = { Sa: 1, Ke: 4, Id: 5, Sig: 9, Hash: 8, Nonce: 10 } as const;

interface Packet {
  from: "initiator" | "responder";
  bytes: Buffer;
  icookie: Buffer;
  rcookie: Buffer;
  nextPayload: number;
  exchange: number;
  encrypted: boolean;
  messageId: number;
  body: Buffer;
}

function parsePacket(p: { from: "initiator" | "responder"; hex: string }): Packet {
  // charon sends from a port other than 500 with the 4-byte non-ESP marker (RFC 3948 section 2.2)
  // in front, as on port 4500; an ISAKMP initiator cookie is never zero, so a zero prefix is that.
  const raw = hex(p.hex);
  const bytes = raw.readUInt32BE(0) === 0 ? raw.subarray(4) : raw;
  assert.equal(bytes.readUInt32BE(24), bytes.length, "ISAKMP length = datagram length");
  return {
    from: p.from,
    bytes,
    icookie: bytes.subarray(0, 8),
    rcookie: bytes.subarray(8, 16),
    nextPayload: bytes[16] ?? 0,
    exchange: bytes[18] ?? 0,
    encrypted: ((bytes[19] ?? 0) & 1) === 1,
    messageId: bytes.readUInt32BE(20),
    body: bytes.subarray(28),
  };
}

interface Pl {
  type: number;
  body: Buffer;
  start: number;
  end: number;
}

/** Walks a payload chain (generic headers: next, reserved, length); stops at next = 0. */
function walk(first: number, data: Buffer): { list: Pl[]; chainEnd: number } {
  const list: Pl[] = [];
  let type = first;
  let off = 0;
  while (type !== 0) {
    assert.ok(off + 4 <= data.length, "payload header in bounds");
    const len = data.readUInt16BE(off + 2);
    assert.ok(len >= 4 && off + len <= data.length, "payload length in bounds");
    list.push({ type, body: data.subarray(off + 4, off + len), start: off, end: off + len });
    type = data[off] ?? 0;
    off += len;
  }
  return { list, chainEnd: off };
}
function only(list: Pl[], type: number): Pl {
  const found = list.filter((p) => p.type === type);
  assert.equal(found.length, 1, `exactly one payload of type ${type}`);
  return found[0] as Pl;
}

for (const f of fixtures) {
  describe(`strongSwan ${f.case}: ${f.description}`, () => {
    // A retransmission repeats an earlier datagram byte for byte; it is not a new message.
    const packets = f.packets.filter((p, n) => f.packets.findIndex((q) => q.hex === p.hex) === n).map(parsePacket);
    const cipherOpt = opt(f, "--cipher") ?? "";
    const m = /^([a-z0-9]+?)(128|192|256)?$/.exec(cipherOpt);
    const cipher = cipherByName(m?.[1] ?? "");
    const h = hashByName(opt(f, "--hash") ?? "");
    assert.ok(cipher && h, `${f.case}: known algorithms`);
    const suite = phase1Suite(cipher.id, m?.[2] ? Number(m[2]) : undefined, h.id);
    const sig = opt(f, "--auth") === "rsa";

    // Main Mode: MM1 [SA], MM3/MM4 [KE, No], MM5/MM6 encrypted [ID, HASH|SIG]. Aggressive Mode:
    // AM1 [SA, KE, No, ID], AM2 [SA, KE, No, ID, HASH_R], AM3 encrypted [HASH_I].
    const aggressive = opt(f, "--mode") === "aggressive";
    const p1 = packets.filter((p) => p.exchange === (aggressive ? 4 : 2));
    const [first, , keI, keR] = aggressive ? [p1[0], undefined, p1[0], p1[1]] : p1;
    assert.ok(first && keI && keR && p1.length === (aggressive ? 3 : 6), "all Phase 1 messages");
    const keIp = walk(keI.nextPayload, keI.body).list;
    const keRp = walk(keR.nextPayload, keR.body).list;
    const x: Phase1Exchange = {
      icookie: keR.icookie,
      rcookie: keR.rcookie,
      nonceI: only(keIp, Payload.Nonce).body,
      nonceR: only(keRp, Payload.Nonce).body,
      gxi: only(keIp, Payload.Ke).body,
      gxr: only(keRp, Payload.Ke).body,
    };
    const saiB = only(walk(first.nextPayload, first.body).list, Payload.Sa).body;
    // g^xy: strongSwan's DH result (gmp/openssl plugin), the one input that is not on the wire.
    const gxy = logged(f, "initiator", "shared Diffie Hellman secret");

    it("both strongSwan peers logged the same g^xy, SKEYID* and Ka", () => {
      for (const name of ["shared Diffie Hellman secret", "SKEYID", "SKEYID_d", "SKEYID_a", "SKEYID_e", "encryption key Ka", "initial IV"]) {
        assert.deepEqual(logged(f, "responder", name), logged(f, "initiator", name), name);
      }
    });

    it("kdf.ts reproduces SKEYID, SKEYID_d/a/e, Ka and the Phase 1 IV (charon log)", () => {
      const skeyid = sig ? kdf.skeyidSig(h, x.nonceI, x.nonceR, gxy) : kdf.skeyidPsk(h, Buffer.from(f.psk), x.nonceI, x.nonceR);
      assert.equal(skeyid.toString("hex"), logged(f, "initiator", "SKEYID").toString("hex"));
      const c = kdf.skeyidChildren(h, skeyid, gxy, x.icookie, x.rcookie);
      assert.equal(c.skeyidD.toString("hex"), logged(f, "initiator", "SKEYID_d").toString("hex"));
      assert.equal(c.skeyidA.toString("hex"), logged(f, "initiator", "SKEYID_a").toString("hex"));
      assert.equal(c.skeyidE.toString("hex"), logged(f, "initiator", "SKEYID_e").toString("hex"));
      const ka = kdf.expandKa(h, c.skeyidE, suite.keyBits / 8);
      assert.equal(ka.toString("hex"), logged(f, "initiator", "encryption key Ka").toString("hex"));
      const iv = kdf.phase1Iv(h, x.gxi, x.gxr, suite.cipher.blockSize);
      assert.equal(iv.toString("hex"), logged(f, "initiator", "initial IV").toString("hex"));
    });

    it("Phase1Keymat decrypts every message, reproduces every HASH, IV and KEYMAT", () => {
      const km = new Phase1Keymat(suite);
      const gxyCopy = Buffer.from(gxy);
      if (sig) km.deriveFromSig(x, gxyCopy);
      else km.deriveFromPsk(x, gxyCopy, Buffer.from(f.psk));
      assert.ok(gxyCopy.every((b) => b === 0), "the holder wiped the g^xy buffer it took over");
      const ivLog = (mid: number): string[] => f.log.initiator[`next IV for MID ${mid}`] ?? [];
      const open = (p: Packet) => {
        const r = km.decrypt(p.messageId, p.body);
        assert.ok(r.ok);
        const chain = walk(p.nextPayload, r.plaintext);
        assert.ok(r.plaintext.length - chain.chainEnd >= 1, "at least one pad byte");
        return { r, ...chain, plaintext: r.plaintext };
      };

      // HASH_I data = g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b; HASH_R data the mirror.
      const checkHashI = (idiiB: Buffer, payload: Pl | undefined) => {
        assert.deepEqual(logged(f, "initiator", "HASH_I data"), Buffer.concat([x.gxi, x.gxr, x.icookie, x.rcookie, saiB, idiiB]));
        assert.equal(km.hashI(saiB, idiiB).toString("hex"), logged(f, "initiator", "HASH_I").toString("hex"));
        if (payload) assert.ok(km.verifyHashI(payload.body, saiB, idiiB), "HASH_I payload");
      };
      const checkHashR = (idirB: Buffer, payload: Pl | undefined) => {
        assert.deepEqual(logged(f, "initiator", "HASH_R data"), Buffer.concat([x.gxr, x.gxi, x.rcookie, x.icookie, saiB, idirB]));
        assert.equal(km.hashR(saiB, idirB).toString("hex"), logged(f, "initiator", "HASH_R").toString("hex"));
        if (payload) assert.ok(km.verifyHashR(payload.body, saiB, idirB), "HASH_R payload");
      };
      if (aggressive) {
        const am1 = walk(keI.nextPayload, keI.body).list;
        const am2 = walk(keR.nextPayload, keR.body).list;
        checkHashR(only(am2, Payload.Id).body, only(am2, Payload.Hash));
        const am3 = open(p1[2]!);
        checkHashI(only(am1, Payload.Id).body, only(am3.list, Payload.Hash));
        am3.r.commit();
        assert.equal(km.currentIv(0).toString("hex"), ivLog(0)[0], "IV after AM3");
      } else {
        const m5 = open(p1[4]!);
        checkHashI(only(m5.list, Payload.Id).body, sig ? undefined : only(m5.list, Payload.Hash));
        m5.r.commit();
        assert.equal(km.currentIv(0).toString("hex"), ivLog(0)[0], "IV after MM5");
        const m6 = open(p1[5]!);
        checkHashR(only(m6.list, Payload.Id).body, sig ? undefined : only(m6.list, Payload.Hash));
        m6.r.commit();
        assert.equal(km.currentIv(0).toString("hex"), ivLog(0)[1], "IV after MM6");
      }

      // Quick Mode: HASH(1), HASH(2), HASH(3); IV chain initial, after QM1, QM2, QM3.
      const qm = packets.filter((p) => p.exchange === 32);
      const [qm1, qm2, qm3] = qm;
      assert.ok(qm1 && qm2 && qm3 && qm.length === 3, "three Quick Mode messages");
      const mid = qm1.messageId;
      assert.equal(km.currentIv(mid).toString("hex"), ivLog(mid)[0], "Quick Mode IV = hash(last Phase 1 block | M-ID)");
      const q1 = open(qm1);
      const hash1 = only(q1.list, Payload.Hash);
      const rest1 = q1.plaintext.subarray(hash1.end, q1.chainEnd);
      assert.equal(km.quickModeHash1(mid, rest1).toString("hex"), logged(f, "initiator", "Hash(1)").toString("hex"));
      assert.ok(km.verifyHash(hash1.body, km.quickModeHash1(mid, rest1)));
      const nonceI = only(q1.list, Payload.Nonce).body;
      q1.r.commit();
      assert.equal(km.currentIv(mid).toString("hex"), ivLog(mid)[1]);
      const q2 = open(qm2);
      const hash2 = only(q2.list, Payload.Hash);
      const rest2 = q2.plaintext.subarray(hash2.end, q2.chainEnd);
      assert.equal(km.quickModeHash2(mid, nonceI, rest2).toString("hex"), logged(f, "initiator", "Hash(2)").toString("hex"));
      assert.ok(km.verifyHash(hash2.body, km.quickModeHash2(mid, nonceI, rest2)));
      const nonceR = only(q2.list, Payload.Nonce).body;
      q2.r.commit();
      assert.equal(km.currentIv(mid).toString("hex"), ivLog(mid)[2]);
      const q3 = open(qm3);
      assert.equal(km.quickModeHash3(mid, nonceI, nonceR).toString("hex"), logged(f, "initiator", "Hash(3)").toString("hex"));
      assert.ok(km.verifyHash(only(q3.list, Payload.Hash).body, km.quickModeHash3(mid, nonceI, nonceR)));
      q3.r.commit();
      assert.equal(km.currentIv(mid).toString("hex"), ivLog(mid)[3]);
      km.endExchange(mid);

      // KEYMAT for every SA charon installed (xfrm.log), with the Quick Mode DH secret under PFS.
      const pfs = opt(f, "--pfs") !== "none";
      const gqm = pfs ? SecureBuffer.copyOf(logged(f, "initiator", "DH secret")) : undefined;
      const ah = opt(f, "--ah");
      const protocol: IpsecProtocolId = ah ? ProtocolId.IPSEC_AH : ProtocolId.IPSEC_ESP;
      const expectedLength = phase2Length(ah ?? opt(f, "--esp") ?? "", protocol);
      // The seed strongSwan logged: [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b, SPI = initiator's inbound.
      const seed = logged(f, "initiator", "initiator SA seed");
      assert.deepEqual(seed.subarray(seed.length - nonceI.length - nonceR.length), Buffer.concat([nonceI, nonceR]));
      assert.equal(seed[seed.length - nonceI.length - nonceR.length - 5], protocol);
      assert.equal(f.sas.length, 2);
      for (const sa of f.sas) {
        const want = (sa.enc_key === "-" ? "" : sa.enc_key ?? "") + (sa.auth_key === "-" ? "" : sa.auth_key ?? "");
        assert.equal(want.length / 2, expectedLength, "registry KEYMAT length matches what charon installed");
        const spi = Number(sa.spi);
        const out = km.keymat(protocol, spi, nonceI, nonceR, gqm, expectedLength);
        assert.equal(out.use((b) => b.toString("hex")), want, `KEYMAT for SPI ${sa.spi}`);
        out.destroy();
      }
      gqm?.destroy();

      // Informational exchanges (DELETEs on stop): IV from the M-ID, HASH(1) over [D].
      const infos = packets.filter((p) => p.exchange === 5 && p.encrypted);
      assert.ok(infos.length >= 1, "encrypted Informational messages");
      const loggedInfoHashes = (f.log.initiator.Hash ?? []).concat(f.log.responder.Hash ?? []);
      for (const p of infos) {
        assert.equal(km.currentIv(p.messageId).toString("hex"), ivLog(p.messageId)[0], "Informational IV");
        const i = open(p);
        const hp = only(i.list, Payload.Hash);
        const expect = km.informationalHash(p.messageId, i.plaintext.subarray(hp.end, i.chainEnd));
        assert.ok(km.verifyHash(hp.body, expect), "Informational HASH(1)");
        assert.ok(loggedInfoHashes.includes(expect.toString("hex")));
        i.r.commit();
        km.endExchange(p.messageId);
      }
      km.destroy();
    });
  });
}

/** KEYMAT length from the registry for a strongSwan ESP ("aes256-sha1") or AH ("sha1") proposal. */
function phase2Length(proposal: string, protocol: IpsecProtocolId): number {
  const auth: Record<string, [number, number]> = { md5: [1, 2], sha1: [2, 3], sha256: [5, 5], sha384: [6, 6], sha512: [7, 7] };
  if (protocol === ProtocolId.IPSEC_AH) {
    const a = auth[proposal];
    assert.ok(a);
    const l = keymatLength(protocol, a[1], undefined, undefined);
    assert.ok(l);
    return l.total;
  }
  const mm = /^(3des|des|aes(128|192|256))-(\w+)$/.exec(proposal);
  assert.ok(mm, proposal);
  const transform = mm[1] === "3des" ? 3 : mm[1] === "des" ? 2 : 12;
  const a = auth[mm[3] ?? ""];
  assert.ok(a);
  const l = keymatLength(protocol, transform, mm[2] ? Number(mm[2]) : undefined, a[0]);
  assert.ok(l);
  return l.total;
}
