/**
 * Structure-aware mutations of typed ISAKMP payload chains, for the whole-exchange fuzzer (not a
 * test file). A chain is changed as a peer could change it: a payload dropped, repeated, moved or
 * added (from a pool of valid payloads of every kind), or one field deep inside a payload (an SA's
 * proposal, transform or attribute, a KE value, a nonce, an ID, a notify's type, SPI or data, a
 * Delete's SPIs) set to a boundary value, a random one or a buffer of another length. The result
 * may not even encode (the encoder refuses what the decoder would): the caller then falls back to
 * byte-level mutation.
 */
import fc from "fast-check";
import type { Payload } from "../../../src/codec/index.js";
import { payload } from "../../property/arbitraries.js";
import type { Rng } from "../../property/mutate.js";

/** `n` valid payloads of every kind (the codec's property generators), to insert into chains. */
export function payloadPool(seed: number, n = 400): Payload[] {
  return fc.sample(payload, { seed, numRuns: n });
}

/** Numbers that sit on the edges of the fields and checks the engine has. */
const NUMBERS = [
  0, 1, 2, 3, 4, 5, 7, 8, 12, 14, 16, 17, 24, 32, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x5fff, 0x6000, 0x6001, 0x6002, 0x7fff, 0x8000,
  36136, 36137, 0xfffe, 0xffff, 0x10000, 86_400, 604_801, 0x7fffffff, 0x80000000, 0xffffffff,
];

/** Notify types the engine acts on, and errors around them. */
export const NOTIFY_TYPES = [1, 7, 9, 11, 14, 16, 18, 24, 30, 8191, 16384, 24576, 24577, 24578, 36136, 36137, 40001];

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Another buffer in place of `b`: other length, all zeros or ones, edited bytes, random. */
export function mutateBuffer(rng: Rng, b: Buffer): Buffer {
  switch (rng.int(8)) {
    case 0:
      return b.subarray(0, rng.int(b.length + 1));
    case 1:
      return Buffer.concat([b, randomBytes(rng, 1 + rng.int(rng.next() < 0.2 ? 600 : 16))]);
    case 2:
      return Buffer.alloc(b.length);
    case 3:
      return Buffer.alloc(b.length, 0xff);
    case 4: {
      // 1 and p-1 style values: zeros with a last (or first) byte set.
      const c = Buffer.alloc(Math.max(1, b.length));
      c[rng.next() < 0.5 ? c.length - 1 : 0] = rng.pick([0, 1, 2, 0xff]);
      return c;
    }
    case 5: {
      const c = Buffer.from(b);
      if (c.length > 0) {
        const i = rng.int(c.length);
        c[i] = c[i]! ^ (1 << rng.int(8));
      }
      return c;
    }
    case 6:
      return randomBytes(rng, rng.pick([0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 20, 32, 64, 255, 256, 257, 300]));
    default:
      return randomBytes(rng, b.length);
  }
}

function mutateNumber(rng: Rng, n: number, key: string): number {
  if (key === "notifyType" && rng.next() < 0.6) return rng.pick(NOTIFY_TYPES);
  switch (rng.int(4)) {
    case 0:
      return rng.pick(NUMBERS);
    case 1:
      return Math.max(0, n + rng.pick([-1, 1, -2, 2]));
    case 2:
      return rng.int(256);
    default:
      return rng.int(0x10000);
  }
}

type Node = Record<string, unknown>;

/** Keys that select the codec spec of a value; changed rarely (the encoder then refuses most). */
const SHAPE_KEYS = new Set(["type", "format"]);

/** A copy of `v` with one leaf somewhere below it changed, or an array in it edited. */
function mutateValue(rng: Rng, v: unknown, key: string, depth: number): unknown {
  if (Buffer.isBuffer(v)) return mutateBuffer(rng, v);
  if (typeof v === "number") return mutateNumber(rng, v, key);
  if (Array.isArray(v)) return mutateArray(rng, v, depth);
  if (v !== null && typeof v === "object") return mutateNode(rng, v as Node, depth);
  return v;
}

function mutateArray(rng: Rng, a: readonly unknown[], depth: number): unknown[] {
  const out = [...a];
  const op = out.length === 0 ? 0 : rng.int(5);
  switch (op) {
    case 0:
      return out.length === 0 ? out : [...out, structuredCloneBuffers(out[rng.int(out.length)])];
    case 1:
      out.splice(rng.int(out.length), 1);
      return out;
    case 2: {
      // Many copies of one element (a proposal, a transform, an SPI): counts and caps.
      const e = out[rng.int(out.length)];
      const n = rng.pick([2, 8, 40, 300]);
      for (let i = 0; i < n; i++) out.push(structuredCloneBuffers(e));
      return out;
    }
    case 3:
      return [];
    default: {
      const i = rng.int(out.length);
      out[i] = mutateValue(rng, out[i], "", depth + 1);
      return out;
    }
  }
}

function mutateNode(rng: Rng, n: Node, depth: number): Node {
  const keys = Object.keys(n).filter((k) => !SHAPE_KEYS.has(k) || rng.next() < 0.03);
  if (keys.length === 0) return { ...n };
  const k = rng.pick(keys);
  // Deeper structures (proposals → transforms → attributes) get a chance to be walked into.
  return { ...n, [k]: mutateValue(rng, n[k], k, depth + 1) };
}

/** A deep copy that keeps Buffers as Buffers. */
function structuredCloneBuffers<T>(v: T): T {
  if (Buffer.isBuffer(v)) return Buffer.from(v) as T;
  if (Array.isArray(v)) return v.map((x) => structuredCloneBuffers(x)) as T;
  if (v !== null && typeof v === "object") {
    const o: Node = {};
    for (const [k, x] of Object.entries(v as Node)) o[k] = structuredCloneBuffers(x);
    return o as T;
  }
  return v;
}

/** What a chain mutation did, for the run's statistics. */
export type ChainEdit = "drop" | "repeat" | "swap" | "insert" | "field";

/** A mutated copy of `chain` (1 to 3 edits) and the edits made. */
export function mutateChain(rng: Rng, chain: readonly Payload[], pool: readonly Payload[]): { payloads: Payload[]; edits: ChainEdit[] } {
  let out = [...chain];
  const edits: ChainEdit[] = [];
  // Half of the time one field deep inside one payload, the chain's shape kept, so the message
  // gets past the codec's rules into the exchange's own checks; else 1 to 3 edits of any kind.
  const fieldOnly = rng.next() < 0.5;
  for (let e = fieldOnly ? 1 : 1 + rng.int(3); e > 0; e--) {
    const op = out.length === 0 ? 3 : fieldOnly ? 9 : rng.int(10);
    if (op === 0) {
      out.splice(rng.int(out.length), 1);
      edits.push("drop");
    } else if (op === 1) {
      const i = rng.int(out.length);
      out.splice(i, 0, structuredCloneBuffers(out[i]!));
      edits.push("repeat");
    } else if (op === 2) {
      const i = rng.int(out.length);
      const j = rng.int(out.length);
      [out[i], out[j]] = [out[j]!, out[i]!];
      edits.push("swap");
    } else if (op === 3) {
      out.splice(rng.int(out.length + 1), 0, structuredCloneBuffers(rng.pick(pool)));
      edits.push("insert");
    } else {
      const i = rng.int(out.length);
      out = [...out];
      out[i] = mutateNode(rng, out[i] as unknown as Node, 0) as unknown as Payload;
      edits.push("field");
    }
  }
  return { payloads: out, edits };
}
