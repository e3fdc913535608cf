/**
 * Mutation fuzzer for the codec (after openiked's regress/parser/test_parser_fuzz.c): known-good
 * messages — built by our encoder from the fast-check generators, and the real packets recorded in
 * test/fixtures/packets/ when present — are mutated by bit flips, byte stores, truncation,
 * extension, length-field and payload-type edits and splices, then decoded. Every input must
 * return (no exception); an accepted clear input must re-encode to exactly its bytes; and, for a
 * share of inputs, the compiled decoder must agree with the reference interpreter on the outcome
 * (same error code and offset, or deep-equal payloads). Attribute-list Notification Data
 * (RESPONDER-LIFETIME) inside an accepted message is decoded too, under the same properties. A
 * failure carries the seed and input hex.
 *
 * Used by fuzz.test.ts (short run) and bench/codec/fuzz-long.ts (long run). Not a test file itself.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import {
  checkRules, decodeNotifyAttributes, dumpMessage, encodeMessage, encodeNotifyAttributes, encodePayloads, encodeEncrypted, Notify, PayloadType, RULES,
  variableAttribute, type DecodeError, type Message, type MessagePosition, type Payload, type Result,
} from "../../src/codec/index.js";
import { decodeMessageUsing, decodePayloadsUsing } from "../../src/codec/message.js";
import { header, payloads } from "./arbitraries.js";
import { strip } from "../codec/helpers.js";

/** A starting point for mutation: a whole datagram, or a decrypted payload-chain body. */
export interface Seed {
  readonly name: string;
  readonly kind: "datagram" | "body";
  readonly bytes: Buffer;
  /** First payload type of a body. */
  readonly first: number;
}

/** Small fast deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

/** Seeds from test/fixtures/packets/*.json under `root` (none if the folder does not exist). */
export function fixtureSeeds(root: string): Seed[] {
  const dir = path.join(root, "test/fixtures/packets");
  if (!existsSync(dir)) return [];
  const seeds: Seed[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json")).sort()) {
    const j = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { packets?: { name: string; hex: string; plaintextHex?: string }[] };
    for (const p of j.packets ?? []) {
      const bytes = Buffer.from(p.hex, "hex");
      seeds.push({ name: p.name, kind: "datagram", bytes, first: bytes[16] ?? 0 });
      if (p.plaintextHex !== undefined) seeds.push({ name: `${p.name}-plaintext`, kind: "body", bytes: Buffer.from(p.plaintextHex, "hex"), first: bytes[16] ?? 0 });
    }
  }
  return seeds;
}

/** RESPONDER-LIFETIME notifies (Phase 2 seconds and kilobytes, Phase 1 classes) after a HASH, as in QM2. */
function responderLifetimeBodies(): Payload[][] {
  const lists = [
    [{ format: "tv", type: 1, value: 1 }, variableAttribute(2, 600), { format: "tv", type: 1, value: 2 }, variableAttribute(2, 100_000)],
    [{ format: "tv", type: 11, value: 1 }, variableAttribute(12, 86_400)],
  ] as const;
  return lists.map((attrs, i) => [
    { type: PayloadType.HASH, data: Buffer.alloc(20, 0x11) },
    { type: PayloadType.N, doi: 1, protocolId: i === 0 ? 3 : 1, notifyType: Notify.ResponderLifetime, spi: Buffer.alloc(i === 0 ? 4 : 16, 0x22), data: encodeNotifyAttributes(attrs) },
  ]);
}

/** Seeds built by our encoder from generated values: clear datagrams, encrypted ones and bodies. */
export function encoderSeeds(count: number, seed: number): Seed[] {
  const samples = fc.sample(fc.tuple(header, payloads), { seed, numRuns: count });
  const seeds: Seed[] = [];
  responderLifetimeBodies().forEach((v, i) => seeds.push({ name: `responder-lifetime-${i}`, kind: "body", bytes: encodePayloads(v), first: PayloadType.HASH }));
  samples.forEach(([h, v], i) => {
    seeds.push({ name: `encoder-${i}`, kind: "datagram", bytes: encodeMessage(h, v), first: v[0]!.type });
    const body = encodePayloads(v);
    seeds.push({ name: `encoder-${i}-body`, kind: "body", bytes: body, first: v[0]!.type });
    if (i % 4 === 0) seeds.push({ name: `encoder-${i}-encrypted`, kind: "datagram", bytes: encodeEncrypted({ ...h, flags: h.flags | 1 }, v[0]!.type, body), first: v[0]!.type });
  });
  return seeds;
}

/** Offsets of next-payload octets and length fields, found by walking the chain (and SA nesting). */
function landmarks(b: Buffer, kind: Seed["kind"]): { types: number[]; lengths: number[] } {
  const types: number[] = [];
  const lengths: number[] = [];
  let pos = 0;
  let type = 0;
  if (kind === "datagram") {
    if (b.length < 28) return { types, lengths };
    types.push(16);
    type = b[16]!;
    pos = 28;
  }
  for (let guard = 0; guard < 64 && pos + 4 <= b.length; guard++) {
    types.push(pos);
    lengths.push(pos + 2);
    const len = b.readUInt16BE(pos + 2);
    if (type === 1 && len >= 16) {
      // SA: proposals start 8 bytes into the body; walk them and their transforms.
      let pp = pos + 12;
      for (let g = 0; g < 16 && pp + 8 <= pos + len && pp + 8 <= b.length; g++) {
        types.push(pp);
        lengths.push(pp + 2);
        const plen = b.readUInt16BE(pp + 2);
        let tp = pp + 8 + b[pp + 6]!;
        for (let k = 0; k < 16 && tp + 4 <= pp + plen && tp + 4 <= b.length; k++) {
          types.push(tp);
          lengths.push(tp + 2);
          const tlen = b.readUInt16BE(tp + 2);
          if (tlen < 4) break;
          tp += tlen;
        }
        if (plen < 4) break;
        pp += plen;
      }
    }
    if (len < 4) break;
    type = b[pos]!;
    pos += len;
  }
  return { types, lengths };
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x10, 0x20, 0x40, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xfe, 0xff];
const TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 130, 131, 132, 133, 255];

/** One mutated copy of `seed`: one to three edits, then (usually) the header length fixed up. */
export function mutate(rng: Rng, seed: Seed): Buffer {
  let b = Buffer.from(seed.bytes);
  const marks = landmarks(b, seed.kind);
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const op = rng.int(9);
    if (b.length === 0 && op < 6) continue;
    switch (op) {
      case 0: {
        const at = rng.int(b.length);
        b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      }
      case 1:
        b[rng.int(b.length)] = rng.next() < 0.5 ? rng.pick(INTERESTING) : rng.int(256);
        break;
      case 2:
      case 3:
        if (marks.lengths.length > 0) {
          const at = rng.pick(marks.lengths);
          if (at + 2 <= b.length) {
            const old = b.readUInt16BE(at);
            const choices = [old + 1, old - 1, old + 4, old - 4, old + rng.int(16) - 8, 0, 3, 4, 0xffff, rng.int(0x10000), b.length - at + 2];
            b.writeUInt16BE(Math.max(0, Math.min(0xffff, rng.pick(choices))), at);
          }
        }
        break;
      case 4:
        if (marks.types.length > 0) {
          const at = rng.pick(marks.types);
          if (at < b.length) b[at] = rng.next() < 0.8 ? rng.pick(TYPES) : rng.int(256);
        }
        break;
      case 5: {
        const start = rng.int(b.length);
        const len = 1 + rng.int(Math.min(16, b.length - start));
        b = rng.next() < 0.5 ? Buffer.concat([b.subarray(0, start), b.subarray(start + len)]) : Buffer.concat([b.subarray(0, start + len), b.subarray(start)]);
        break;
      }
      case 6:
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 7: {
        const extra = Buffer.alloc(1 + rng.int(16));
        for (let i = 0; i < extra.length; i++) extra[i] = rng.int(256);
        b = Buffer.concat([b, extra]);
        break;
      }
      default:
        if (b.length >= 28 && seed.kind === "datagram") b[17 + rng.int(3)] = rng.pick(INTERESTING);
    }
  }
  if (seed.kind === "datagram" && b.length >= 28 && rng.next() < 0.75) b.writeUInt32BE(b.length, 24);
  return b;
}

/** Counters of a fuzz run. */
export interface FuzzStats {
  inputs: number;
  accepted: number;
  differential: number;
  outcomes: Map<string, number>;
  heapMax: number;
}

/** A broken property, with what is needed to replay it. */
export class FuzzFailure extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly index: number,
    readonly inputHex: string,
  ) {
    super(`${message} (seed ${seed}, input #${index}: ${inputHex})`);
  }
}

const POSITIONS = Object.keys(RULES) as MessagePosition[];

function sameOutcome(a: Result<unknown, DecodeError>, b: Result<unknown, DecodeError>): boolean {
  if (a.ok !== b.ok) return false;
  if (!a.ok && !b.ok) return a.error.code === b.error.code && a.error.offset === b.error.offset && a.error.payloadType === b.error.payloadType;
  return a.ok && b.ok && isDeepStrictEqual(strip(a.value), strip(b.value));
}

/**
 * The attribute lists of an accepted message's RESPONDER-LIFETIME notifies: decoding returns, an
 * accepted list re-encodes to exactly its bytes, and on differential inputs the engines agree.
 */
function checkNotifyAttributes(payloads: readonly Payload[], differential: boolean): void {
  for (const p of payloads) {
    if (p.type !== PayloadType.N || p.notifyType !== Notify.ResponderLifetime) continue;
    const r = decodeNotifyAttributes(p.data);
    if (r.ok && !encodeNotifyAttributes(r.value).equals(p.data)) throw new Error("accepted notify attributes do not re-encode to their bytes");
    if (differential && !sameOutcome(r, decodeNotifyAttributes(p.data, "reference"))) throw new Error("notify attributes: compiled and reference decoders disagree");
  }
}

/**
 * The codec's one documented round-trip exception (message.ts `alignmentPadding`): `input` is
 * `encoded` plus Libreswan's 1 to 3 zero octets to a 4-octet boundary, its header length saying so.
 */
function alignmentPadded(encoded: Buffer, input: Buffer): boolean {
  const extra = input.length - encoded.length;
  if (extra < 1 || extra > 3 || input.length % 4 !== 0 || input.readUInt32BE(24) !== input.length) return false;
  if (!input.subarray(0, 24).equals(encoded.subarray(0, 24)) || !input.subarray(28, encoded.length).equals(encoded.subarray(28))) return false;
  return input.subarray(encoded.length).every((b) => b === 0);
}

/**
 * Runs `count` mutated inputs over `seeds`; every `differentialEvery`-th input is also decoded by the
 * reference interpreter. Throws `FuzzFailure` on the first broken property.
 */
export function fuzz(opts: { count: number; seed: number; seeds: readonly Seed[]; differentialEvery: number; onProgress?: (s: FuzzStats) => void }): FuzzStats {
  const rng = new Rng(opts.seed);
  const stats: FuzzStats = { inputs: 0, accepted: 0, differential: 0, outcomes: new Map(), heapMax: 0 };
  for (let i = 0; i < opts.count; i++) {
    const seed = opts.seeds[rng.int(opts.seeds.length)]!;
    const input = mutate(rng, seed);
    const padded = seed.kind === "body" && rng.next() < 0.5;
    let outcome: string;
    try {
      const r: Result<unknown, DecodeError> =
        seed.kind === "datagram" ? decodeMessageUsing(input, "compiled") : decodePayloadsUsing(seed.first, input, { padded }, "compiled");
      if (r.ok) {
        stats.accepted++;
        outcome = "OK";
        if (seed.kind === "datagram") {
          const m = r.value as Message;
          if (m.kind === "plain") {
            const again = encodeMessage(m.header, m.payloads);
            if (!again.equals(input) && !alignmentPadded(again, input)) throw new Error("accepted datagram does not re-encode to its bytes");
            checkRules(POSITIONS[i % POSITIONS.length]!, m.header, m.payloads);
            checkNotifyAttributes(m.payloads, i % opts.differentialEvery === 0);
          } else outcome = "OK_ENCRYPTED";
          if (i % 64 === 0) dumpMessage(m, () => true);
        } else {
          const again = encodePayloads(r.value as Payload[]);
          const same = padded ? again.equals(input.subarray(0, again.length)) : again.equals(input);
          if (!same) throw new Error("accepted body does not re-encode to its bytes");
          checkNotifyAttributes(r.value as Payload[], i % opts.differentialEvery === 0);
        }
      } else {
        outcome = r.error.code;
        if (!Number.isInteger(r.error.offset) || r.error.offset < 0 || r.error.offset > input.length + 28) throw new Error(`offset ${r.error.offset} out of range`);
      }
      if (i % opts.differentialEvery === 0) {
        stats.differential++;
        const ref: Result<unknown, DecodeError> =
          seed.kind === "datagram" ? decodeMessageUsing(input, "reference") : decodePayloadsUsing(seed.first, input, { padded }, "reference");
        if (!sameOutcome(r, ref)) {
          const show = (x: Result<unknown, DecodeError>): string => (x.ok ? "ok" : `${x.error.code}@${x.error.offset}`);
          throw new Error(`compiled ${show(r)} != reference ${show(ref)}`);
        }
      }
    } catch (e) {
      throw new FuzzFailure(`${seed.name}: ${(e as Error).message}`, opts.seed, i, input.toString("hex"));
    }
    stats.outcomes.set(outcome, (stats.outcomes.get(outcome) ?? 0) + 1);
    stats.inputs++;
    if ((i & 4095) === 0) {
      stats.heapMax = Math.max(stats.heapMax, process.memoryUsage().heapUsed);
      opts.onProgress?.(stats);
    }
  }
  stats.heapMax = Math.max(stats.heapMax, process.memoryUsage().heapUsed);
  return stats;
}
