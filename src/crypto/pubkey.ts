/**
 * Public-key operations for IKEv1 phase 1 authentication.
 *
 * RFC 2409 §5.1 (signatures): SIG_I is a signature over HASH_I itself, not over a digest of it.
 *  - RSA: PKCS#1 v1.5 type-1 padding of the raw HASH_I with no DigestInfo (what IKEv1 peers such as
 *    strongSwan, Libreswan and Solaris send). `privateEncrypt(RSA_PKCS1_PADDING)` produces exactly
 *    that, and `publicDecrypt` recovers HASH_I for comparison.
 *  - DSS: a DSA signature over the 20-byte SHA-1 HASH_I as given, sent as r|s (40 bytes). Node
 *    always digests before DSA, so this runs in the native addon.
 * RFC 2409 §5.2/§5.3 (auth methods 4 and 5, "public key encryption"): nonces and IDs are encrypted
 * with the peer's RSA public key, PKCS#1 v1.5 type 2. Encryption is `publicEncrypt`; decryption runs
 * in the native addon with implicit rejection, so a bad padding is indistinguishable from a wrong
 * plaintext (native/src/rsa-decrypt.c says why and how).
 *
 * Failures are values with stable codes; no message carries key material or plaintext.
 */
import {
  X509Certificate,
  constants,
  createPrivateKey,
  createPublicKey,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { tryLoadNative, type NativeAddon, type NativeKeyHandle } from "../../native/index.js";

/** Key algorithms IKEv1 signatures and encryption use here. */
export type PubkeyType = "rsa" | "dsa";

/** Stable failure codes. */
export type PubkeyErrorCode =
  | "IKE_ERR_PUBKEY_DECODE"
  | "IKE_ERR_PUBKEY_TYPE"
  | "IKE_ERR_PUBKEY_NATIVE"
  | "IKE_ERR_PUBKEY_INPUT"
  | "IKE_ERR_PUBKEY_OPERATION";

/** A failed public-key operation. */
export interface PubkeyError {
  readonly code: PubkeyErrorCode;
  readonly message: string;
}

/** Success or a typed error. */
export type PubkeyResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PubkeyError };

/** A loaded private key. Holds a node:crypto KeyObject and, once needed, a native handle. */
export interface PrivateKeyRef {
  readonly kind: "private";
  readonly type: PubkeyType;
  /** Modulus (RSA) or p (DSA) length in bits. */
  readonly bits: number;
  readonly key: KeyObject;
}

/** A loaded public key (from SPKI, PKCS#1 or an X.509 certificate). */
export interface PublicKeyRef {
  readonly kind: "public";
  readonly type: PubkeyType;
  readonly bits: number;
  readonly key: KeyObject;
}

/** Key material as it arrives: PEM text, DER bytes, or an existing KeyObject. */
export type KeyInput = string | Uint8Array | KeyObject;

const natives = new WeakMap<KeyObject, NativeKeyHandle>();

function fail(code: PubkeyErrorCode, message: string): { ok: false; error: PubkeyError } {
  return { ok: false, error: { code, message } };
}

function isKeyObject(v: KeyInput): v is KeyObject {
  return typeof v === "object" && !(v instanceof Uint8Array);
}

function describe(key: KeyObject, kind: "private" | "public"): PubkeyResult<{ type: PubkeyType; bits: number }> {
  const type = key.asymmetricKeyType;
  if (type !== "rsa" && type !== "dsa") return fail("IKE_ERR_PUBKEY_TYPE", `unsupported ${kind} key type ${type ?? "unknown"}`);
  // modulusLength is n's size for RSA and p's for DSA.
  return { ok: true, value: { type, bits: key.asymmetricKeyDetails?.modulusLength ?? 0 } };
}

function firstOf<T>(attempts: Array<() => T>): T | undefined {
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch {
      // Each attempt is one encoding guess; the caller reports when none fits.
    }
  }
  return undefined;
}

/** Load a private key from PEM, PKCS#8 DER or PKCS#1 (RSA) DER. */
export function loadPrivateKey(input: KeyInput): PubkeyResult<PrivateKeyRef> {
  let key: KeyObject | undefined;
  if (isKeyObject(input)) key = input.type === "private" ? input : undefined;
  else if (typeof input === "string") key = firstOf([() => createPrivateKey(input)]);
  else {
    const der = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    key = firstOf([
      () => createPrivateKey({ key: der, format: "der", type: "pkcs8" }),
      () => createPrivateKey({ key: der, format: "der", type: "pkcs1" }),
      () => createPrivateKey(der),
    ]);
  }
  if (key === undefined) return fail("IKE_ERR_PUBKEY_DECODE", "private key does not decode");
  const d = describe(key, "private");
  if (!d.ok) return d;
  return { ok: true, value: { kind: "private", ...d.value, key } };
}

/** Load a public key from PEM/DER SubjectPublicKeyInfo, PKCS#1 RSA DER, or an X.509 certificate. */
export function loadPublicKey(input: KeyInput): PubkeyResult<PublicKeyRef> {
  let key: KeyObject | undefined;
  if (isKeyObject(input)) key = input.type === "public" ? input : input.type === "private" ? createPublicKey(input) : undefined;
  else if (typeof input === "string") {
    key = firstOf([() => createPublicKey(input), () => new X509Certificate(input).publicKey]);
  } else {
    const der = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    key = firstOf([
      () => createPublicKey({ key: der, format: "der", type: "spki" }),
      () => createPublicKey({ key: der, format: "der", type: "pkcs1" }),
      () => new X509Certificate(der).publicKey,
    ]);
  }
  if (key === undefined) return fail("IKE_ERR_PUBKEY_DECODE", "public key does not decode");
  const d = describe(key, "public");
  if (!d.ok) return d;
  return { ok: true, value: { kind: "public", ...d.value, key } };
}

function nativeHandle(ref: PrivateKeyRef | PublicKeyRef): PubkeyResult<{ addon: NativeAddon; handle: NativeKeyHandle }> {
  const addon = tryLoadNative();
  if (addon === undefined) {
    return fail("IKE_ERR_PUBKEY_NATIVE", "native addon missing; build it with 'npm run build:native'");
  }
  let handle = natives.get(ref.key);
  if (handle === undefined) {
    try {
      handle =
        ref.kind === "private"
          ? addon.loadPrivateKey(ref.key.export({ type: "pkcs8", format: "der" }))
          : addon.loadPublicKey(ref.key.export({ type: "spki", format: "der" }));
    } catch {
      return fail("IKE_ERR_PUBKEY_DECODE", `native addon cannot load this ${ref.type} key`);
    }
    natives.set(ref.key, handle);
  }
  return { ok: true, value: { addon, handle } };
}

/** Sign HASH_I/HASH_R: RSA PKCS#1 type 1 without DigestInfo, or DSA r|s over the raw hash. */
export function sign(ref: PrivateKeyRef, hash: Uint8Array): PubkeyResult<Buffer> {
  if (ref.type === "rsa") {
    // Type-1 padding needs at least 11 bytes of overhead.
    if (hash.length === 0 || hash.length > ref.bits / 8 - 11) return fail("IKE_ERR_PUBKEY_INPUT", "hash length does not fit the RSA key");
    try {
      return { ok: true, value: privateEncrypt({ key: ref.key, padding: constants.RSA_PKCS1_PADDING }, hash) };
    } catch {
      return fail("IKE_ERR_PUBKEY_OPERATION", "RSA signing failed");
    }
  }
  const n = nativeHandle(ref);
  if (!n.ok) return n;
  try {
    return { ok: true, value: n.value.addon.dsaSign(n.value.handle, hash) };
  } catch {
    return fail("IKE_ERR_PUBKEY_OPERATION", "DSA signing failed");
  }
}

/** Verify a signature made by `sign`. Any malformed signature is simply invalid. */
export function verify(ref: PublicKeyRef, hash: Uint8Array, signature: Uint8Array): PubkeyResult<boolean> {
  if (ref.type === "rsa") {
    // RFC 8017 §8.2.2 step 1: a signature is exactly k octets long, k the modulus length. OpenSSL
    // pads a short one with leading zeros, which would accept a signature missing its 0x00 head.
    if (signature.length !== Math.ceil(ref.bits / 8)) return { ok: true, value: false };
    let recovered: Buffer;
    try {
      recovered = publicDecrypt({ key: ref.key, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      // Wrong length, wrong padding or out of range: all mean "not a signature by this key".
      return { ok: true, value: false };
    }
    return { ok: true, value: recovered.length === hash.length && timingSafeEqual(recovered, hash) };
  }
  const n = nativeHandle(ref);
  if (!n.ok) return n;
  try {
    return { ok: true, value: n.value.addon.dsaVerify(n.value.handle, hash, signature) };
  } catch {
    return fail("IKE_ERR_PUBKEY_OPERATION", "DSA verification failed");
  }
}

/** Encrypt for the peer (auth methods 4 and 5): RSA PKCS#1 v1.5 type 2. */
export function encrypt(ref: PublicKeyRef, plaintext: Uint8Array): PubkeyResult<Buffer> {
  if (ref.type !== "rsa") return fail("IKE_ERR_PUBKEY_TYPE", "public-key encryption needs an RSA key");
  if (plaintext.length > ref.bits / 8 - 11) return fail("IKE_ERR_PUBKEY_INPUT", "plaintext too long for the RSA key");
  try {
    return { ok: true, value: publicEncrypt({ key: ref.key, padding: constants.RSA_PKCS1_PADDING }, plaintext) };
  } catch {
    return fail("IKE_ERR_PUBKEY_OPERATION", "RSA encryption failed");
  }
}

/**
 * Decrypt a peer's RSA PKCS#1 v1.5 ciphertext with implicit rejection: a bad padding gives a
 * pseudo-random plaintext, never an error, so the caller's hash check is the only verdict. Errors
 * come only from public facts (key type, a ciphertext longer than or not below the modulus).
 */
export function decrypt(ref: PrivateKeyRef, ciphertext: Uint8Array): PubkeyResult<Buffer> {
  if (ref.type !== "rsa") return fail("IKE_ERR_PUBKEY_TYPE", "public-key decryption needs an RSA key");
  const n = nativeHandle(ref);
  if (!n.ok) return n;
  try {
    return { ok: true, value: n.value.addon.rsaDecryptPkcs1(n.value.handle, ciphertext) };
  } catch {
    return fail("IKE_ERR_PUBKEY_INPUT", "ciphertext does not fit the RSA modulus");
  }
}
