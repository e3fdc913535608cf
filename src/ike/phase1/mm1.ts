/**
 * The Main Mode responder's first step (RFC 2409 section 5, RFC 2408 section 4.5):
 *
 * ```
 *  MM1  HDR, SA    -->
 *  MM2             <--   HDR, SA   (one offered transform, echoed)
 * ```
 *
 * A pure function of MM1 and the rule, with no SA and no keys, so that MM1 can be answered before
 * its sender has shown it receives our packets (src/ike/admission.ts keeps only a compact record
 * until MM3 returns our cookie), and a retransmitted MM1 gets the very same MM2.
 */
import { Notify, PayloadType, type Payload, type SaPayload } from "../../codec/index.js";
import type { ResolvedRule } from "../../config/types.js";
import type { NattVersion } from "../natt.js";
import { dpdVendorIds, hasDpdVendorId } from "../dpd.js";
import { echoSaPayload, first, offeredTransforms, payloadBody } from "./phase1.js";
import { DEFAULT_P1_LIFETIME_SECS, selectP1, type P1Choice } from "./proposal.js";

/** What a responder must remember of MM1 to go on at MM3: the chosen transform and SAi_b. */
export interface Mm1Record {
  readonly choice: P1Choice;
  /** The body of the initiator's SA payload, as received (HASH_I and HASH_R cover it). */
  readonly saiB: Buffer;
  /** The NAT-T version MM1 announced and MM2 chose (RFC 3947 section 3.1), when NAT-T is on. */
  readonly natt?: NattVersion;
  /** MM1 carried the DPD vendor ID (RFC 3706). */
  readonly peerDpd?: boolean;
}

/** The responder's answer to MM1: what to remember, and MM2's payloads (SA, then our vendor IDs). */
export interface Mm1Answer extends Mm1Record {
  readonly reply: readonly Payload[];
}

/** The authentication methods we can use under a rule, and why configured ones are not (phase1/methods.ts). */
export interface UsableMethods {
  readonly methods: readonly number[];
  readonly problems: readonly string[];
}

/**
 * The responder's step on MM1 as a pure function of MM1's payloads, the rule and the methods we
 * can use under it (RFC 2409 section 5: choose one offered transform and echo it), with no SA: so
 * MM1 can be answered before its sender has shown it receives our packets, and a retransmitted
 * MM1 gets the very same MM2. `saiB` is a view into the payloads' datagram.
 */
export function answerMm1(
  payloads: readonly Payload[],
  rule: ResolvedRule,
  usable: UsableMethods,
  defaultLifeSecs?: number,
): Mm1Answer | { readonly notify: number; readonly reason: string } {
  const sa: SaPayload | undefined = first(payloads, PayloadType.SA);
  if (sa === undefined) return { notify: Notify.PayloadMalformed, reason: "MM1 without SA" };
  const offered = offeredTransforms(sa);
  if (offered.length === 0) return { notify: Notify.NoProposalChosen, reason: "MM1 offers no ISAKMP transform" };
  const life = defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
  const choice = selectP1(offered.map((o) => o.attributes), rule.p1Xforms, usable.methods, life);
  if ("reasons" in choice) {
    return { notify: Notify.NoProposalChosen, reason: `no acceptable transform: ${[...usable.problems, ...choice.reasons].slice(0, 4).join("; ")}` };
  }
  return {
    choice,
    saiB: sa.raw?.body ?? payloadBody(sa),
    peerDpd: hasDpdVendorId(payloads),
    reply: [echoSaPayload(sa, offered[choice.index]!), ...dpdVendorIds(rule)],
  };
}
