/**
 * Loader for the iked native addon (native/build/Release/iked_native.node).
 *
 * The addon holds the few calls Node.js lacks. If it is missing, `loadNative()` throws an error that
 * names the build command; callers that can run without it (tests, the CLI) use `tryLoadNative()`.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/**
 * An OpenSSL key held by the addon (an N-API external, type-tagged). It belongs to the thread that
 * loaded it and cannot be posted to another worker; the garbage collector frees it.
 */
export interface NativeKeyHandle {
  readonly __nativeKey: unique symbol;
}

/** What `keyInfo()` reports about a handle. */
export interface NativeKeyInfo {
  readonly type: "rsa" | "dsa" | "other";
  /** Modulus (RSA) or prime p (DSA) length in bits. */
  readonly bits: number;
  /** Maximum signature/ciphertext length in bytes as OpenSSL reports it. */
  readonly bytes: number;
}

/**
 * Functions the addon exports. Key and argument errors throw an Error whose `code` is a stable
 * `IKE_ERR_*` string; src/crypto/pubkey.ts turns them into values.
 */
export interface NativeAddon {
  /** PR_SET_DUMPABLE 0 and RLIMIT_CORE 0; true on success. */
  disableCoreDumps(): boolean;
  /** PKCS#8 (or traditional) private key DER to a handle. */
  loadPrivateKey(der: Uint8Array): NativeKeyHandle;
  /** SubjectPublicKeyInfo DER to a handle. */
  loadPublicKey(der: Uint8Array): NativeKeyHandle;
  keyInfo(key: NativeKeyHandle): NativeKeyInfo;
  /** DSA signature over `digest` as given (no hashing), as r|s each padded to the length of q. */
  dsaSign(key: NativeKeyHandle, digest: Uint8Array): Buffer;
  /** True when r|s is a valid DSA signature over the raw `digest`. */
  dsaVerify(key: NativeKeyHandle, digest: Uint8Array, rs: Uint8Array): boolean;
  /**
   * RSA PKCS#1 v1.5 type-2 decryption with implicit rejection: a ciphertext with bad padding yields a
   * deterministic pseudo-random message instead of an error (see native/src/rsa-decrypt.c).
   */
  rsaDecryptPkcs1(key: NativeKeyHandle, ciphertext: Uint8Array): Buffer;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Resolved both from the source tree (native/) and the build tree (dist/native/). */
const candidates = [
  path.resolve(here, "build/Release/iked_native.node"),
  path.resolve(here, "../../native/build/Release/iked_native.node"),
];

let cached: NativeAddon | undefined;

/** Load the addon or throw an error naming the build command. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(`iked native addon not found; build it with 'npm run build:native' (${errors.join("; ")})`);
}

/** The addon, or undefined when it is not built. */
export function tryLoadNative(): NativeAddon | undefined {
  try {
    return loadNative();
  } catch {
    // Absence is reported by loadNative() to callers that require the addon.
    return undefined;
  }
}
