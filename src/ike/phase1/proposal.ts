/**
 * Phase 1 proposals: what we offer from the `p1_xform` list, and which offered transform we pick.
 * RFC 2409 section 5 (one proposal, KEY_IKE transforms), appendix A (attribute classes), RFC 2408
 * section 3.6 (transforms), RFC 3602 section 5 (AES Key Length).
 *
 * Attribute order on the wire follows strongSwan (Encryption, Key-Length, Hash, Group-Description,
 * Auth-Method, Life-Type, Life-Duration), which Wireshark and every peer here accept.
 *
 * Key Length quirk (shared/interop/README.md): strongSwan compares key sizes, and for Blowfish an
 * absent Key Length is size 0, not the RFC's default of 128. So we always send Key-Length for
 * variable-length ciphers, and accept an absent one as the default (AES 128, Blowfish 128).
 *
 * Lifetimes: the responder accepts the initiator's proposed lifetime (as strongSwan and Libreswan
 * do, and echoes the transform unchanged) but expires the SA at the shorter of the proposed and its
 * own configured lifetime; when its own is shorter it says so with RESPONDER-LIFETIME after the
 * exchange (phase1/lifetime.ts; strongSwan ignores it, our initiator honours it).
 */
import { AuthMethod, IkeAttr, LifeType, attributeNumber, variableAttribute, type DataAttribute } from "../../codec/index.js";
import type { P1Xform } from "../../config/types.js";
import { cipherById, groupById, hashById, keyBitsAllowed } from "../../crypto/algorithms.js";

/** The original's default Phase 1 lifetime (observed on the wire): 8 hours. */
export const DEFAULT_P1_LIFETIME_SECS = 28800;

/** One Phase 1 transform, as meaning rather than bytes. */
export interface P1Transform {
  readonly encr: number;
  /** Key Length attribute; absent when not sent. */
  readonly keyBits?: number;
  readonly hash: number;
  readonly auth: number;
  readonly group: number;
  readonly lifeSecs?: number;
  readonly lifeKb?: number;
}

/** The transforms we offer for a rule, in proposal order. AES without a range offers 128, 192, 256. */
export function transformsFromXforms(xforms: readonly P1Xform[], defaultLifeSecs = DEFAULT_P1_LIFETIME_SECS): P1Transform[] {
  const out: P1Transform[] = [];
  for (const x of xforms) {
    const cipher = cipherById(x.encrAlg);
    if (!cipher || !hashById(x.authAlg) || !groupById(x.oakleyGroup)) continue;
    const lifeSecs = x.p1LifetimeSecs ?? defaultLifeSecs;
    // A literal per transform, not `{ ...base, keyBits }`: in Node 20's V8 a spread followed by a
    // property the source lacks makes a new hidden class in the old generation on every call, and
    // Main Mode builds these per negotiation (test/ike/hidden-classes.test.ts).
    const transform = (keyBits?: number): P1Transform =>
      keyBits === undefined
        ? { encr: x.encrAlg, hash: x.authAlg, auth: x.authMethod, group: x.oakleyGroup, lifeSecs }
        : { encr: x.encrAlg, hash: x.authAlg, auth: x.authMethod, group: x.oakleyGroup, lifeSecs, keyBits };
    if (!cipher.variableKeyLength) {
      out.push(transform());
    } else if (x.encrKeyLen !== undefined) {
      // Strongest first within the configured range.
      for (const bits of [256, 192, 128]) {
        if (bits >= x.encrKeyLen.low && bits <= x.encrKeyLen.high && keyBitsAllowed(cipher.keyBits, bits)) {
          out.push(transform(bits));
        }
      }
    } else if (cipher.keyBits.step === 64) {
      for (const bits of [128, 192, 256]) out.push(transform(bits));
    } else {
      out.push(transform(cipher.keyBits.default));
    }
  }
  return out;
}

const tv = (type: number, value: number): DataAttribute => ({ format: "tv", type, value });

/** The attributes of a transform we send, in strongSwan's order; life durations are class V. */
export function p1Attributes(t: P1Transform): DataAttribute[] {
  const a: DataAttribute[] = [tv(IkeAttr.EncryptionAlgorithm, t.encr)];
  if (t.keyBits !== undefined) a.push(tv(IkeAttr.KeyLength, t.keyBits));
  a.push(tv(IkeAttr.HashAlgorithm, t.hash), tv(IkeAttr.GroupDescription, t.group), tv(IkeAttr.AuthenticationMethod, t.auth));
  if (t.lifeSecs !== undefined) a.push(tv(IkeAttr.LifeType, LifeType.Seconds), variableAttribute(IkeAttr.LifeDuration, t.lifeSecs));
  if (t.lifeKb !== undefined) a.push(tv(IkeAttr.LifeType, LifeType.Kilobytes), variableAttribute(IkeAttr.LifeDuration, t.lifeKb));
  return a;
}

/** Result of reading a transform's attributes. */
export type P1Parse = { readonly ok: true; readonly value: P1Transform } | { readonly ok: false; readonly reason: string };

/**
 * Read an offered transform's attributes. Anything we do not implement (custom groups, PRF, an
 * unpaired Life-Duration, repeated attributes) makes the transform unacceptable, never an error:
 * the peer may well offer something else we do support.
 */
export function parseP1Attributes(attrs: readonly DataAttribute[]): P1Parse {
  const seen = new Set<number>();
  let encr: number | undefined;
  let hash: number | undefined;
  let auth: number | undefined;
  let group: number | undefined;
  let keyBits: number | undefined;
  let lifeSecs: number | undefined;
  let lifeKb: number | undefined;
  let pendingLifeType: number | undefined;
  for (const a of attrs) {
    const once = a.type !== IkeAttr.LifeType && a.type !== IkeAttr.LifeDuration;
    if (once && seen.has(a.type)) return { ok: false, reason: `attribute ${a.type} repeated` };
    seen.add(a.type);
    const v = attributeNumber(a);
    switch (a.type) {
      case IkeAttr.EncryptionAlgorithm:
        encr = v;
        break;
      case IkeAttr.HashAlgorithm:
        hash = v;
        break;
      case IkeAttr.AuthenticationMethod:
        auth = v;
        break;
      case IkeAttr.GroupDescription:
        group = v;
        break;
      case IkeAttr.KeyLength:
        keyBits = v;
        break;
      case IkeAttr.LifeType:
        if (pendingLifeType !== undefined) return { ok: false, reason: "Life-Type without Life-Duration" };
        if (v !== LifeType.Seconds && v !== LifeType.Kilobytes) return { ok: false, reason: `Life-Type ${v}` };
        pendingLifeType = v;
        break;
      case IkeAttr.LifeDuration:
        if (pendingLifeType === undefined) return { ok: false, reason: "Life-Duration without Life-Type" };
        if (pendingLifeType === LifeType.Seconds) lifeSecs = v;
        else lifeKb = v;
        pendingLifeType = undefined;
        break;
      default:
        return { ok: false, reason: `attribute ${a.type} not supported` };
    }
  }
  if (pendingLifeType !== undefined) return { ok: false, reason: "Life-Type without Life-Duration" };
  if (encr === undefined || hash === undefined || auth === undefined || group === undefined) {
    return { ok: false, reason: "mandatory attribute missing" };
  }
  return {
    ok: true,
    value: {
      encr,
      hash,
      auth,
      group,
      ...(keyBits !== undefined ? { keyBits } : {}),
      ...(lifeSecs !== undefined ? { lifeSecs } : {}),
      ...(lifeKb !== undefined ? { lifeKb } : {}),
    },
  };
}

/** The key size a transform means: its Key Length, or the cipher's default; undefined if invalid. */
export function effectiveKeyBits(t: P1Transform): number | undefined {
  const c = cipherById(t.encr);
  if (!c) return undefined;
  if (!c.variableKeyLength) return t.keyBits === undefined || t.keyBits === c.keyBits.default ? c.keyBits.default : undefined;
  const bits = t.keyBits ?? c.keyBits.default;
  return keyBitsAllowed(c.keyBits, bits) ? bits : undefined;
}

/** Whether an offered transform is acceptable under one configured `p1_xform`. */
export function xformAccepts(x: P1Xform, t: P1Transform): boolean {
  if (t.encr !== x.encrAlg || t.hash !== x.authAlg || t.auth !== x.authMethod || t.group !== x.oakleyGroup) return false;
  if (!hashById(t.hash) || !groupById(t.group)) return false;
  const bits = effectiveKeyBits(t);
  if (bits === undefined) return false;
  const c = cipherById(t.encr)!;
  if (c.variableKeyLength) {
    if (x.encrKeyLen !== undefined) return bits >= x.encrKeyLen.low && bits <= x.encrKeyLen.high;
    // Without a range only AES has several sizes; Blowfish stays at its default (no config syntax).
    return c.keyBits.step === 64 ? true : bits === c.keyBits.default;
  }
  return true;
}

/** The responder's pick: which offered transform, and the lifetime the SA will really have. */
export interface P1Choice {
  /** Index into the offered list. */
  readonly index: number;
  readonly transform: P1Transform;
  readonly keyBits: number;
  /** min(proposed, configured); the configured one when none was proposed. */
  readonly lifeSecs: number;
}

/**
 * RFC 2409 section 5: the responder picks one transform of the initiator's proposal. We take the
 * first offered transform (the initiator's preference) that one of our `p1_xform`s accepts, and
 * that uses an authentication method in `methods`.
 */
export function selectP1(
  offered: readonly (readonly DataAttribute[])[],
  xforms: readonly P1Xform[],
  methods: readonly number[] = [AuthMethod.PreSharedKey],
  defaultLifeSecs = DEFAULT_P1_LIFETIME_SECS,
): P1Choice | { readonly reasons: string[] } {
  const reasons: string[] = [];
  for (let i = 0; i < offered.length; i++) {
    const p = parseP1Attributes(offered[i]!);
    if (!p.ok) {
      reasons.push(`#${i}: ${p.reason}`);
      continue;
    }
    const t = p.value;
    if (!methods.includes(t.auth)) {
      reasons.push(`#${i}: auth method ${t.auth} not available`);
      continue;
    }
    const x = xforms.find((cand) => xformAccepts(cand, t));
    if (x === undefined) {
      reasons.push(`#${i}: no p1_xform matches`);
      continue;
    }
    const ours = x.p1LifetimeSecs ?? defaultLifeSecs;
    const lifeSecs = t.lifeSecs !== undefined && t.lifeSecs > 0 ? Math.min(t.lifeSecs, ours) : ours;
    return { index: i, transform: t, keyBits: effectiveKeyBits(t)!, lifeSecs };
  }
  return { reasons };
}

/**
 * The initiator's check of MM2's SA: the one transform must be one we offered (algorithms, group,
 * method and key size). The lifetime may differ: a shorter one is adopted, as strongSwan does; a
 * longer one is not, since the responder's echo cannot make us keep keys longer than we proposed.
 */
export function matchP1Reply(attrs: readonly DataAttribute[], proposed: readonly P1Transform[]): P1Choice | { readonly reasons: string[] } {
  const p = parseP1Attributes(attrs);
  if (!p.ok) return { reasons: [p.reason] };
  const t = p.value;
  const bits = effectiveKeyBits(t);
  const i = proposed.findIndex(
    (o) => o.encr === t.encr && o.hash === t.hash && o.auth === t.auth && o.group === t.group && effectiveKeyBits(o) === bits,
  );
  if (i < 0 || bits === undefined) return { reasons: ["chosen transform was not offered"] };
  const ours = proposed[i]!.lifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
  const lifeSecs = t.lifeSecs !== undefined && t.lifeSecs > 0 ? Math.min(t.lifeSecs, ours) : ours;
  return { index: i, transform: t, keyBits: bits, lifeSecs };
}
