/**
 * Quick Mode SA lifetimes in seconds and kilobytes (RFC 2407 sections 4.5 and 4.6.3.1).
 *
 * Each transform may carry a Life-Type/Life-Duration pair per type; an absent kilobyte lifetime
 * means no byte limit, an absent seconds lifetime means the RFC 2407 default of 28800 s. Both
 * roles keep the shorter of each: the initiator what it proposed against what the responder
 * echoed or notified; the responder what was proposed against its own policy, telling the
 * initiator with RESPONDER-LIFETIME when its own is shorter, as Libreswan and racoon do.
 */
import type { ResolvedRule } from "../../config/types.js";
import { readResponderLifetime } from "./responder-lifetime.js";

/** RFC 2407 section 4.5: the lifetime when a transform says none. */
export const DEFAULT_P2_LIFETIME_SECS = 28800;

/** An IPsec SA's lifetimes; `kb` undefined: no byte limit. */
export interface Phase2Life {
  readonly secs: number;
  readonly kb?: number;
}

/** What a transform proposed or echoed (0 counts as absent). */
export interface ProposedLife {
  readonly lifeSecs?: number;
  readonly lifeKb?: number;
}

const given = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined);

const minKb = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

const withKb = (secs: number, kb: number | undefined): Phase2Life => (kb === undefined ? { secs } : { secs, kb });

/** Our own lifetimes from the rule (`p2_lifetime_secs`, `p2_lifetime_kb`). */
export function ruleLife(rule: ResolvedRule): Phase2Life {
  return withKb(rule.p2LifetimeSecs ?? DEFAULT_P2_LIFETIME_SECS, given(rule.p2LifetimeKb));
}

/** The shorter of `life` and what a transform says (the initiator reading QM2's echo). */
export function narrow(life: Phase2Life, t: ProposedLife): Phase2Life {
  const secs = given(t.lifeSecs);
  return withKb(secs === undefined ? life.secs : Math.min(life.secs, secs), minKb(life.kb, given(t.lifeKb)));
}

/**
 * The initiator honouring a RESPONDER-LIFETIME notify's data: each lifetime it carries that is
 * shorter than ours replaces ours; a longer one is no reason to keep the SAs longer than we
 * proposed. Unreadable data changes nothing.
 */
export function honourNotify(life: Phase2Life, data: Buffer): Phase2Life {
  const r = readResponderLifetime(data);
  return r === undefined ? life : narrow(life, r);
}

/** The responder's choice for one proposed transform, and what RESPONDER-LIFETIME must say. */
export interface ResponderLife {
  readonly life: Phase2Life;
  /** Present when ours is shorter than proposed in at least one type: the lifetimes to notify. */
  readonly notify?: { readonly secs?: number; readonly kb?: number };
}

/** Accept the proposed lifetimes, expiring at the shorter of each and ours. */
export function responderLife(rule: ResolvedRule, t: ProposedLife): ResponderLife {
  const ours = ruleLife(rule);
  const proposedSecs = given(t.lifeSecs) ?? DEFAULT_P2_LIFETIME_SECS;
  const proposedKb = given(t.lifeKb);
  const life = withKb(Math.min(ours.secs, proposedSecs), minKb(ours.kb, proposedKb));
  const secsShorter = ours.secs < proposedSecs;
  const kbShorter = ours.kb !== undefined && (proposedKb === undefined || ours.kb < proposedKb);
  if (!secsShorter && !kbShorter) return { life };
  return {
    life,
    notify: { ...(secsShorter ? { secs: ours.secs } : {}), ...(kbShorter ? { kb: ours.kb } : {}) },
  };
}

/**
 * The soft byte lifetime to install with a hard one of `kb`: `p2_softlife_kb` when below it, else
 * 90% (as the config resolver does for an explicit hard lifetime, and as for seconds).
 */
export function softKb(rule: ResolvedRule, kb: number): number {
  const soft = given(rule.p2SoftlifeKb);
  return soft !== undefined && soft < kb ? soft : Math.floor(kb * 0.9);
}
