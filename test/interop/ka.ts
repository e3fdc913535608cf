/**
 * Phase 1 encryption keys (Ka) for a capture, so `capture.sh check --keys` can decrypt and check
 * the inner payloads of exchanges with a peer that logs no keys we can read (Libreswan).
 *
 * The engine never hands Ka out (its Keymat has no getters), so the test derives it again on its
 * own: our DH private values come from a recording DH port given to the engine host, and the rest
 * is public in the capture. RFC 2409 section 5: SKEYID = prf(PSK, Ni_b | Nr_b); SKEYID_d/a/e from
 * g^xy and the cookies; Ka per appendix B. If Wireshark then decrypts the peer's messages cleanly,
 * both sides (and this re-derivation) agree on the keys.
 */
import { createHash } from "node:crypto";
import { ExchangeType, PayloadType, decodeMessage } from "../../src/codec/index.js";
import { dhAgree } from "../../src/crypto/dh.js";
import { expandKa, skeyidChildren, skeyidPsk } from "../../src/crypto/kdf.js";
import { phase1Suite, type Phase1Suite } from "../../src/crypto/phase1-suite.js";
import type { DhPort } from "../../src/ike/ports.js";
import { deterministicDh } from "../helpers/dh.js";
import { readPcapFile } from "../helpers/pcap.js";

/** A DH port with reproducible private values that remembers them by public value. */
export class RecordingDh implements DhPort {
  private readonly privates = new Map<string, { group: number; privateValue: Buffer }>();
  private readonly inner: DhPort;
  /** How many times the engine asked for a key pair and for g^xy (duplicate packets must add none). */
  readonly calls = { generate: 0, agree: 0 };

  constructor(label: string) {
    this.inner = deterministicDh((group, n) => {
      const x = createHash("sha256").update(`${label}-${group}-${n}`).digest();
      x[0] = x[0]! | 0x80;
      return x;
    });
  }

  async dhGenerate(group: number): ReturnType<DhPort["dhGenerate"]> {
    this.calls.generate++;
    const r = await this.inner.dhGenerate(group);
    // Copied: the engine's key holder takes the returned buffer and wipes it.
    if (r.ok) this.privates.set(Buffer.from(r.value.publicValue).toString("hex"), { group, privateValue: Buffer.from(r.value.privateValue) });
    return r;
  }

  dhAgree(group: number, privateValue: Uint8Array, peerPublic: Uint8Array): ReturnType<DhPort["dhAgree"]> {
    this.calls.agree++;
    return this.inner.dhAgree(group, privateValue, peerPublic);
  }

  /** Our private value for a public value we sent, if we made it. */
  privateFor(publicValue: Buffer): { group: number; privateValue: Buffer } | undefined {
    return this.privates.get(publicValue.toString("hex"));
  }
}

interface Seen {
  initiator?: string;
  rcookie?: Buffer;
  ke: { from: string; data: Buffer }[];
  nonce: { from: string; data: Buffer }[];
}

/**
 * `icookie_hex,Ka_hex` lines for every Main or Aggressive Mode exchange in `pcap` in which we (per
 * `dh`) sent a KE payload, all negotiated with `suite` and pre-shared key `psk`.
 */
export function kaLines(pcap: string, o: { readonly psk: string; readonly suite: Phase1Suite; readonly dh: Pick<RecordingDh, "privateFor"> }): string[] {
  const byCookie = new Map<string, Seen>();
  for (const d of readPcapFile(pcap).datagrams) {
    // A non-ESP marker precedes IKE on ports other than 500; no ISAKMP message starts with zeros.
    const b = d.payload.length > 4 && d.payload.readUInt32BE(0) === 0 ? d.payload.subarray(4) : d.payload;
    const m = decodeMessage(b);
    if (!m.ok || m.value.kind !== "plain" || m.value.header.messageId !== 0) continue;
    const h = m.value.header;
    if (h.exchangeType !== ExchangeType.IdentityProtection && h.exchangeType !== ExchangeType.Aggressive) continue;
    const key = h.icookie.toString("hex");
    const from = `${d.src}:${d.sport}`;
    const seen = byCookie.get(key) ?? { ke: [], nonce: [] };
    byCookie.set(key, seen);
    seen.initiator ??= from;
    if (!h.rcookie.equals(Buffer.alloc(8))) seen.rcookie ??= Buffer.from(h.rcookie);
    for (const p of m.value.payloads) {
      if (p.type === PayloadType.KE && !seen.ke.some((k) => k.from === from)) seen.ke.push({ from, data: Buffer.from(p.keyData) });
      if (p.type === PayloadType.NONCE && !seen.nonce.some((n) => n.from === from)) seen.nonce.push({ from, data: Buffer.from(p.data) });
    }
  }
  const lines: string[] = [];
  for (const [icookie, s] of byCookie) {
    const gxi = s.ke.find((k) => k.from === s.initiator);
    const gxr = s.ke.find((k) => k.from !== s.initiator);
    const ni = s.nonce.find((n) => n.from === s.initiator);
    const nr = s.nonce.find((n) => n.from !== s.initiator);
    if (!gxi || !gxr || !ni || !nr || !s.rcookie) continue;
    const mine = o.dh.privateFor(gxi.data) ?? o.dh.privateFor(gxr.data);
    if (mine === undefined) continue;
    const theirs = o.dh.privateFor(gxi.data) ? gxr.data : gxi.data;
    const gxy = dhAgree(mine.group, mine.privateValue, theirs);
    if (!gxy.ok) continue;
    const h = o.suite.hash;
    const skeyid = skeyidPsk(h, Buffer.from(o.psk), ni.data, nr.data);
    const { skeyidE } = skeyidChildren(h, skeyid, gxy.value, Buffer.from(icookie, "hex"), s.rcookie);
    lines.push(`${icookie},${expandKa(h, skeyidE, o.suite.keyBits / 8).toString("hex")}`);
  }
  return lines;
}

/** The suite for the harness's cipher and hash names (RFC 2409 appendix A numbers). */
export function suiteByName(cipher: string, hashName: string): Phase1Suite {
  const encr: Record<string, [number, number | undefined]> = { des: [1, undefined], "3des": [5, undefined], blowfish: [3, 128], aes128: [7, 128], aes256: [7, 256] };
  const hash: Record<string, number> = { md5: 1, sha1: 2, sha256: 4 };
  const e = encr[cipher];
  const h = hash[hashName];
  if (e === undefined || h === undefined) throw new Error(`no suite for ${cipher}/${hashName}`);
  return phase1Suite(e[0], e[1], h);
}
