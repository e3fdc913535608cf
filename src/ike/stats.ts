/**
 * The counters `ikeadm get stats` prints (the original's door struct `ike_stats_t`, see
 * shared/reference/ikeadm.md section 3.4), plus engine counters for debugging that the original
 * does not have. The field names of {@link P1Stats} are the original's without the `st_` prefix.
 * Negotiation outcomes by exchange, role and failure class are in negotiation-stats.ts.
 *
 * Every field of {@link EngineStats} is a monotonic counter that the metrics endpoint exports as
 * `iked_<name>_total` (src/metrics/engine-counters.ts names each one: a new field fails to compile
 * until it has its line there).
 */
import { newNegotiationCounts, type NegotiationCounts } from "./negotiation-stats.js";

/** Phase 1 counters, as in `ike_stats_t`. */
export interface P1Stats {
  /** Live Phase 1 SAs where we were initiator / responder. */
  init_p1_current: number;
  resp_p1_current: number;
  /** Phase 1 SAs completed since start. */
  init_p1_total: number;
  resp_p1_total: number;
  /** Attempts, failures included. */
  init_p1_attempts: number;
  resp_p1_attempts: number;
  /** Initiator failures: the peer never answered. */
  init_p1_noresp: number;
  /** Initiator failures after the peer answered. */
  init_p1_respfail: number;
  /** Responder failures. */
  resp_p1_fail: number;
}

/** Engine counters beyond the original's. */
export interface EngineStats {
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams that did not decode, had unknown cookies, or were refused before reaching an SA. */
  dropped: number;
  /** Requests answered from the reply cache. */
  retransmitsAnswered: number;
  /** Our own retransmissions. */
  retransmitsSent: number;
  /** Phase 1 rekeys started before an initiator SA's lifetime ran out. */
  phase1Rekeys: number;
  /** Quick Modes started again for IPsec SAs whose soft lifetime ran out (kernel EXPIRE). */
  phase2Rekeys: number;
  /** New responder exchanges refused by the half-open limits. */
  halfOpenRefused: number;
  /** Incomplete exchanges discarded by `expire_timer` or by the retry limit. */
  expired: number;
  /** MM1s answered with MM2 and an embryonic record, no SA (admission.ts). */
  embryonic: number;
  /** Embryonic records dropped to make room for newer ones. */
  embryonicEvicted: number;
  /** MM3s carrying our cookie whose embryonic record had expired or been evicted. */
  embryonicMissed: number;
  /** Bytes received from, and sent to, peers that have not returned our cookie (yet). */
  unverifiedBytesIn: number;
  unverifiedBytesOut: number;
  /** ISAKMP SAs that followed their peer to new endpoints: NAT-T float or NAT rebinding (RFC 3947). */
  nattMoves: number;
  /** Kernel IPsec SAs whose UDP encapsulation took the peer's new port after a NAT rebinding. */
  nattIpsecRebound: number;
  /** Kernel IPsec SAs (both of a pair) the kernel refused the new port for: deleted, negotiated afresh. */
  nattIpsecRebindFailed: number;
  /** Datagrams to unverified peers not sent: they would exceed 3x the bytes received (amplification.ts). */
  amplificationRefused: number;
  /** AM1s dropped because the DH slots for unverified peers were all taken (dh-budget.ts). */
  unverifiedDhRefused: number;
  /** RFC 3706 R-U-THEREs we sent (dpd.ts). */
  dpdProbes: number;
  /** R-U-THERE-ACKs that answered one of our probes. */
  dpdAcks: number;
  /** R-U-THERE-ACKs ignored: a sequence number of no unanswered probe (late, replayed, forged). */
  dpdAcksIgnored: number;
  /** Peers declared dead after `dpd_retries` unanswered R-U-THEREs. */
  dpdPeersDead: number;
}

/** A copy of all counters at one moment. */
export type StatsSnapshot = P1Stats & EngineStats;

/** Mutable counters owned by one engine. */
export class IkeStats {
  readonly p1: P1Stats = {
    init_p1_current: 0,
    resp_p1_current: 0,
    init_p1_total: 0,
    resp_p1_total: 0,
    init_p1_attempts: 0,
    resp_p1_attempts: 0,
    init_p1_noresp: 0,
    init_p1_respfail: 0,
    resp_p1_fail: 0,
  };
  readonly engine: EngineStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    dropped: 0,
    retransmitsAnswered: 0,
    retransmitsSent: 0,
    phase1Rekeys: 0,
    phase2Rekeys: 0,
    halfOpenRefused: 0,
    expired: 0,
    embryonic: 0,
    embryonicEvicted: 0,
    embryonicMissed: 0,
    unverifiedBytesIn: 0,
    unverifiedBytesOut: 0,
    amplificationRefused: 0,
    unverifiedDhRefused: 0,
    nattMoves: 0,
    nattIpsecRebound: 0,
    nattIpsecRebindFailed: 0,
    dpdProbes: 0,
    dpdAcks: 0,
    dpdAcksIgnored: 0,
    dpdPeersDead: 0,
  };

  /** Started, established and failed negotiations by phase, exchange, role and failure class. */
  readonly negotiations: NegotiationCounts = newNegotiationCounts();

  snapshot(): StatsSnapshot {
    return { ...this.p1, ...this.engine };
  }
}
