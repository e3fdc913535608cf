/**
 * IKEv1 key derivation, RFC 2409 section 5 (Phase 1 SKEYID and its children, HASH_I/HASH_R),
 * section 5.5 (Quick Mode HASH(1..3) and KEYMAT), section 5.7 (Informational HASH(1)) and
 * appendix B (key expansion, IVs). Pure functions over byte arrays; `keymat.ts` wraps them so that
 * the results live in secure memory.
 *
 *   SKEYID    = prf(pre-shared-key, Ni_b | Nr_b)                  pre-shared keys
 *             = prf(Ni_b | Nr_b, g^xy)                             signatures
 *             = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)              public key encryption
 *   SKEYID_d  = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 *   SKEYID_a  = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 *   SKEYID_e  = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 *   Ka        = K1 | K2 | ...,  K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)   (if SKEYID_e is short)
 *   IV        = hash(g^xi | g^xr)            Phase 1;   hash(last Phase 1 CBC block | M-ID)  Phase 2
 *   HASH_I    = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
 *   HASH_R    = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
 *   HASH(1)   = prf(SKEYID_a, M-ID | rest of message after HASH)        Quick Mode, Informational
 *   HASH(2)   = prf(SKEYID_a, M-ID | Ni_b | rest of message after HASH)
 *   HASH(3)   = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
 *   KEYMAT    = K1 | K2 | ...,  K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
 *               Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
 *
 * Nonces (Ni_b, Nr_b) are the Nonce payload bodies; SAi_b is the initiator's SA payload body and
 * IDii_b/IDir_b the ID payload bodies, all without generic headers. "rest of message" includes the
 * generic headers of the payloads after HASH and no padding. g^xy is the shared secret as a
 * big-endian number left-padded to the modulus length.
 *
 * Intermediate digests are wiped (fill(0)) as soon as they are copied to the output.
 */
import type { HashInfo } from "./algorithms.js";
import { hash, prf } from "./prf.js";

const ZERO = Uint8Array.of(0);
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);

/**
 * A 32-bit message ID as the 4 big-endian bytes that enter the hashes. From Node's shared pool
 * (every byte written): a `Buffer.alloc` this small lives inside the JS heap, and the native prf
 * and hash (native-primitives.ts) would first have to give it a backing store of its own (~0.25 us
 * per value; a negotiation hashes about ten such values). Public bytes, dropped after the call.
 */
export function messageIdBytes(messageId: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(messageId >>> 0, 0);
  return b;
}

/** One byte (KEYMAT's protocol), from the shared pool like `messageIdBytes`. */
function byteOf(value: number): Buffer {
  const b = Buffer.allocUnsafe(1);
  b[0] = value;
  return b;
}

/** SKEYID for pre-shared key authentication. */
export function skeyidPsk(h: HashInfo, psk: Uint8Array, nonceI: Uint8Array, nonceR: Uint8Array): Buffer {
  return prf(h, psk, nonceI, nonceR);
}

/** SKEYID for signature authentication (DSS, RSA, ECDSA). */
export function skeyidSig(h: HashInfo, nonceI: Uint8Array, nonceR: Uint8Array, gxy: Uint8Array): Buffer {
  const key = Buffer.concat([nonceI, nonceR]);
  return prf(h, key, gxy);
}

/** SKEYID for public key encryption authentication (RFC 2409 sections 5.2 and 5.3). */
export function skeyidPkEnc(
  h: HashInfo,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  icookie: Uint8Array,
  rcookie: Uint8Array,
): Buffer {
  const key = hash(h, nonceI, nonceR);
  try {
    return prf(h, key, icookie, rcookie);
  } finally {
    key.fill(0);
  }
}

/** SKEYID_d, SKEYID_a and SKEYID_e from SKEYID. */
export interface SkeyidChildren {
  readonly skeyidD: Buffer;
  readonly skeyidA: Buffer;
  readonly skeyidE: Buffer;
}

/** Derives SKEYID_d, SKEYID_a and SKEYID_e. */
export function skeyidChildren(
  h: HashInfo,
  skeyid: Uint8Array,
  gxy: Uint8Array,
  icookie: Uint8Array,
  rcookie: Uint8Array,
): SkeyidChildren {
  const skeyidD = prf(h, skeyid, gxy, icookie, rcookie, ZERO);
  const skeyidA = prf(h, skeyid, skeyidD, gxy, icookie, rcookie, ONE);
  const skeyidE = prf(h, skeyid, skeyidA, gxy, icookie, rcookie, TWO);
  return { skeyidD, skeyidA, skeyidE };
}

/**
 * The Phase 1 encryption key Ka of `length` bytes (appendix B): the first bytes of SKEYID_e, or
 * when SKEYID_e is shorter, K1 | K2 | ... with K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1).
 * Written into `out` (e.g. secure memory) when given.
 */
export function expandKa(h: HashInfo, skeyidE: Uint8Array, length: number, out: Buffer = Buffer.alloc(length)): Buffer {
  const ka = out.subarray(0, length);
  if (skeyidE.length >= length) {
    ka.set(skeyidE.subarray(0, length));
    return ka;
  }
  let previous: Uint8Array = ZERO;
  for (let off = 0; off < length; off += h.outputLength) {
    const k = prf(h, skeyidE, previous);
    ka.set(k.subarray(0, Math.min(k.length, length - off)), off);
    k.fill(0);
    previous = ka.subarray(off, off + h.outputLength);
  }
  return ka;
}

/** The Phase 1 IV: hash(g^xi | g^xr) truncated to the block size. */
export function phase1Iv(h: HashInfo, gxi: Uint8Array, gxr: Uint8Array, blockSize: number): Buffer {
  return hash(h, gxi, gxr).subarray(0, blockSize);
}

/** The first IV of a Phase 2 or Informational exchange: hash(last Phase 1 block | M-ID) truncated. */
export function phase2Iv(h: HashInfo, lastPhase1Block: Uint8Array, messageId: number, blockSize: number): Buffer {
  return hash(h, lastPhase1Block, messageIdBytes(messageId)).subarray(0, blockSize);
}

/** HASH_I. */
export function hashI(
  h: HashInfo,
  skeyid: Uint8Array,
  gxi: Uint8Array,
  gxr: Uint8Array,
  icookie: Uint8Array,
  rcookie: Uint8Array,
  saiB: Uint8Array,
  idiiB: Uint8Array,
): Buffer {
  return prf(h, skeyid, gxi, gxr, icookie, rcookie, saiB, idiiB);
}

/** HASH_R (the mirror of HASH_I; SAi_b is still the initiator's SA body). */
export function hashR(
  h: HashInfo,
  skeyid: Uint8Array,
  gxi: Uint8Array,
  gxr: Uint8Array,
  icookie: Uint8Array,
  rcookie: Uint8Array,
  saiB: Uint8Array,
  idirB: Uint8Array,
): Buffer {
  return prf(h, skeyid, gxr, gxi, rcookie, icookie, saiB, idirB);
}

/** Quick Mode HASH(1), also Informational HASH(1): prf(SKEYID_a, M-ID | rest). */
export function quickModeHash1(h: HashInfo, skeyidA: Uint8Array, messageId: number, rest: Uint8Array): Buffer {
  return prf(h, skeyidA, messageIdBytes(messageId), rest);
}

/** Quick Mode HASH(2): prf(SKEYID_a, M-ID | Ni_b | rest). */
export function quickModeHash2(
  h: HashInfo,
  skeyidA: Uint8Array,
  messageId: number,
  nonceI: Uint8Array,
  rest: Uint8Array,
): Buffer {
  return prf(h, skeyidA, messageIdBytes(messageId), nonceI, rest);
}

/** Quick Mode HASH(3): prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
export function quickModeHash3(
  h: HashInfo,
  skeyidA: Uint8Array,
  messageId: number,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
): Buffer {
  return prf(h, skeyidA, ZERO, messageIdBytes(messageId), nonceI, nonceR);
}

/** Informational HASH(1) (RFC 2409 section 5.7): prf(SKEYID_a, M-ID | N/D payloads). */
export const informationalHash = quickModeHash1;

/** The SPI as it enters KEYMAT: the bytes of the SPI field (a number becomes 4 big-endian bytes). */
export function spiBytes(spi: number | Uint8Array): Uint8Array {
  return typeof spi === "number" ? messageIdBytes(spi) : spi;
}

/**
 * KEYMAT for one IPsec SA (section 5.5), `length` bytes, expanded with Kn = prf(SKEYID_d, Kn-1 |
 * seed). `gqmxy` is the Quick Mode DH secret with PFS, undefined without. `spi` is the SPI of the
 * SA being keyed (the one its receiver chose). Written into `out` when given.
 */
export function keymat(
  h: HashInfo,
  skeyidD: Uint8Array,
  protocol: number,
  spi: number | Uint8Array,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  gqmxy: Uint8Array | undefined,
  length: number,
  out: Buffer = Buffer.alloc(length),
): Buffer {
  const km = out.subarray(0, length);
  const seed: Uint8Array[] = [];
  if (gqmxy) seed.push(gqmxy);
  seed.push(byteOf(protocol), spiBytes(spi), nonceI, nonceR);
  let previous: Uint8Array | undefined;
  for (let off = 0; off < length; off += h.outputLength) {
    const k = previous ? prf(h, skeyidD, previous, ...seed) : prf(h, skeyidD, ...seed);
    km.set(k.subarray(0, Math.min(k.length, length - off)), off);
    k.fill(0);
    previous = km.subarray(off, off + h.outputLength);
  }
  return km;
}
