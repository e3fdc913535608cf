/**
 * What one ISAKMP SA knows about Dead Peer Detection (RFC 3706): whether each side sent the DPD
 * vendor ID, when the peer was last heard from, our R-U-THERE sequence numbers still unanswered and
 * the peer's last one. The prober (dpd.ts) drives it; `ikeadm dump p1` shows it. No secrets.
 */

/** No R-U-THERE outstanding. */
export const NO_PROBES: readonly number[] = Object.freeze([]);

/** The DPD state of one ISAKMP SA. */
export class DpdState {
  /** We sent the DPD vendor ID (the rule's `dpd_interval_secs` was above 0). */
  weSent = false;
  /** The peer sent the DPD vendor ID in one of its Phase 1 messages. */
  peerSent = false;
  /** Probing runs: both sent the vendor ID and the SA is established. */
  active = false;
  /** When a verified message from the peer last arrived, or its IPsec SAs last carried traffic (clock ms). */
  lastHeard: number;
  /** When the peer last acknowledged an R-U-THERE (clock ms). */
  lastAck: number | undefined;
  /** Our last R-U-THERE sequence number (RFC 3706 section 7: random start, then one up per probe). */
  seq: number | undefined;
  /**
   * Sequence numbers of the R-U-THEREs sent since the peer was last heard from, unanswered. Empty:
   * one frozen array shared by every SA ({@link NO_PROBES}; most held SAs never probe), replaced
   * by an array of their own at the first probe.
   */
  unanswered: readonly number[] = NO_PROBES;
  /** When the first of those went out (clock ms). */
  probingSince: number | undefined;
  /** The highest R-U-THERE sequence number the peer sent us (older ones are replays, ignored). */
  peerSeq: number | undefined;
  /**
   * Inbound IPsec SA byte+packet counts at the last look, by `proto:spi` (traffic proves life);
   * made at the first look (most held SAs never probe: no map for them).
   */
  inboundUse: Map<string, number> | undefined;

  constructor(now: number) {
    this.lastHeard = now;
  }

  /** A plain copy for the admin socket. */
  view(): DpdView {
    return {
      enabled: this.active,
      weSent: this.weSent,
      peerSent: this.peerSent,
      lastHeardMs: this.lastHeard,
      ...(this.lastAck !== undefined ? { lastAckMs: this.lastAck } : {}),
      outstanding: this.unanswered.length,
      ...(this.seq !== undefined ? { seq: this.seq } : {}),
      ...(this.peerSeq !== undefined ? { peerSeq: this.peerSeq } : {}),
    };
  }
}

/** DPD state as `ikeadm get|dump p1` shows it (times are engine clock milliseconds). */
export interface DpdView {
  enabled: boolean;
  weSent: boolean;
  peerSent: boolean;
  lastHeardMs: number;
  lastAckMs?: number;
  /** R-U-THEREs sent and not answered. */
  outstanding: number;
  /** Our last sequence number. */
  seq?: number;
  /** The peer's last sequence number. */
  peerSeq?: number;
}
