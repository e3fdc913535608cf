/**
 * Phase 1 block ciphers in CBC mode through node:crypto (OpenSSL): DES, 3DES, Blowfish and AES
 * (RFC 2409 appendix A and section 5.3; AES per RFC 3602).
 *
 * DES and Blowfish live in OpenSSL 3's legacy provider, which Node loads only when started with
 * `--openssl-legacy-provider`; without it they fail with `IKE_ERR_CRYPTO_LEGACY_PROVIDER`. There is
 * no JavaScript fallback on purpose.
 *
 * IKE pads by itself (RFC 2409 appendix B leaves the padding contents open; we follow strongSwan:
 * zero bytes up to the block size, always at least one), so OpenSSL's PKCS#7 padding is off and
 * inputs must be whole blocks.
 *
 * Key bytes: OpenSSL copies the key into its cipher context (normal heap) for the duration of one
 * call; the context is cleansed when it is freed (EVP_CIPHER_CTX_free): before the call returns
 * when the native addon is built (native-primitives.ts, one call instead of a Cipheriv object),
 * else when Node collects the Cipheriv object.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { keyBitsAllowed, type CipherInfo } from "./algorithms.js";
import { CryptoError, CryptoErrorCode } from "./crypto-error.js";
import { checkTripleDesKey, isWeakDesKey } from "./des-keys.js";
import { nativeCbc, nativeCbcAvailable } from "./native-primitives.js";

let legacyLoaded: boolean | undefined;

/**
 * Whether OpenSSL's legacy provider is available (probed once by creating a DES context; the
 * probe key is a fixed public test value, not a secret).
 */
export function legacyProviderLoaded(): boolean {
  if (legacyLoaded === undefined) {
    try {
      createCipheriv("des-cbc", Buffer.from("133457799bbcdff1", "hex"), Buffer.alloc(8));
      legacyLoaded = true;
    } catch {
      // ERR_OSSL_EVP_UNSUPPORTED: the provider is not loaded; reported by requireLegacy().
      legacyLoaded = false;
    }
  }
  return legacyLoaded;
}

/** Whether this process can run `cipher` (false for DES/Blowfish without the legacy provider). */
export function cipherAvailable(cipher: CipherInfo): boolean {
  return !cipher.legacy || legacyProviderLoaded();
}

function requireLegacy(cipher: CipherInfo): void {
  if (cipher.legacy && !legacyProviderLoaded()) {
    throw new CryptoError(
      CryptoErrorCode.LegacyProvider,
      `${cipher.display} needs OpenSSL's legacy provider: start node with --openssl-legacy-provider`,
    );
  }
}

/**
 * Checks that `key` fits `cipher`: its length is an allowed key size, DES keys are not weak or
 * semi-weak, 3DES parts are neither weak nor repeated (no two equal). Throws `CryptoError` (codes
 * `IKE_ERR_CRYPTO_KEY_LENGTH`, `IKE_ERR_CRYPTO_WEAK_KEY`, `IKE_ERR_CRYPTO_DEGENERATE_3DES_KEY`).
 */
export function checkCipherKey(cipher: CipherInfo, key: Uint8Array): void {
  if (!keyBitsAllowed(cipher.keyBits, key.length * 8)) {
    throw new CryptoError(CryptoErrorCode.KeyLength, `${cipher.display} does not take a ${key.length * 8}-bit key`);
  }
  if (cipher.id === 1 && isWeakDesKey(key)) {
    throw new CryptoError(CryptoErrorCode.WeakKey, "DES key is weak or semi-weak (FIPS 74)");
  }
  if (cipher.id === 5) {
    const check = checkTripleDesKey(key);
    if (check === "weak") throw new CryptoError(CryptoErrorCode.WeakKey, "3DES key has a weak or semi-weak part (FIPS 74)");
    if (check === "degenerate") {
      throw new CryptoError(CryptoErrorCode.DegenerateKey, "3DES key parts repeat (K1 = K2, K2 = K3 or K1 = K3)");
    }
  }
}

function checkShapes(cipher: CipherInfo, iv: Uint8Array, data: Uint8Array): void {
  if (iv.length !== cipher.blockSize) {
    throw new CryptoError(CryptoErrorCode.BadInput, `${cipher.display} IV must be ${cipher.blockSize} bytes, got ${iv.length}`);
  }
  if (data.length % cipher.blockSize !== 0) {
    throw new CryptoError(
      CryptoErrorCode.BadInput,
      `${cipher.display} input must be whole ${cipher.blockSize}-byte blocks, got ${data.length} bytes`,
    );
  }
}

function run(encrypt: boolean, cipher: CipherInfo, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  requireLegacy(cipher);
  checkCipherKey(cipher, key);
  checkShapes(cipher, iv, data);
  const name = cipher.openssl(key.length * 8);
  if (nativeCbcAvailable()) {
    try {
      return nativeCbc(name, encrypt, key, iv, data);
    } catch (cause) {
      throw new CryptoError(CryptoErrorCode.Unsupported, `OpenSSL refused ${name}`, { cause });
    }
  }
  let ctx;
  try {
    ctx = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  } catch (cause) {
    throw new CryptoError(CryptoErrorCode.Unsupported, `OpenSSL refused ${name}`, { cause });
  }
  ctx.setAutoPadding(false);
  const head = ctx.update(data);
  const tail = ctx.final();
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}

/** CBC-encrypts whole blocks with `key` and `iv`, no padding. */
export function cbcEncrypt(cipher: CipherInfo, key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  return run(true, cipher, key, iv, plaintext);
}

/** CBC-decrypts whole blocks with `key` and `iv`, no padding. */
export function cbcDecrypt(cipher: CipherInfo, key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  return run(false, cipher, key, iv, ciphertext);
}

/**
 * The payload chain zero-padded for encryption: up to a multiple of `blockSize`, with at least one
 * pad byte (a full block when already aligned), as strongSwan sends it.
 */
export function padForEncryption(payloads: Uint8Array, blockSize: number): Buffer {
  const padded = Buffer.alloc(paddedLength(payloads.length, blockSize));
  padded.set(payloads, 0);
  return padded;
}

/** The length `padForEncryption` produces for `length` bytes. */
export function paddedLength(length: number, blockSize: number): number {
  return (Math.floor(length / blockSize) + 1) * blockSize;
}
