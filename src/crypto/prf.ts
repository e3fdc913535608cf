/**
 * Hashes and pseudo-random functions of IKEv1 (RFC 2409 section 4 and appendix B): without a
 * negotiated PRF attribute, prf is the HMAC (RFC 2104) of the negotiated hash, also for SHA-2
 * (HMAC-SHA-256/384/512 with full-length output, RFC 4868 section 2.1.2 style).
 *
 * Inputs are given as several parts that are fed to OpenSSL one by one, so concatenations that
 * contain secrets (g^xy, SKEYIDs) are never built in a normal JS buffer. Both run in one call of
 * the native addon when it is built (native-primitives.ts: the padded HMAC key stays on the C
 * stack and is cleansed before the call returns), else through node:crypto, where OpenSSL copies
 * the HMAC key into its context for the call and cleanses it when the context is freed.
 */
import { createHash, createHmac } from "node:crypto";
import type { HashInfo } from "./algorithms.js";
import { nativeHash, nativeHmac } from "./native-primitives.js";

/** hash(part0 | part1 | ...) with the negotiated hash. */
export function hash(h: HashInfo, ...parts: readonly Uint8Array[]): Buffer {
  const out = nativeHash(h.openssl, parts);
  if (out !== undefined) return out;
  const ctx = createHash(h.openssl);
  for (const p of parts) ctx.update(p);
  return ctx.digest();
}

/** prf(key, part0 | part1 | ...) = HMAC-<hash>(key, ...). */
export function prf(h: HashInfo, key: Uint8Array, ...parts: readonly Uint8Array[]): Buffer {
  const out = nativeHmac(h.openssl, key, parts);
  if (out !== undefined) return out;
  const ctx = createHmac(h.openssl, key);
  for (const p of parts) ctx.update(p);
  return ctx.digest();
}
