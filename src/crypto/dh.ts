/**
 * Oakley MODP Diffie-Hellman groups for IKEv1 phase 1 and PFS.
 *
 * RFC 2409 §6.1 (group 1, 768-bit) and §6.2 (group 2, 1024-bit); RFC 3526 §2 (group 5, 1536-bit),
 * §3 (group 14, 2048-bit), §4 (group 15, 3072-bit), §5 (group 16, 4096-bit). All use generator 2.
 *
 * KE payload data is g^x mod p as a big-endian integer left-padded to the prime's length (RFC 2409
 * §5: the public value "MUST be the length of the negotiated Diffie-Hellman group enforced, if
 * necessary, by pre-pending the value with zeros"); g^xy is padded the same way before SKEYID.
 *
 * Speed: a private exponent of twice the group's strength in bits (RFC 3526 §8) costs a fraction of
 * a full-length one and is what makes DH cheap. The fastest path measured on Node 20
 * (bench/crypto/dh.bench.ts) is one `DiffieHellman` object per group per thread, built once (building
 * one checks the prime: ~30 ms for groups 1 and 2), reused with `setPrivateKey()` for every exchange.
 *
 * Secrets: every call sets its own private value and, before it returns, overwrites it with zero
 * in the cached object (OpenSSL's DH_set0_key clears the old exponent with BN_clear_free), so no
 * exponent stays in a long-lived object between exchanges. A g^xy that had to be left-padded is
 * wiped in its unpadded form. Private values and g^xy returned to the caller are the caller's to
 * wipe (the worker does; Phase1Keymat does for what it takes over).
 */
import { createDiffieHellman, randomBytes, type DiffieHellman } from "node:crypto";
import { groupById, type GroupId } from "./algorithms.js";

/** Oakley group numbers this module implements (IKEv1 "Group Description" values; algorithms.ts). */
export type DhGroupId = GroupId;

/** A MODP group: prime, generator and the private exponent length chosen for it. */
export interface DhGroup {
  readonly id: DhGroupId;
  /** Name for logs, e.g. "modp2048". */
  readonly name: string;
  readonly primeBits: number;
  /** Length of KE payload data and of g^xy. */
  readonly primeBytes: number;
  /** Estimated symmetric strength in bits (from algorithms.ts: NIST SP 800-57, RFC 3526 §8). */
  readonly strengthBits: number;
  /** Private exponent length in bits: twice the strength, never under 160. */
  readonly privateBits: number;
  readonly prime: Buffer;
  readonly generator: 2;
}

/** Prime hex digits as printed in RFC 2409 §6 and RFC 3526. */
const PRIME_HEX: Record<DhGroupId, string[]> = {
  1: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF",
    ],
  2: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    ],
  5: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
      "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF",
    ],
  14: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
      "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
      "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
      "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    ],
  15: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
      "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
      "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
      "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
      "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
      "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    ],
  16: [
      "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
      "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
      "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
      "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
      "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
      "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7",
      "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6",
      "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9",
      "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF",
    ],
};

/**
 * Private exponent length per group: twice the strength algorithms.ts estimates, rounded up to whole
 * bytes, and never under 160 bits (the classic floor for 768 and 1024: anything shorter would become
 * the weak point even for these groups).
 */
const PRIVATE_BITS: Record<DhGroupId, number> = { 1: 160, 2: 160, 5: 184, 14: 224, 15: 256, 16: 304 };

function makeGroup(id: DhGroupId): DhGroup {
  const prime = Buffer.from(PRIME_HEX[id].join(""), "hex");
  return Object.freeze({
    id,
    name: `modp${prime.length * 8}`,
    primeBits: prime.length * 8,
    primeBytes: prime.length,
    strengthBits: groupById(id)?.strength ?? 0,
    privateBits: PRIVATE_BITS[id],
    prime,
    generator: 2 as const,
  });
}

/** The groups by Oakley number. */
export const DhGroups: Readonly<Record<DhGroupId, DhGroup>> = Object.freeze({
  1: makeGroup(1),
  2: makeGroup(2),
  5: makeGroup(5),
  14: makeGroup(14),
  15: makeGroup(15),
  16: makeGroup(16),
});

/** True when `id` is a group this module implements. */
export function isDhGroupId(id: number): id is DhGroupId {
  return Object.prototype.hasOwnProperty.call(DhGroups, id);
}

/** Stable codes for DH failures; none carries key material. */
export type DhErrorCode =
  | "IKE_ERR_DH_GROUP"
  | "IKE_ERR_DH_PUBLIC_LENGTH"
  | "IKE_ERR_DH_PUBLIC_RANGE"
  | "IKE_ERR_DH_PRIVATE";

/** A rejected DH input. `expected`/`actual` are lengths in bytes when the length was wrong. */
export interface DhError {
  readonly code: DhErrorCode;
  readonly message: string;
  readonly group: number;
  readonly expected?: number;
  readonly actual?: number;
}

/** Success or a typed error; peer values never make this module throw. */
export type DhResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DhError };

/** A fresh key pair. `privateValue` is secret: the caller keeps it in the SA's Keymat. */
export interface DhKeyPair {
  /** g^x mod p, left-padded to the prime length (KE payload data). */
  readonly publicValue: Buffer;
  /** x, `privateBits` long, big-endian. */
  readonly privateValue: Buffer;
}

/** Per-thread DH objects; building one runs OpenSSL's prime check, so it happens once per group. */
const engines = new Map<DhGroupId, DiffieHellman>();
/** p - 1 and 1 as fixed-length big-endian buffers, for range checks by byte comparison. */
const bounds = new Map<DhGroupId, { pMinus1: Buffer; one: Buffer }>();

/** The exponent a cached object is left with between calls: zero. */
const NO_PRIVATE = Buffer.alloc(1);

/**
 * Runs `fn` with the group's cached object holding private value `x`, then clears the exponent
 * again, also when `fn` throws.
 */
function withPrivate<T>(group: DhGroup, x: Uint8Array, fn: (dh: DiffieHellman) => T): T {
  const dh = engine(group);
  dh.setPrivateKey(x);
  try {
    return fn(dh);
  } finally {
    dh.setPrivateKey(NO_PRIVATE);
  }
}

function engine(group: DhGroup): DiffieHellman {
  let dh = engines.get(group.id);
  if (dh === undefined) {
    dh = createDiffieHellman(group.prime, group.generator);
    engines.set(group.id, dh);
  }
  return dh;
}

function boundsOf(group: DhGroup): { pMinus1: Buffer; one: Buffer } {
  let b = bounds.get(group.id);
  if (b === undefined) {
    const pMinus1 = Buffer.from(group.prime);
    // The primes end in 0xFF..., so subtracting 1 never borrows.
    pMinus1[pMinus1.length - 1] = pMinus1[pMinus1.length - 1]! - 1;
    const one = Buffer.alloc(group.primeBytes);
    one[one.length - 1] = 1;
    b = { pMinus1, one };
    bounds.set(group.id, b);
  }
  return b;
}

/** Build every group's DH object now, so the first exchange does not pay the prime check. */
export function warmDh(ids: readonly DhGroupId[] = [1, 2, 5, 14, 15, 16]): void {
  for (const id of ids) engine(DhGroups[id]);
}

function err(group: number, code: DhErrorCode, message: string, expected?: number, actual?: number): { ok: false; error: DhError } {
  return { ok: false, error: { code, message, group, ...(expected === undefined ? {} : { expected, actual }) } };
}

function lookup(groupId: number): DhResult<DhGroup> {
  if (!isDhGroupId(groupId)) return err(groupId, "IKE_ERR_DH_GROUP", `unsupported DH group ${groupId}`);
  return { ok: true, value: DhGroups[groupId] };
}

/**
 * Check a peer's public value: exactly the prime's length (left-padded) and 1 < y < p-1. y = 0, 1 and
 * p-1 would force g^xy into {0, 1, p-1}, values an attacker knows (small-subgroup confinement).
 * Returns undefined when the value is acceptable.
 */
export function validateDhPublic(groupId: number, y: Uint8Array): DhError | undefined {
  const g = lookup(groupId);
  if (!g.ok) return g.error;
  const group = g.value;
  if (y.length !== group.primeBytes) {
    return err(group.id, "IKE_ERR_DH_PUBLIC_LENGTH", `DH public value is ${y.length} bytes, group ${group.id} needs ${group.primeBytes}`, group.primeBytes, y.length).error;
  }
  const { pMinus1, one } = boundsOf(group);
  // Same length, big-endian: byte order equals numeric order.
  const v = Buffer.from(y.buffer, y.byteOffset, y.byteLength);
  if (Buffer.compare(v, one) <= 0 || Buffer.compare(v, pMinus1) >= 0) {
    return err(group.id, "IKE_ERR_DH_PUBLIC_RANGE", `DH public value outside 1 < y < p-1 for group ${group.id}`).error;
  }
  return undefined;
}

function checkPrivate(group: DhGroup, x: Uint8Array): DhError | undefined {
  // Our own exponents are privateBits long; a caller-supplied one must at least be non-trivial and
  // shorter than p, or g^x would leak or wrap.
  if (x.length === 0 || x.length > group.primeBytes || x.every((b) => b === 0)) {
    return err(group.id, "IKE_ERR_DH_PRIVATE", `DH private value unusable for group ${group.id}`).error;
  }
  // A view, not Buffer.from(x): that would copy the private value into Node's shared pool.
  if (x.length === group.primeBytes && Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), boundsOf(group).pMinus1) >= 0) {
    return err(group.id, "IKE_ERR_DH_PRIVATE", `DH private value unusable for group ${group.id}`).error;
  }
  return undefined;
}

function leftPad(value: Buffer, length: number): Buffer {
  if (value.length === length) return value;
  const out = Buffer.alloc(length);
  value.copy(out, length - value.length);
  return out;
}

/** g^xy left-padded; the unpadded value OpenSSL gave is wiped when a padded copy replaces it. */
function paddedSecret(raw: Buffer, length: number): Buffer {
  const out = leftPad(raw, length);
  if (out !== raw) raw.fill(0);
  return out;
}

/** A fresh random private exponent of exactly `privateBits` bits (top bit set). */
export function dhRandomPrivate(groupId: DhGroupId): Buffer {
  const x = randomBytes(DhGroups[groupId].privateBits / 8);
  x[0] = x[0]! | 0x80;
  return x;
}

/** g^x mod p for a given private value, left-padded. Used by dhGenerate and by deterministic tests. */
export function dhPublicFromPrivate(groupId: number, privateValue: Uint8Array): DhResult<Buffer> {
  const g = lookup(groupId);
  if (!g.ok) return g;
  const bad = checkPrivate(g.value, privateValue);
  if (bad) return { ok: false, error: bad };
  // generateKeys() keeps a private key that is already set and recomputes g^x from it.
  return { ok: true, value: withPrivate(g.value, privateValue, (dh) => leftPad(dh.generateKeys(), g.value.primeBytes)) };
}

/** A fresh key pair for `groupId`. */
export function dhGenerate(groupId: number): DhResult<DhKeyPair> {
  const g = lookup(groupId);
  if (!g.ok) return g;
  const privateValue = dhRandomPrivate(g.value.id);
  const pub = dhPublicFromPrivate(g.value.id, privateValue);
  if (!pub.ok) return pub;
  return { ok: true, value: { publicValue: pub.value, privateValue } };
}

/** g^xy mod p, left-padded to the prime length, after validating the peer's value. */
export function dhAgree(groupId: number, privateValue: Uint8Array, peerPublic: Uint8Array): DhResult<Buffer> {
  const g = lookup(groupId);
  if (!g.ok) return g;
  const badPeer = validateDhPublic(g.value.id, peerPublic);
  if (badPeer) return { ok: false, error: badPeer };
  const badPriv = checkPrivate(g.value, privateValue);
  if (badPriv) return { ok: false, error: badPriv };
  return { ok: true, value: withPrivate(g.value, privateValue, (dh) => paddedSecret(dh.computeSecret(peerPublic), g.value.primeBytes)) };
}

/** Our public value and the shared secret from one combined operation (the responder's DH). */
export interface DhExchange {
  /** g^x mod p, left-padded (KE payload data). */
  readonly publicValue: Buffer;
  /** g^xy mod p, left-padded; secret: the caller moves it into secure memory and wipes this copy. */
  readonly sharedSecret: Buffer;
}

/**
 * The responder's DH in one step: validate the peer's g^y, pick x, answer g^x and g^xy. x is made,
 * used and wiped here, so it never leaves the thread that runs this (a pool worker). The peer value
 * is checked before any exponentiation, so a bad one costs nothing. `privateValue` is for
 * deterministic tests only; a value passed in is left as it is.
 */
export function dhGenerateAndAgree(groupId: number, peerPublic: Uint8Array, privateValue?: Uint8Array): DhResult<DhExchange> {
  const g = lookup(groupId);
  if (!g.ok) return g;
  const badPeer = validateDhPublic(g.value.id, peerPublic);
  if (badPeer) return { ok: false, error: badPeer };
  const x = privateValue ?? dhRandomPrivate(g.value.id);
  try {
    const badPriv = checkPrivate(g.value, x);
    if (badPriv) return { ok: false, error: badPriv };
    const value = withPrivate(g.value, x, (dh) => ({
      publicValue: leftPad(dh.generateKeys(), g.value.primeBytes),
      sharedSecret: paddedSecret(dh.computeSecret(peerPublic), g.value.primeBytes),
    }));
    return { ok: true, value };
  } finally {
    if (privateValue === undefined) x.fill(0);
  }
}
