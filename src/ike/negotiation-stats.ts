/**
 * How negotiations end, counted by phase, exchange, role and failure class: what `ikeadm get stats
 * --json` and the metrics endpoint (src/metrics) report beyond the original's `ike_stats_t`. Plain
 * numbers in fixed tables: the engine pays one increment per negotiation step; readers copy them
 * when asked (a scrape), so nothing here knows about Prometheus.
 *
 * A negotiation is counted once as started (Phase 1: the ISAKMP SA enters `negotiating`; Quick
 * Mode: its exchange is created) and once as established or failed, so at any moment
 * started = established + failed + still running.
 */
import { Notify } from "../codec/index.js";

/**
 * Why a negotiation failed: a fixed set, so a metric label stays bounded. Mapped from the notify
 * that ended it (ours or the peer's, {@link failureOfNotify}) or named by the engine where no
 * notify says it (`timeout`, `aborted`).
 */
export const FAILURE_CLASSES = [
  /** No answer: the retransmission limit, or `expire_timer` for an unfinished Phase 1. */
  "timeout",
  /** NO-PROPOSAL-CHOSEN and the other ways of saying the offer was not acceptable. */
  "no_proposal_chosen",
  /** A HASH or signature that did not verify, AUTHENTICATION-FAILED, a body that did not decrypt. */
  "authentication_failed",
  /** A certificate that was malformed, untrusted, of an unsupported type or missing. */
  "certificate",
  /** INVALID-ID-INFORMATION: an identity the rule or the peer does not accept. */
  "invalid_id",
  /** INVALID-KEY-INFORMATION: a Diffie-Hellman value refused. */
  "invalid_key",
  /** A message that did not decode or broke the exchange's rules. */
  "invalid_payload",
  /** Any other error notify. */
  "other_notify",
  /** Ended from outside: the SA deleted (by us, the peer, INITIAL-CONTACT) or the daemon stopping. */
  "aborted",
  /** Our side, without a notify: configuration, crypto pool, kernel. */
  "local",
] as const;

/** One failure class. */
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** The Phase 1 exchanges. */
export const PHASE1_EXCHANGES = ["main", "aggressive"] as const;
export type Phase1Exchange = (typeof PHASE1_EXCHANGES)[number];

/** Roles (the same words as the ISAKMP SA's). */
export const NEGOTIATION_ROLES = ["initiator", "responder"] as const;
export type NegotiationRole = (typeof NEGOTIATION_ROLES)[number];

const CLASS_OF_NOTIFY: ReadonlyMap<number, FailureClass> = new Map<number, FailureClass>([
  [Notify.NoProposalChosen, "no_proposal_chosen"],
  [Notify.BadProposalSyntax, "no_proposal_chosen"],
  [Notify.AttributesNotSupported, "no_proposal_chosen"],
  [Notify.InvalidTransformId, "no_proposal_chosen"],
  [Notify.InvalidProtocolId, "no_proposal_chosen"],
  [Notify.DoiNotSupported, "no_proposal_chosen"],
  [Notify.SituationNotSupported, "no_proposal_chosen"],
  [Notify.AuthenticationFailed, "authentication_failed"],
  [Notify.InvalidHashInformation, "authentication_failed"],
  [Notify.InvalidSignature, "authentication_failed"],
  [Notify.InvalidCertEncoding, "certificate"],
  [Notify.InvalidCertificate, "certificate"],
  [Notify.CertTypeUnsupported, "certificate"],
  [Notify.InvalidCertAuthority, "certificate"],
  [Notify.CertificateUnavailable, "certificate"],
  [Notify.InvalidIdInformation, "invalid_id"],
  [Notify.InvalidKeyInformation, "invalid_key"],
  [Notify.InvalidPayloadType, "invalid_payload"],
  [Notify.PayloadMalformed, "invalid_payload"],
  [Notify.UnequalPayloadLengths, "invalid_payload"],
  [Notify.InvalidFlags, "invalid_payload"],
  [Notify.InvalidMessageId, "invalid_payload"],
  [Notify.InvalidCookie, "invalid_payload"],
  [Notify.InvalidSpi, "invalid_payload"],
  [Notify.InvalidMajorVersion, "invalid_payload"],
  [Notify.InvalidMinorVersion, "invalid_payload"],
  [Notify.InvalidExchangeType, "invalid_payload"],
  [Notify.UnsupportedExchangeType, "invalid_payload"],
]);

/** The class of a failure ended by `notify`; without one, a failure of our own side. */
export function failureOfNotify(notify: number | undefined): FailureClass {
  if (notify === undefined) return "local";
  return CLASS_OF_NOTIFY.get(notify) ?? "other_notify";
}

/** Outcomes of one kind of negotiation. */
export interface OutcomeCounts {
  started: number;
  established: number;
  failed: Record<FailureClass, number>;
}

/** Every negotiation outcome of one engine. */
export interface NegotiationCounts {
  readonly phase1: Record<Phase1Exchange, Record<NegotiationRole, OutcomeCounts>>;
  /** Phase 2: Quick Mode. */
  readonly quick: Record<NegotiationRole, OutcomeCounts>;
}

function outcomes(): OutcomeCounts {
  const failed = {} as Record<FailureClass, number>;
  for (const c of FAILURE_CLASSES) failed[c] = 0;
  return { started: 0, established: 0, failed };
}

const byRole = (): Record<NegotiationRole, OutcomeCounts> => ({ initiator: outcomes(), responder: outcomes() });

/** Zeroed tables. */
export function newNegotiationCounts(): NegotiationCounts {
  return { phase1: { main: byRole(), aggressive: byRole() }, quick: byRole() };
}
