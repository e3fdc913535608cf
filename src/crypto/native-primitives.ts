/**
 * The native addon's prf, hash and CBC (native/src/digest.c) for prf.ts and cipher.ts: one call per
 * operation instead of a node:crypto Hmac/Hash/Cipheriv object, the larger part of their cost on
 * the main thread for IKE's short inputs. OpenSSL's digests and ciphers are fetched once per name
 * and thread. `undefined` (the callers use node:crypto) when the addon is not built, or for more
 * parts than the addon takes in one call.
 */
import { tryLoadNative, type NativeAddon, type NativeCipherHandle, type NativeDigestHandle } from "../../native/index.js";

/** Most parts the addon hashes in one call. */
const MAX_PARTS = 16;

const addon: NativeAddon | undefined = tryLoadNative();
const digests = new Map<string, NativeDigestHandle>();
const ciphers = new Map<string, NativeCipherHandle>();

function digestHandle(name: string): NativeDigestHandle {
  let md = digests.get(name);
  if (md === undefined) {
    md = addon!.mdFetch(name);
    digests.set(name, md);
  }
  return md;
}

/** hash(parts) through the addon, or undefined. */
export function nativeHash(name: string, parts: readonly Uint8Array[]): Buffer | undefined {
  if (addon === undefined || parts.length > MAX_PARTS) return undefined;
  return addon.digest(digestHandle(name), parts);
}

/** HMAC(key, parts) through the addon, or undefined. */
export function nativeHmac(name: string, key: Uint8Array, parts: readonly Uint8Array[]): Buffer | undefined {
  if (addon === undefined || parts.length > MAX_PARTS) return undefined;
  return addon.hmac(digestHandle(name), key, parts);
}

/** Whether `nativeCbc` can run (the addon is built). */
export const nativeCbcAvailable = (): boolean => addon !== undefined;

/** CBC through the addon (check nativeCbcAvailable first); throws when OpenSSL lacks `name`. */
export function nativeCbc(name: string, encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  let c = ciphers.get(name);
  if (c === undefined) {
    c = addon!.cipherFetch(name);
    ciphers.set(name, c);
  }
  return addon!.cbc(c, encrypt, key, iv, data);
}
