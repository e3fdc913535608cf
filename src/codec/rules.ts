/**
 * Which payloads each message of each exchange may carry — RFC 2409 §5 (Main and Aggressive Mode
 * with every authentication method, §5.1–§5.4), §5.5 (Quick Mode), §5.6 (New Group Mode), RFC 2408
 * §4.8 (Informational), the mode-cfg draft (Transaction), RFC 3947 (NAT-D in MM3/MM4/AM2/AM3,
 * NAT-OA in QM1/QM2), RFC 3706 (DPD notifies). Data, checked once by `checkRules` after decryption
 * and before any state machine sees the message (STYLE §3.4; strongSwan's message.c does the same).
 *
 *   Main Mode            MM1 SA >            MM2 < SA
 *                        MM3 KE Ni >         MM4 < KE Nr
 *                        MM5 *IDii AUTH >    MM6 < *IDir AUTH     (AUTH = HASH_I/R or SIG_I/R)
 *   Main Mode, RSA enc.  MM3 KE [HASH] <IDii> <Ni> >  MM4 < KE <IDir> <Nr>
 *                        MM5 *HASH_I >       MM6 < *HASH_R
 *   Aggressive           AM1 SA KE Ni IDii > AM2 < SA KE Nr IDir AUTH   AM3 [*]AUTH >
 *   Quick Mode           QM1 *HASH(1) SA Ni [KE] [IDci IDcr] >
 *                        QM2 < *HASH(2) SA Nr [KE] [IDci IDcr]   QM3 *HASH(3) >
 *   Informational        *HASH N|D ...   (protected), or N ... (before the ISAKMP SA exists)
 */
import { decodeError, type DecodeError } from "./errors.js";
import { ExchangeType, HeaderFlag, PayloadType, ProtocolId } from "./constants.js";
import { nameOf } from "./names.js";
import { headerSpec, type Header } from "./header.js";
import { at } from "./fields.js";
import type { Payload } from "./payloads/index.js";

/** One message position of one exchange. */
export type MessagePosition =
  | "MM1" | "MM2" | "MM3" | "MM4" | "MM5" | "MM6"
  | "MM3_ENC" | "MM4_ENC" | "MM5_ENC" | "MM6_ENC"
  | "AM1" | "AM2" | "AM3"
  | "QM1" | "QM2" | "QM3"
  | "NGM1" | "NGM2"
  | "INFO" | "INFO_CLEAR"
  | "TXN";

/** How many of one payload type (or group of types) a message may carry. */
export interface CountRule {
  readonly types: readonly number[];
  readonly min: number;
  readonly max: number;
  /** When set, the count must be one of these (quick mode's client IDs come in pairs). */
  readonly counts?: readonly number[];
}

/** What one message position requires. */
export interface MessageRule {
  readonly exchangeType: number;
  /** Whether the E flag must be set: true, false, or "either" (AM3 is sent both ways). */
  readonly encrypted: boolean | "either";
  /** Every payload type allowed, each with its own count limits. */
  readonly payloads: readonly CountRule[];
  /** Extra limits over groups of types (one of HASH or SIG, at least one N or D). */
  readonly groups?: readonly CountRule[];
  /** A payload type that must come first (RFC 2409 §5.5: HASH right after the header). */
  readonly first?: number;
  /** Which protocols the SA's proposals may use: ISAKMP in phase 1, AH/ESP/IPCOMP in quick mode. */
  readonly saProtocols?: "isakmp" | "ipsec";
  /** Whether the responder cookie must be zero (only in the very first message) or nonzero. */
  readonly rcookie?: "zero" | "nonzero";
}

const { SA, KE, ID, CERT, CR, HASH, SIG, NONCE, N, D, VID, Attribute, NATD, NATOA, NATDDraft, NATOADraft } = PayloadType;
const MANY = 64;

const one = (t: number): CountRule => ({ types: [t], min: 1, max: 1 });
const opt = (t: number): CountRule => ({ types: [t], min: 0, max: 1 });
const any = (...types: number[]): CountRule => ({ types, min: 0, max: MANY });
const natD = any(NATD, NATDDraft);
const vids = any(VID);
const notifies = any(N);
const auth: CountRule = { types: [HASH, SIG], min: 1, max: 1 };

/** The rule table. */
export const RULES: Readonly<Record<MessagePosition, MessageRule>> = {
  MM1: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(SA), vids, notifies], saProtocols: "isakmp", rcookie: "zero" },
  MM2: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(SA), vids, notifies], saProtocols: "isakmp", rcookie: "nonzero" },
  MM3: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(KE), one(NONCE), any(CR), natD, vids, notifies], rcookie: "nonzero" },
  MM4: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(KE), one(NONCE), any(CR), natD, vids, notifies], rcookie: "nonzero" },
  MM5: {
    exchangeType: ExchangeType.IdentityProtection, encrypted: true,
    payloads: [one(ID), any(CERT), any(CR), opt(HASH), opt(SIG), notifies, vids], groups: [auth], rcookie: "nonzero",
  },
  MM6: {
    exchangeType: ExchangeType.IdentityProtection, encrypted: true,
    payloads: [one(ID), any(CERT), opt(HASH), opt(SIG), notifies, vids], groups: [auth], rcookie: "nonzero",
  },
  // RFC 2409 §5.2/§5.3: with public-key encryption the ID and nonce travel (encrypted) in MM3/MM4,
  // HASH(1) names the responder's key, and MM5/MM6 carry only the hash.
  MM3_ENC: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(KE), one(NONCE), one(ID), opt(HASH), opt(CERT), natD, vids, notifies], rcookie: "nonzero" },
  MM4_ENC: { exchangeType: ExchangeType.IdentityProtection, encrypted: false, payloads: [one(KE), one(NONCE), one(ID), natD, vids, notifies], rcookie: "nonzero" },
  MM5_ENC: { exchangeType: ExchangeType.IdentityProtection, encrypted: true, payloads: [one(HASH), notifies, vids], rcookie: "nonzero" },
  MM6_ENC: { exchangeType: ExchangeType.IdentityProtection, encrypted: true, payloads: [one(HASH), notifies, vids], rcookie: "nonzero" },
  AM1: {
    exchangeType: ExchangeType.Aggressive, encrypted: false,
    payloads: [one(SA), one(KE), one(NONCE), one(ID), opt(HASH), opt(CERT), any(CR), vids, notifies], saProtocols: "isakmp", rcookie: "zero",
  },
  AM2: {
    exchangeType: ExchangeType.Aggressive, encrypted: false,
    payloads: [one(SA), one(KE), one(NONCE), one(ID), any(CERT), any(CR), opt(HASH), opt(SIG), natD, vids, notifies],
    groups: [auth], saProtocols: "isakmp", rcookie: "nonzero",
  },
  AM3: { exchangeType: ExchangeType.Aggressive, encrypted: "either", payloads: [any(CERT), opt(HASH), opt(SIG), natD, vids, notifies], groups: [auth], rcookie: "nonzero" },
  QM1: {
    exchangeType: ExchangeType.QuickMode, encrypted: true, first: HASH,
    payloads: [one(HASH), one(SA), one(NONCE), opt(KE), { types: [ID], min: 0, max: 2, counts: [0, 2] }, { types: [NATOA, NATOADraft], min: 0, max: 2 }, notifies],
    saProtocols: "ipsec", rcookie: "nonzero",
  },
  QM2: {
    exchangeType: ExchangeType.QuickMode, encrypted: true, first: HASH,
    payloads: [one(HASH), one(SA), one(NONCE), opt(KE), { types: [ID], min: 0, max: 2, counts: [0, 2] }, { types: [NATOA, NATOADraft], min: 0, max: 2 }, notifies],
    saProtocols: "ipsec", rcookie: "nonzero",
  },
  QM3: { exchangeType: ExchangeType.QuickMode, encrypted: true, first: HASH, payloads: [one(HASH)], rcookie: "nonzero" },
  NGM1: { exchangeType: ExchangeType.NewGroupMode, encrypted: true, first: HASH, payloads: [one(HASH), one(SA)], saProtocols: "isakmp", rcookie: "nonzero" },
  NGM2: { exchangeType: ExchangeType.NewGroupMode, encrypted: true, first: HASH, payloads: [one(HASH), one(SA)], saProtocols: "isakmp", rcookie: "nonzero" },
  INFO: {
    exchangeType: ExchangeType.Informational, encrypted: true, first: HASH,
    payloads: [one(HASH), any(N), any(D)], groups: [{ types: [N, D], min: 1, max: MANY }],
  },
  INFO_CLEAR: { exchangeType: ExchangeType.Informational, encrypted: false, payloads: [{ types: [N], min: 1, max: MANY }] },
  TXN: { exchangeType: ExchangeType.Transaction, encrypted: true, first: HASH, payloads: [one(HASH), one(Attribute)], rcookie: "nonzero" },
};

function rawOffset(p: Payload | undefined): number {
  return p?.raw?.offset ?? 0;
}

/**
 * A rule as `checkRules` runs it: every field present, so that the rule's loads see one object
 * shape whatever the position (the table's literals have five; reading their fields was a
 * megamorphic load per field per message). `allowed[t]` is 1 for a payload type the message may
 * carry; `saIsakmp` is 1 (ISAKMP), 0 (AH/ESP/IPCOMP) or -1 (not checked); `rcookie` 1 (zero), 0
 * (nonzero) or -1; `first` -1 when no payload must come first.
 */
interface RunRule {
  readonly rule: MessageRule;
  readonly exchangeType: number;
  readonly encrypted: boolean | "either";
  readonly allowed: Uint8Array;
  readonly counts: readonly CountRule[];
  readonly first: number;
  readonly saIsakmp: number;
  readonly rcookie: number;
}

function runRule(rule: MessageRule): RunRule {
  const allowed = new Uint8Array(256);
  for (const r of rule.payloads) for (const t of r.types) allowed[t] = 1;
  return {
    rule,
    exchangeType: rule.exchangeType,
    encrypted: rule.encrypted,
    allowed,
    counts: [...rule.payloads, ...(rule.groups ?? [])],
    first: rule.first ?? -1,
    saIsakmp: rule.saProtocols === undefined ? -1 : rule.saProtocols === "isakmp" ? 1 : 0,
    rcookie: rule.rcookie === undefined ? -1 : rule.rcookie === "zero" ? 1 : 0,
  };
}

const RUN = new Map<MessagePosition, RunRule>((Object.keys(RULES) as MessagePosition[]).map((pos) => [pos, runRule(RULES[pos])]));

/**
 * How many payloads of each type the message being checked carries, indexed by type; `checkRules`
 * fills it in one pass over the payloads (one load of each payload's type, instead of one per count
 * rule) and zeroes what it set before returning. Payload types are octets.
 */
const tally = new Uint16Array(256);

function countIn(types: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < types.length; i++) n += tally[types[i]!]!;
  return n;
}

function checkCount(rule: CountRule, payloads: readonly Payload[], pos: MessagePosition): DecodeError | null {
  const n = countIn(rule.types);
  const counts = rule.counts;
  if (n >= rule.min && n <= rule.max && (counts === undefined || counts.includes(n))) return null;
  // A failure: the error text (payload names) is built only now.
  const names = (): string => rule.types.map((t) => nameOf(PayloadType, t)).join("|");
  // A count short of the next allowed one is a missing payload (a lone quick-mode ID lacks its pair).
  const short = n < rule.min || (counts !== undefined && !counts.includes(n) && counts.some((c) => c > n));
  if (short) return decodeError("IKE_ERR_MISSING_PAYLOAD", 0, rule.types[0], `${pos} needs ${counts?.join(" or ") ?? rule.min} ${names()}, has ${n}`);
  const extra = payloads.filter((p) => rule.types.includes(p.type))[n > rule.max ? rule.max : n - 1];
  return decodeError("IKE_ERR_REPEATED_PAYLOAD", rawOffset(extra), rule.types[0], `${pos} carries ${n} ${names()}`);
}

/**
 * Checks a decoded (and, if it was encrypted, decrypted) message against the rule for `pos`:
 * exchange type, encryption, responder cookie, payload types, counts, order, SA protocols.
 * Returns null when the message conforms; offsets point at the offending payload where one exists.
 */
export function checkRules(pos: MessagePosition, header: Header, payloads: readonly Payload[]): DecodeError | null {
  const run = RUN.get(pos)!;
  if (header.exchangeType !== run.exchangeType) {
    return decodeError("IKE_ERR_WRONG_EXCHANGE", at(headerSpec, 0, "exchangeType"), undefined, `${pos} expects exchange ${run.exchangeType}, got ${header.exchangeType}`);
  }
  const encrypted = (header.flags & HeaderFlag.Encryption) !== 0;
  if (run.encrypted === true && !encrypted) return decodeError("IKE_ERR_NOT_ENCRYPTED", at(headerSpec, 0, "flags"), undefined, `${pos} must be encrypted`);
  if (run.encrypted === false && encrypted) return decodeError("IKE_ERR_UNEXPECTED_ENCRYPTION", at(headerSpec, 0, "flags"), undefined, `${pos} must be sent in the clear`);
  if (run.rcookie >= 0 && isZero(header.rcookie) !== (run.rcookie === 1)) {
    return decodeError("IKE_ERR_INVALID_COOKIE", at(headerSpec, 0, "rcookie"), undefined, `${pos} needs a ${run.rule.rcookie} responder cookie`);
  }
  const n = payloads.length;
  let counted = 0;
  try {
    for (; counted < n; counted++) {
      const p = payloads[counted]!;
      const t = p.type;
      if (run.allowed[t] !== 1) {
        return decodeError("IKE_ERR_UNEXPECTED_PAYLOAD", rawOffset(p), t, `${nameOf(PayloadType, t)} not allowed in ${pos}`);
      }
      tally[t]!++;
    }
    for (const r of run.counts) {
      const e = checkCount(r, payloads, pos);
      if (e !== null) return e;
    }
  } finally {
    for (let i = 0; i < counted; i++) tally[payloads[i]!.type] = 0;
  }
  if (run.first >= 0 && payloads[0]?.type !== run.first) {
    return decodeError("IKE_ERR_PAYLOAD_ORDER", rawOffset(payloads[0]), payloads[0]?.type, `${pos} must start with ${nameOf(PayloadType, run.first)}`);
  }
  if (run.saIsakmp >= 0) {
    for (const p of payloads) {
      if (p.type !== PayloadType.SA) continue;
      for (const prop of p.proposals) {
        const isakmp = prop.protocolId === ProtocolId.ISAKMP;
        if (isakmp !== (run.saIsakmp === 1)) {
          return decodeError("IKE_ERR_SA_PROTOCOL", rawOffset(p), PayloadType.SA, `protocol ${prop.protocolId} in a ${pos} proposal`);
        }
      }
    }
  }
  return null;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
