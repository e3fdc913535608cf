/**
 * Record-time decryption of captured IKEv1 messages, for test/tools/record-fixtures.ts only.
 *
 * RFC 2409 §5 and Appendix B: Phase 1 messages are CBC-encrypted with Ka; the first IV is
 * hash(g^xi | g^xr) truncated to the block size (strongSwan logs it as "initial IV"), and each
 * later Phase 1 message uses the last ciphertext block of the previous encrypted one. A Phase 2
 * or Informational exchange starts from hash(last Phase 1 CBC block | M-ID) truncated, and then
 * chains within its M-ID the same way (what strongSwan's keymat_v1 does per message ID).
 *
 * The plaintext is checked by walking the generic payload headers (RFC 2408 §3.2) from the
 * header's Next Payload: the chain must end inside the body and leave at most one block of
 * padding. That catches a wrong key or IV without needing the codec.
 */
import { createDecipheriv, createHash } from "node:crypto";

/** Phase 1 cipher names as strongswan-peer.sh takes them, mapped to OpenSSL CBC ciphers. */
export const CIPHERS: Record<string, { openssl: string; blockSize: number }> = {
  des: { openssl: "des-cbc", blockSize: 8 },
  "3des": { openssl: "des-ede3-cbc", blockSize: 8 },
  aes128: { openssl: "aes-128-cbc", blockSize: 16 },
  aes192: { openssl: "aes-192-cbc", blockSize: 16 },
  aes256: { openssl: "aes-256-cbc", blockSize: 16 },
  blowfish: { openssl: "bf-cbc", blockSize: 8 },
  cast128: { openssl: "cast5-cbc", blockSize: 8 },
};

/** The ISAKMP fixed header fields the recorder needs (RFC 2408 §3.1). */
export interface IsakmpHeader {
  icookie: string;
  rcookie: string;
  nextPayload: number;
  exchangeType: number;
  flags: number;
  messageId: number;
  length: number;
}

/** Reads the 28-byte ISAKMP header; `undefined` if the datagram is too short. */
export function readHeader(msg: Buffer): IsakmpHeader | undefined {
  if (msg.length < 28) return undefined;
  return {
    icookie: msg.subarray(0, 8).toString("hex"),
    rcookie: msg.subarray(8, 16).toString("hex"),
    nextPayload: msg[16]!,
    exchangeType: msg[18]!,
    flags: msg[19]!,
    messageId: msg.readUInt32BE(20),
    length: msg.readUInt32BE(24),
  };
}

/**
 * Walks a decrypted payload chain; returns the payload type list, or a reason it is not a
 * well-formed chain followed by at most `maxPad` bytes.
 */
export function walkChain(body: Buffer, first: number, maxPad: number): { types: number[] } | { error: string } {
  const types: number[] = [];
  let np = first;
  let off = 0;
  while (np !== 0) {
    if (off + 4 > body.length) return { error: `payload ${np} header past end at ${off}` };
    const len = body.readUInt16BE(off + 2);
    if (len < 4 || off + len > body.length) return { error: `payload ${np} length ${len} at ${off}` };
    types.push(np);
    np = body[off]!;
    off += len;
  }
  const pad = body.length - off;
  if (pad > maxPad) return { error: `${pad} bytes after the payload chain` };
  return { types };
}

/** Keys of one IKE SA as strongswan-peer.sh keys prints them (hex). */
export interface SaKeys {
  encKey: string;
  initialIv: string;
  cipher: string;
  /** Hash of the negotiated PRF: md5, sha1, sha256, sha384, sha512. */
  hash: string;
}

/** One decrypted message. */
export interface Decrypted {
  plaintext: Buffer;
  payloadTypes: number[];
}

/**
 * Decrypts the encrypted messages of one IKE SA in capture order (retransmissions removed
 * first: a repeated ciphertext would advance the IV chain twice).
 */
export class SaDecryptor {
  private phase1Last: Buffer;
  private readonly perMid = new Map<number, Buffer>();
  private readonly cipher: { openssl: string; blockSize: number };
  private readonly key: Buffer;

  constructor(private readonly keys: SaKeys) {
    const c = CIPHERS[keys.cipher];
    if (!c) throw new Error(`no decryption for cipher ${keys.cipher}`);
    this.cipher = c;
    this.key = Buffer.from(keys.encKey, "hex");
    this.phase1Last = Buffer.from(keys.initialIv, "hex").subarray(0, c.blockSize);
  }

  /** Decrypts one whole ISAKMP message (header included) and advances the IV state. */
  decrypt(msg: Buffer): Decrypted | { error: string } {
    const h = readHeader(msg);
    if (!h) return { error: "short header" };
    const bs = this.cipher.blockSize;
    const ct = msg.subarray(28, Math.min(msg.length, h.length));
    if (ct.length === 0 || ct.length % bs !== 0) return { error: `ciphertext of ${ct.length} bytes` };
    let iv: Buffer;
    if (h.messageId === 0) iv = this.phase1Last;
    else {
      iv =
        this.perMid.get(h.messageId) ??
        createHash(this.keys.hash)
          .update(this.phase1Last)
          .update(msg.subarray(20, 24))
          .digest()
          .subarray(0, bs);
    }
    const d = createDecipheriv(this.cipher.openssl, this.key, iv);
    d.setAutoPadding(false);
    const plaintext = Buffer.concat([d.update(ct), d.final()]);
    const last = Buffer.from(ct.subarray(ct.length - bs));
    if (h.messageId === 0) this.phase1Last = last;
    else this.perMid.set(h.messageId, last);
    const walk = walkChain(plaintext, h.nextPayload, bs);
    if ("error" in walk) return { error: `message id ${h.messageId}: ${walk.error}` };
    return { plaintext, payloadTypes: walk.types };
  }
}
