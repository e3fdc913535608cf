/**
 * Keeps pre-shared key bytes out of accidental output. A parsed entry is an ordinary object that
 * callers log, inspect, snapshot and `JSON.stringify`; each of those would print a plain Buffer
 * byte by byte. The key Buffer instead carries its own non-enumerable `util.inspect` hook and
 * `toJSON`, which print only its length. The bytes themselves are untouched, so crypto, the
 * writer, `assert.deepStrictEqual` and binary framing (msgpackr, structuredClone) still see them.
 */
import { inspect } from "node:util";

function redacted(this: Buffer): string {
  return `[redacted ${this.length}-byte key]`;
}

/** Marks `key` so that `util.inspect` and `JSON.stringify` show only its length; returns `key`. */
export function concealKey(key: Buffer): Buffer {
  Object.defineProperties(key, {
    [inspect.custom]: { value: redacted, enumerable: false },
    toJSON: { value: redacted, enumerable: false },
  });
  return key;
}
