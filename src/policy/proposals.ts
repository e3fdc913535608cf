/**
 * Phase 2 transforms from policy algorithms (RFC 2409 §5.5, RFC 2407 §4.4): expanding an action's
 * `encr_algs` / `encr_auth_algs` / `auth_algs` into the ordered transforms an initiator offers, and
 * deciding whether one transform a peer offers fits an action.
 *
 * Ordering choices (ipsecconf does not define them): `any` expands to AES, 3DES, Blowfish, DES for
 * ciphers (never NULL) and SHA-256, SHA-384, SHA-512, SHA-1, MD5 for MACs; AES key sizes ascend
 * from the kernel default of 128 bits; variable-size ciphers other than AES offer one size,
 * 128 bits clamped into the allowed range.
 */
import {
  AUTH_ALGORITHMS,
  AuthAlg,
  ENCRYPT_ALGORITHMS,
  EncAlg,
  findAlgorithm,
  isCombinedMode,
  keySizeAccepted,
  type AlgorithmInfo,
} from "../kernel/algorithms.js";
import type { SaMode } from "../kernel/kernel.js";
import type { AlgorithmChoice, PolicyAction } from "./ipsecinit/types.js";

/** One transform: PF_KEY algorithm numbers and the cipher key size in bits (0 when no cipher). */
export interface Phase2Transform {
  encAlg: number;
  encKeyBits: number;
  authAlg: number;
}

/** One protocol of a proposal and its alternative transforms, most preferred first. */
export interface Phase2Protocol {
  proto: "esp" | "ah";
  transforms: Phase2Transform[];
}

/** One proposal: the protocols applied together (AH and/or ESP) and the encapsulation mode. */
export interface Phase2Proposal {
  mode: SaMode;
  protocols: Phase2Protocol[];
}

/** Algorithms the kernel supports (REGISTER); defaults to the in-memory SADB's tables. */
export interface AlgorithmTables {
  auth: readonly AlgorithmInfo[];
  encrypt: readonly AlgorithmInfo[];
}

/** The kernel tables of kernel/algorithms.ts. */
export const DEFAULT_TABLES: AlgorithmTables = { auth: AUTH_ALGORITHMS, encrypt: ENCRYPT_ALGORITHMS };

const ANY_ENCR = [EncAlg.AesCbc, EncAlg.TripleDesCbc, EncAlg.BlowfishCbc, EncAlg.DesCbc];
const ANY_AUTH = [AuthAlg.HmacSha256, AuthAlg.HmacSha384, AuthAlg.HmacSha512, AuthAlg.HmacSha1, AuthAlg.HmacMd5];

const inRange = (c: AlgorithmChoice, bits: number): boolean => (c.minBits === 0 || bits >= c.minBits) && (c.maxBits === 0 || bits <= c.maxBits);

/** Key sizes to offer for a cipher under a choice's key range. */
function offerSizes(info: AlgorithmInfo, c: AlgorithmChoice): number[] {
  if (info.incrBits === 0) return inRange(c, info.minBits) ? [info.minBits] : [];
  const lo = Math.max(info.minBits, c.minBits);
  const hi = c.maxBits === 0 ? info.maxBits : Math.min(info.maxBits, c.maxBits);
  if (lo > hi) return [];
  const steps: number[] = [];
  for (let b = info.minBits; b <= hi; b += info.incrBits) if (b >= lo) steps.push(b);
  if (steps.length <= 4) return steps;
  const preferred = Math.min(Math.max(128, lo), hi);
  return [steps.find((b) => b >= preferred) ?? steps[steps.length - 1]!];
}

/** Ciphers (with sizes) a choice allows, in offer order. */
export function expandEncr(c: AlgorithmChoice, tables: AlgorithmTables): Array<{ encAlg: number; encKeyBits: number }> {
  const ids = c.id === "any" ? ANY_ENCR : [c.id];
  const out: Array<{ encAlg: number; encKeyBits: number }> = [];
  for (const id of ids) {
    const info = findAlgorithm(tables.encrypt, id);
    if (info === undefined) continue;
    for (const bits of offerSizes(info, c)) out.push({ encAlg: id, encKeyBits: bits });
  }
  return out;
}

/** MACs a choice allows, in offer order. */
export function expandAuth(c: AlgorithmChoice, tables: AlgorithmTables): number[] {
  const ids = c.id === "any" ? ANY_AUTH : [c.id];
  return ids.filter((id) => {
    const info = findAlgorithm(tables.auth, id);
    return info !== undefined && inRange(c, info.minBits);
  });
}

/** The ESP and AH protocols an IPsec action asks for, with their transforms (empty if unsupported). */
export function actionProtocols(action: PolicyAction, tables: AlgorithmTables): Phase2Protocol[] {
  const out: Phase2Protocol[] = [];
  if (action.espEncr !== null || action.espAuth !== null) {
    const encs = action.espEncr === null ? [{ encAlg: EncAlg.Null, encKeyBits: 0 }] : expandEncr(action.espEncr, tables);
    const auths = action.espAuth === null ? [AuthAlg.None as number] : expandAuth(action.espAuth, tables);
    const transforms: Phase2Transform[] = [];
    for (const e of encs) {
      // Literals, not `{ ...e, authAlg }`: a new hidden class per call in Node 20's V8
      // (test/ike/hidden-classes.test.ts).
      if (isCombinedMode(e.encAlg)) transforms.push({ encAlg: e.encAlg, encKeyBits: e.encKeyBits, authAlg: AuthAlg.None });
      else for (const a of auths) if (!(e.encAlg === EncAlg.Null && a === AuthAlg.None)) transforms.push({ encAlg: e.encAlg, encKeyBits: e.encKeyBits, authAlg: a });
    }
    out.push({ proto: "esp", transforms });
  }
  if (action.ah !== null) {
    out.push({ proto: "ah", transforms: expandAuth(action.ah, tables).map((a) => ({ encAlg: EncAlg.None, encKeyBits: 0, authAlg: a })) });
  }
  return out;
}

/**
 * Smallest key a responder takes when the policy names no lower bound: the size the initiator
 * side offers by default (128 bits, or the cipher's only size). Without it `encr_algs blowfish`
 * would offer 128-bit Blowfish yet accept a peer's 40-bit one.
 */
function defaultFloor(info: AlgorithmInfo): number {
  return Math.min(Math.max(128, info.minBits), info.maxBits);
}

function encrAccepted(c: AlgorithmChoice, t: Phase2Transform, tables: AlgorithmTables): boolean {
  const info = findAlgorithm(tables.encrypt, t.encAlg);
  if (info === undefined || !keySizeAccepted(info, t.encKeyBits) || !inRange(c, t.encKeyBits)) return false;
  if (c.minBits === 0 && t.encKeyBits < defaultFloor(info)) return false;
  return c.id === "any" ? t.encAlg !== EncAlg.Null : c.id === t.encAlg;
}

function authAccepted(c: AlgorithmChoice, authAlg: number, tables: AlgorithmTables): boolean {
  const info = findAlgorithm(tables.auth, authAlg);
  if (info === undefined || !inRange(c, info.minBits)) return false;
  return c.id === "any" || c.id === authAlg;
}

/**
 * Whether a transform a peer offers for `proto` fits the action. ESP without `encr_auth_algs`
 * accepts any MAC or none (ipsecconf(8): "an ESP SA regardless of whether the SA has an
 * authentication algorithm"); ESP with only `encr_auth_algs` means NULL encryption.
 */
export function transformAccepted(action: PolicyAction, proto: "esp" | "ah", t: Phase2Transform, tables: AlgorithmTables): boolean {
  if (proto === "ah") return action.ah !== null && t.encAlg === EncAlg.None && authAccepted(action.ah, t.authAlg, tables);
  if (action.espEncr === null && action.espAuth === null) return false;
  if (action.espEncr === null ? t.encAlg !== EncAlg.Null || t.encKeyBits !== 0 : !encrAccepted(action.espEncr, t, tables)) return false;
  if (isCombinedMode(t.encAlg)) return t.authAlg === AuthAlg.None;
  if (action.espAuth === null) return t.authAlg === AuthAlg.None ? t.encAlg !== EncAlg.Null : findAlgorithm(tables.auth, t.authAlg) !== undefined;
  return authAccepted(action.espAuth, t.authAlg, tables);
}
