/**
 * The part of sodium-native 5 (no bundled typings) that the crypto layer uses: libsodium's guarded
 * heap (sodium_malloc: guard pages, canary, mlock), page protection, wiping, constant-time
 * comparison, and SHA-256 (the responder cookie's HMAC, src/ike/cookies.ts).
 */
declare module "sodium-native" {
  /** A Buffer over guarded, locked memory; detached (length 0) after sodium_free. */
  export function sodium_malloc(size: number): Buffer & { secure: true };
  /** Wipes (libsodium zeroes on free) and releases it; every view becomes length 0. */
  export function sodium_free(buf: Buffer): void;
  export function sodium_mprotect_noaccess(buf: Buffer): void;
  export function sodium_mprotect_readonly(buf: Buffer): void;
  export function sodium_mprotect_readwrite(buf: Buffer): void;
  export function sodium_memzero(buf: ArrayBufferView): void;
  /** Constant-time equality of two views of the same length. */
  export function sodium_memcmp(a: ArrayBufferView, b: ArrayBufferView): boolean;
  export function sodium_is_zero(buf: ArrayBufferView): boolean;
  /** SHA-256 of `input` into `out` (32 bytes). */
  export function crypto_hash_sha256(out: Buffer, input: Buffer): void;
}
