/**
 * checkRules against the rule table read the plain way (one pass over the payloads per count rule,
 * as rules.ts did before it tallied the types once per message): the same verdict, code, offset,
 * payload type and text for every position over random payload lists, including lists that fail,
 * so that the tally one call leaves behind cannot leak into the next.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RULES, checkRules, ExchangeType, HeaderFlag, PayloadType, ProtocolId, nameOf,
  type CountRule, type DecodeError, type Header, type MessagePosition, type Payload,
} from "../../src/codec/index.js";

function decodeError(code: DecodeError["code"], offset: number, payloadType: number | undefined, detail: string): Omit<DecodeError, "notify"> {
  return { code, offset, payloadType, detail };
}
const rawOffset = (p: Payload | undefined): number => p?.raw?.offset ?? 0;
const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

function countOf(payloads: readonly Payload[], types: readonly number[]): number {
  let n = 0;
  for (const p of payloads) if (types.includes(p.type)) n++;
  return n;
}

function checkCount(rule: CountRule, payloads: readonly Payload[], pos: MessagePosition): Omit<DecodeError, "notify"> | null {
  const n = countOf(payloads, rule.types);
  const names = (): string => rule.types.map((t) => nameOf(PayloadType, t)).join("|");
  const short = n < rule.min || (rule.counts !== undefined && !rule.counts.includes(n) && rule.counts.some((c) => c > n));
  if (short) return decodeError("IKE_ERR_MISSING_PAYLOAD", 0, rule.types[0], `${pos} needs ${rule.counts?.join(" or ") ?? rule.min} ${names()}, has ${n}`);
  if (n > rule.max || (rule.counts !== undefined && !rule.counts.includes(n))) {
    const extra = payloads.filter((p) => rule.types.includes(p.type))[n > rule.max ? rule.max : n - 1];
    return decodeError("IKE_ERR_REPEATED_PAYLOAD", rawOffset(extra), rule.types[0], `${pos} carries ${n} ${names()}`);
  }
  return null;
}

/** The header checks carry fixed offsets (fields of the ISAKMP header). */
function reference(pos: MessagePosition, header: Header, payloads: readonly Payload[]): Omit<DecodeError, "notify"> | null {
  const rule = RULES[pos];
  if (header.exchangeType !== rule.exchangeType) return decodeError("IKE_ERR_WRONG_EXCHANGE", 18, undefined, `${pos} expects exchange ${rule.exchangeType}, got ${header.exchangeType}`);
  const encrypted = (header.flags & HeaderFlag.Encryption) !== 0;
  if (rule.encrypted === true && !encrypted) return decodeError("IKE_ERR_NOT_ENCRYPTED", 19, undefined, `${pos} must be encrypted`);
  if (rule.encrypted === false && encrypted) return decodeError("IKE_ERR_UNEXPECTED_ENCRYPTION", 19, undefined, `${pos} must be sent in the clear`);
  if (rule.rcookie !== undefined && isZero(header.rcookie) !== (rule.rcookie === "zero")) {
    return decodeError("IKE_ERR_INVALID_COOKIE", 8, undefined, `${pos} needs a ${rule.rcookie} responder cookie`);
  }
  for (const p of payloads) {
    if (!rule.payloads.some((r) => r.types.includes(p.type))) {
      return decodeError("IKE_ERR_UNEXPECTED_PAYLOAD", rawOffset(p), p.type, `${nameOf(PayloadType, p.type)} not allowed in ${pos}`);
    }
  }
  for (const r of [...rule.payloads, ...(rule.groups ?? [])]) {
    const e = checkCount(r, payloads, pos);
    if (e !== null) return e;
  }
  if (rule.first !== undefined && payloads[0]?.type !== rule.first) {
    return decodeError("IKE_ERR_PAYLOAD_ORDER", rawOffset(payloads[0]), payloads[0]?.type, `${pos} must start with ${nameOf(PayloadType, rule.first)}`);
  }
  if (rule.saProtocols !== undefined) {
    for (const p of payloads) {
      if (p.type !== PayloadType.SA) continue;
      for (const prop of p.proposals) {
        if ((prop.protocolId === ProtocolId.ISAKMP) !== (rule.saProtocols === "isakmp")) {
          return decodeError("IKE_ERR_SA_PROTOCOL", rawOffset(p), PayloadType.SA, `protocol ${prop.protocolId} in a ${pos} proposal`);
        }
      }
    }
  }
  return null;
}

/** A small deterministic generator (the run must be the same every time). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TYPES = [
  PayloadType.SA, PayloadType.KE, PayloadType.ID, PayloadType.CERT, PayloadType.CR, PayloadType.HASH, PayloadType.SIG,
  PayloadType.NONCE, PayloadType.N, PayloadType.D, PayloadType.VID, PayloadType.Attribute, PayloadType.NATD,
  PayloadType.NATOA, PayloadType.NATDDraft, PayloadType.NATOADraft, 0, 99, 255, 256, 1000,
];
const EXCHANGES = [ExchangeType.IdentityProtection, ExchangeType.Aggressive, ExchangeType.QuickMode, ExchangeType.Informational, ExchangeType.NewGroupMode, ExchangeType.Transaction];

function payload(type: number, rnd: () => number, offset: number): Payload {
  const raw = { offset, length: 4 };
  if (type === PayloadType.SA) {
    const proposals = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => ({ protocolId: rnd() < 0.5 ? ProtocolId.ISAKMP : 3 }));
    return { type, raw, proposals } as unknown as Payload;
  }
  return { type, raw } as unknown as Payload;
}

test("checkRules gives what the plain reading of RULES gives, for random messages at every position", () => {
  const rnd = lcg(14);
  const positions = Object.keys(RULES) as MessagePosition[];
  let refused = 0;
  for (let i = 0; i < 40_000; i++) {
    const pos = positions[Math.floor(rnd() * positions.length)]!;
    const rule = RULES[pos];
    const pick = rnd();
    // Mostly the right header, so that the payload checks are reached.
    const exchangeType = rnd() < 0.9 ? rule.exchangeType : EXCHANGES[Math.floor(rnd() * EXCHANGES.length)]!;
    const encrypted = rule.encrypted === "either" ? rnd() < 0.5 : rnd() < 0.95 ? rule.encrypted : !rule.encrypted;
    const zero = rule.rcookie === undefined ? rnd() < 0.5 : rnd() < 0.95 ? rule.rcookie === "zero" : rule.rcookie !== "zero";
    const header = {
      icookie: Buffer.alloc(8, 1), rcookie: zero ? Buffer.alloc(8) : Buffer.alloc(8, 2), exchangeType,
      flags: encrypted ? HeaderFlag.Encryption : 0, messageId: 0,
    } as unknown as Header;
    // Payload types drawn mostly from those the rule allows (often the right counts), sometimes any.
    const allowed = rule.payloads.flatMap((r) => r.types);
    const length = Math.floor(rnd() * (pick < 0.5 ? 4 : 9));
    const types = Array.from({ length }, () => (rnd() < 0.85 ? allowed[Math.floor(rnd() * allowed.length)]! : TYPES[Math.floor(rnd() * TYPES.length)]!));
    if (rule.first !== undefined && rnd() < 0.7) types.unshift(rule.first);
    const payloads = types.map((t, k) => payload(t, rnd, 28 + 8 * k));
    const want = reference(pos, header, payloads);
    const got = checkRules(pos, header, payloads);
    if (want !== null) refused++;
    assert.deepEqual(got === null ? null : { code: got.code, offset: got.offset, payloadType: got.payloadType, detail: got.detail }, want, `${pos} [${types.join(",")}]`);
  }
  // Both outcomes were exercised in bulk.
  assert.ok(refused > 5_000 && refused < 38_000, `${refused} refused`);
});
