/**
 * The engine's outgoing side (RFC 2408 sections 3.1 and 5): header flags, encryption with the SA's
 * Phase 1 keys, protected Informationals (RFC 2409 section 5.7, HASH(1)) and unprotected error
 * notifies (RFC 2408 section 3.14, before keys exist), retransmission of our unanswered messages
 * with the configured backoff, plus the dropped-datagram count. The transport is the only way out;
 * nothing here parses.
 */
import { Doi, ExchangeType, HeaderFlag, PayloadType, ProtocolId, encodeEncrypted, encodeMessage, encodePayloads, type DeletePayload, type NotifyPayload } from "../codec/index.js";
import { AmplificationLimit } from "./amplification.js";
import { protectedInformational } from "./informational.js";
import type { Clock } from "../clock.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { dropChannel, type IkeLog } from "./log.js";
import { Retransmitter, type RetransmitPolicy } from "./retransmit.js";
import type { IkeStats } from "./stats.js";
import type { Outgoing } from "./step.js";
import { endpointKey, type Endpoint, type Transport } from "./transport.js";

/** Encoding and sending for one engine. */
export class EngineIo {
  /** Bytes in and out per address whose exchanges are not verified. */
  readonly amplification = new AmplificationLimit();

  constructor(
    private readonly transport: Transport,
    private readonly stats: IkeStats,
    private readonly log: IkeLog,
    private readonly random: (n: number) => Buffer,
    private readonly clock: Clock,
    /** Backoff and limit of every retransmission (ike.config `retry_*`). */
    readonly retransmit: RetransmitPolicy,
  ) {}

  /**
   * Resends `datagram` to the SA's peer with the configured backoff once started; `onGiveUp` when
   * the limit passes unanswered. Resends count as `retransmitsSent`.
   */
  retransmitter(sa: IsakmpSa, datagram: Buffer, onGiveUp: () => void): Retransmitter {
    // Both run from the retransmission timer: inside the SA's boundary (what they throw ends the SA).
    const send = (again: boolean): void =>
      sa.guard("retransmission", () => {
        if (again) this.stats.engine.retransmitsSent++;
        this.send(sa, datagram);
      });
    return new Retransmitter(this.clock, this.retransmit, send, () => sa.guard("retransmission limit", onGiveUp));
  }

  /** One message of `sa`: encrypted with its keys when `o.encrypt`, commit bit when `o.commit`. */
  encode(sa: IsakmpSa, o: Outgoing, exchangeType: number = ExchangeType.IdentityProtection, messageId = 0): Buffer {
    const header = {
      icookie: sa.icookie,
      rcookie: sa.rcookie,
      exchangeType,
      flags: (o.encrypt ? HeaderFlag.Encryption : 0) | (o.commit === true ? HeaderFlag.Commit : 0),
      messageId,
    };
    if (!o.encrypt) return encodeMessage(header, o.payloads);
    const ct = sa.keymat!.encrypt(messageId, encodePayloads(o.payloads));
    return encodeEncrypted(header, o.payloads[0]!.type, ct);
  }

  /** Answer a retransmitted request with what we sent the first time (counted, never recomputed). */
  answerAgain(sa: IsakmpSa, cached: readonly Buffer[]): void {
    this.stats.engine.retransmitsAnswered++;
    for (const d of cached) this.send(sa, d);
  }

  /** `bytes` arrived from `remote` for no SA, or for one whose peer is not verified yet. */
  receivedUnverified(remote: Endpoint, bytes: number): void {
    this.stats.engine.unverifiedBytesIn += bytes;
    this.amplification.received(remote.address, bytes);
  }

  /**
   * Whether a datagram of `bytes` may go to `remote`: always to a verified peer; to any other
   * address only within the anti-amplification bound (counted as sent when it may).
   */
  private mayReach(remote: Endpoint, bytes: number, verified: boolean): boolean {
    if (verified) return true;
    if (this.amplification.allow(remote.address, bytes)) {
      this.stats.engine.unverifiedBytesOut += bytes;
      return true;
    }
    this.stats.engine.amplificationRefused++;
    this.log.debug({ peer: endpointKey(remote), bytes }, "not sent: 3x the bytes the unverified address sent us");
    return false;
  }

  /** Send to the SA's peer from the SA's local endpoint (bounded while the peer is not verified). */
  send(sa: IsakmpSa, datagram: Buffer): void {
    if (!this.mayReach(sa.remote, datagram.length, sa.verified)) return;
    this.stats.engine.datagramsOut++;
    if (!this.transport.send(datagram, sa.local, sa.remote)) {
      this.log.debug({ sa: sa.tag }, "send refused by transport");
    }
  }

  /** Send a datagram that belongs to no SA (MM2 of an embryonic exchange): bounded, as unverified. */
  sendTo(local: Endpoint, remote: Endpoint, datagram: Buffer): void {
    if (!this.mayReach(remote, datagram.length, false)) return;
    this.stats.engine.datagramsOut++;
    this.transport.send(datagram, local, remote);
  }

  /** A protected Informational datagram (new message ID, IV from the Phase 1 chain), not sent. */
  informational(sa: IsakmpSa, body: readonly (NotifyPayload | DeletePayload)[]): Buffer {
    let mid = 0;
    while (mid === 0 || sa.messageIds.has(mid)) mid = this.random(4).readUInt32BE(0);
    // Remembered as used, like the peer's: IKEv1's HASH(1) does not say who sent it, so a copy of
    // this message sent back to us would verify; as a used ID it is dropped as a replay before
    // (info-handler.ts), and can neither pass for the peer's word (DPD) nor move the SA (NAT-T).
    sa.messageIds.add(mid);
    const out = this.encode(sa, { payloads: protectedInformational(sa, mid, body), encrypt: true }, ExchangeType.Informational, mid);
    sa.keymat?.endExchange(mid);
    return out;
  }

  /** Send a protected Informational. */
  sendInformational(sa: IsakmpSa, body: readonly (NotifyPayload | DeletePayload)[]): void {
    this.send(sa, this.informational(sa, body));
  }

  /**
   * RFC 2408 section 3.14: an Informational exchange with one Notification, in the clear; bounded
   * unless `verified` (the peer returned our cookie, or we started the exchange).
   */
  notifyUnprotected(local: Endpoint, remote: Endpoint, icookie: Buffer, rcookie: Buffer, notifyType: number, verified = false): void {
    const mid = this.random(4).readUInt32BE(0) || 1;
    const d = encodeMessage({ icookie, rcookie, exchangeType: ExchangeType.Informational, flags: 0, messageId: mid }, [
      { type: PayloadType.N, doi: Doi.Ipsec, protocolId: ProtocolId.ISAKMP, notifyType, spi: Buffer.concat([icookie, rcookie]), data: Buffer.alloc(0) },
    ]);
    if (!this.mayReach(remote, d.length, verified)) return;
    this.stats.engine.datagramsOut++;
    this.transport.send(d, local, remote);
  }

  /** Count and log a datagram we do not act on (published on `iked:ike:drop` for tests). */
  drop(remote: Endpoint, reason: string): void {
    this.stats.engine.dropped++;
    this.log.debug({ peer: endpointKey(remote), reason }, "datagram dropped");
    if (dropChannel.hasSubscribers) dropChannel.publish({ peer: endpointKey(remote), reason });
  }
}
