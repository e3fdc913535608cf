/**
 * Watching libsodium release secure memory: what each buffer held at the moment `sodium_free`
 * released it (so a test sees that a secret was zeroed first). Works for code that loads
 * sodium-native through require, as src/crypto/secure.ts does: one shared exports object.
 */
import { createRequire } from "node:module";

const sodium = createRequire(import.meta.url)("sodium-native") as typeof import("sodium-native") & Record<string, unknown>;

/** Runs `fn` while recording what each buffer held at the moment sodium_free released it. */
export function watchFrees(fn: () => void): Buffer[] {
  const seen: Buffer[] = [];
  const original = sodium.sodium_free;
  sodium.sodium_free = (buf: Buffer) => {
    seen.push(Buffer.from(buf));
    original(buf);
  };
  try {
    fn();
  } finally {
    sodium.sodium_free = original;
  }
  return seen;
}
