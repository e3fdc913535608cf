/**
 * Secrets in libsodium's guarded heap (sodium-native `sodium_malloc`): guard pages on both sides,
 * a canary, locked against swapping (mlock), wiped with `sodium_memzero` and released with
 * `sodium_free` on destroy(). While a `SecureBuffer` is idle its pages are `PROT_NONE`
 * (`sodium_mprotect_noaccess`), so a stray read of a dangling view faults instead of leaking.
 *
 * Decision on page protection, from bench/crypto/primitives.bench.ts (`npm run bench -- primitives`):
 * one unlock/lock pair costs about one HMAC-SHA1 over 100 bytes (3.8 us vs 3.7 us on the idle
 * 2-core VM; 11 us vs 11 us at load average 15). A Phase 1 makes about 20 keyed operations, so
 * protection adds roughly 80-250 us per SA, next to 2-6 ms of group 14 Diffie-Hellman (key
 * generation plus computeSecret) that every Phase 1 costs; on one established SA it doubles the
 * crypto time of a short message (96 bytes: 30 -> 56 us under load) but stays far below the cost
 * of handling the datagram. It stays on by default; `{ protect: false }` (SecureBuffer.alloc,
 * Phase1Keymat) turns it off per holder. The guarded allocation itself (sodium_malloc + mlock,
 * and munmap on release) costs more than the protection: ~25 us idle, ~130 us under load, which
 * is why a key holder makes one allocation for all of its secrets.
 *
 * Node's crypto API takes Buffers: a `SecureBuffer` hands its bytes to a callback (`use`) for the
 * duration of one synchronous call, never longer. OpenSSL copies HMAC and cipher keys into its own
 * contexts during that call and cleanses them when they are freed. Digest results come back in
 * normal Buffers; callers copy them into secure memory and wipe the normal copy at once.
 *
 * Each allocation costs at least three pages (one locked data page plus guard pages); a key
 * holder uses one allocation for all of its secrets. `{ pooled: true }` takes the bytes from a
 * shared slab of the same secure memory instead (secure-slab.ts): no mapping per secret and no
 * page protection. The IKE engine's SAs use it: in the handshake benchmark the guarded allocations
 * plus the unlock/lock pairs were ~15% of the responder's CPU time (bench/handshake/README.md).
 */
import { timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import { CryptoError, CryptoErrorCode } from "./crypto-error.js";
import { slabAllocate, slabRelease } from "./secure-slab.js";

// Loaded through require so that the CommonJS exports object is shared (tests observe sodium_free).
const sodium = createRequire(import.meta.url)("sodium-native") as typeof import("sodium-native");

/** Options of `SecureBuffer.alloc`. */
export interface SecureBufferOptions {
  /** Keep the pages inaccessible while idle (default true). */
  readonly protect?: boolean;
  /**
   * Carve the bytes from the shared secure slab (locked, zeroed on release, guard pages around each
   * 64 KiB arena) instead of a mapping of their own; pooled bytes cannot be page-protected, so
   * `protect` is ignored. Lengths above the largest slot get their own mapping, unprotected.
   */
  readonly pooled?: boolean;
}

/** Overwrites `buf` with zeros in a way the optimiser cannot drop. */
export function wipe(buf: ArrayBufferView): void {
  if (buf.byteLength > 0) sodium.sodium_memzero(buf);
}

/**
 * Constant-time equality for MACs and hashes (time depends on the length only, which is public).
 * Different lengths compare unequal.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A fixed-size secret in guarded memory. */
export class SecureBuffer {
  #bytes: Buffer | undefined;
  #depth = 0;
  readonly #protect: boolean;
  readonly #pooled: boolean;
  /** Number of bytes held. */
  readonly length: number;

  private constructor(length: number, options: SecureBufferOptions) {
    if (!Number.isInteger(length) || length < 0) {
      throw new CryptoError(CryptoErrorCode.BadInput, `bad secure buffer length ${length}`);
    }
    this.length = length;
    const pooled = options.pooled === true ? slabAllocate(length) : undefined;
    this.#pooled = pooled !== undefined;
    this.#protect = options.pooled === true ? false : (options.protect ?? true);
    if (pooled !== undefined) {
      this.#bytes = pooled; // slab slots come zeroed
    } else {
      this.#bytes = sodium.sodium_malloc(length);
      this.#bytes.fill(0);
    }
    this.#lock();
  }

  /** A zero-filled secure buffer of `length` bytes. */
  static alloc(length: number, options: SecureBufferOptions = {}): SecureBuffer {
    return new SecureBuffer(length, options);
  }

  /** A secure copy of `src`; `src` is left as it is. */
  static copyOf(src: Uint8Array, options: SecureBufferOptions = {}): SecureBuffer {
    const sb = new SecureBuffer(src.length, options);
    sb.use((b) => b.set(src));
    return sb;
  }

  /** Takes ownership of a secret held in a normal buffer: copies it here and wipes `src`. */
  static take(src: Uint8Array, options: SecureBufferOptions = {}): SecureBuffer {
    try {
      return SecureBuffer.copyOf(src, options);
    } finally {
      wipe(src);
    }
  }

  /** Whether destroy() has run. */
  get destroyed(): boolean {
    return this.#bytes === undefined;
  }

  /**
   * Runs `fn` with the secret bytes (readable and writable) and returns its result. The view is
   * valid only during the call: do not keep it, do not call async code with it.
   */
  use<T>(fn: (bytes: Buffer) => T): T {
    const bytes = this.#bytes;
    if (!bytes) throw new CryptoError(CryptoErrorCode.Destroyed, "secure buffer used after destroy");
    if (this.#depth++ === 0 && this.#protect && this.length > 0) sodium.sodium_mprotect_readwrite(bytes);
    try {
      return fn(bytes);
    } finally {
      if (--this.#depth === 0) this.#lock();
    }
  }

  /** Constant-time comparison with `other` (unequal when the lengths differ). */
  equals(other: Uint8Array | SecureBuffer): boolean {
    if (other instanceof SecureBuffer) return other.use((o) => this.equals(o));
    return this.use((b) => b.length === other.length && sodium.sodium_memcmp(b, other));
  }

  /** Wipes and releases the memory. Idempotent. */
  destroy(): void {
    const bytes = this.#bytes;
    if (!bytes) return;
    this.#bytes = undefined;
    if (this.#pooled) return slabRelease(bytes); // zeroes the slot
    if (this.#protect && this.length > 0) sodium.sodium_mprotect_readwrite(bytes);
    sodium.sodium_memzero(bytes);
    sodium.sodium_free(bytes);
  }

  #lock(): void {
    if (this.#protect && this.#bytes && this.length > 0) sodium.sodium_mprotect_noaccess(this.#bytes);
  }

  /** Never shows the bytes. */
  toString(): string {
    return `[SecureBuffer ${this.length} bytes${this.destroyed ? ", destroyed" : ""}]`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
