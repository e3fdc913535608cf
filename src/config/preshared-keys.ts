/**
 * Where parsed pre-shared keys live: slots of the secure slab (src/crypto/secure-slab.ts: locked,
 * excluded from core dumps, guard pages around each arena, zeroed on release). A key is still typed
 * `Buffer`, so the writer, the lookups, the engine's SKEYID derivation and the admin formatting
 * keep working, and it stays concealed from `inspect`/`JSON` (conceal.ts).
 *
 * A key set lives until something replaces it (SIGHUP, `ikeadm read|add|del preshared`), the
 * daemon stops, or a one-shot tool (in.iked -c, ikeload) exits; that owner calls
 * {@link releasePreshared}, which zeroes each slot and hands it back. A key that is not slab
 * memory (tests build entries by hand) is left alone: only the parser's keys are released.
 */
import { slabAllocate, slabRelease } from "../crypto/secure-slab.js";
import { wipe } from "../crypto/secure.js";
import { concealKey } from "./conceal.js";
import type { PresharedEntry } from "./types.js";

/** Keys handed out by {@link secureKey} and not yet released. */
const live = new WeakSet<Buffer>();

/**
 * Moves `bytes` into a concealed slab Buffer and wipes `bytes`. Keys are at most 1024 bytes
 * (the parser's cap), which the slab's 2048-byte slots hold.
 */
export function secureKey(bytes: Buffer): Buffer {
  const key = slabAllocate(bytes.length);
  if (key === undefined) {
    // Only an empty or over-long key gets here; the parser refuses both before calling.
    wipe(bytes);
    throw new RangeError(`pre-shared key of ${bytes.length} bytes does not fit secure memory`);
  }
  key.set(bytes);
  wipe(bytes);
  live.add(key);
  return concealKey(key);
}

/** Whether `key` is a secure key that has not been released yet. */
export function isSecureKey(key: Buffer): boolean {
  return live.has(key);
}

/**
 * Zeroes every key of `entries` and returns its slot to the slab, except keys that `keep` still
 * uses (an `ikeadm add|del` builds the new set from the old entries). Idempotent: a key already
 * released, or one that is not slab memory, is skipped. Returns how many keys it released.
 */
export function releasePreshared(entries: readonly PresharedEntry[], keep: readonly PresharedEntry[] = []): number {
  const kept = new Set<Buffer>(keep.map((e) => e.key));
  let n = 0;
  for (const e of entries) {
    if (kept.has(e.key) || !live.has(e.key)) continue;
    live.delete(e.key);
    slabRelease(e.key);
    n++;
  }
  return n;
}
