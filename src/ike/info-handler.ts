/**
 * Informational exchanges we receive (RFC 2408 section 5.1 onwards, RFC 2409 section 5.7). In the
 * clear: an error notify ends our initiator exchange before MM2/AM2 and is ignored after.
 * Protected: dropped when its message ID was used before (a replay), else HASH(1) verified, then
 * Deletes, DPD and status notifies are acted on; what concerns an exchange in progress (a refused
 * Phase 1 or Quick Mode, CONNECTED, RESPONDER-LIFETIME) goes to its handler through the small
 * notice interfaces below.
 */
import { Notify, PayloadType, ProtocolId, type Message } from "../codec/index.js";
import { ZERO_COOKIE } from "./cookies.js";
import type { EngineIo } from "./engine-io.js";
import type { EmitEvent } from "./events.js";
import type { ExchangeHandler, Inbound, Route } from "./inbound.js";
import type { DeadPeerDetection } from "./dpd.js";
import { readInformational } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
import type { SaManager } from "./sa-manager.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import { readResponderLifetime } from "./phase2/responder-lifetime.js";

/** What Informationals tell the Phase 1 side (the Phase 1 handler). */
export interface Phase1Notices {
  /** The peer refused our Phase 1 with an error notify: end it without answering. */
  refused(sa: IsakmpSa, reason: string, notify: number): void;
  /** The responder's Phase 1 RESPONDER-LIFETIME, in seconds; true when applied. */
  shortenLifetime(sa: IsakmpSa, secs: number): boolean;
}

/** What Informationals tell the Quick Mode side (the Quick Mode handler). */
export interface QuickModeNotices {
  /**
   * A protected error notify about one of our Quick Modes, named by its SPI or by the message ID
   * the Informational carries; true when an exchange was ended.
   */
  refused(sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer, messageId: number): boolean;
  /** The peer deleted the SAs of a Quick Mode we answer that still waits for QM3; true when one ended. */
  deletedByPeer(sa: IsakmpSa, proto: "esp" | "ah", spi: number): boolean;
  /** The responder's CONNECTED for our committed Quick Mode; true when one waited for it. */
  connected(sa: IsakmpSa, protocolId: number, spi: Buffer, messageId: number): boolean;
  /** Whether a Quick Mode with this message ID is still running on `sa`. */
  running(sa: IsakmpSa, messageId: number): boolean;
}

/** What the Informational handler works with. */
export interface InfoHandlerContext {
  readonly io: EngineIo;
  readonly ipsec: IpsecSas;
  /** The ISAKMP SAs, for the heir of one the peer deletes. */
  readonly sas: Pick<SaManager<unknown>, "newestEstablished">;
  readonly emit: EmitEvent;
  readonly log: IkeLog;
  readonly phase1: Phase1Notices;
  readonly quick: QuickModeNotices;
  /** Answers R-U-THERE, matches ACKs to our probes. */
  readonly dpd: Pick<DeadPeerDetection, "ruThere" | "ack">;
}

/** The engine's Informational handler. */
export class InfoHandler implements ExchangeHandler {
  constructor(private readonly ctx: InfoHandlerContext) {}

  route(sa: IsakmpSa, m: Message): Route | string {
    if (m.kind === "plain") {
      if (sa.state !== "negotiating") return "unprotected Informational on an established SA";
      return { position: undefined, refused: () => undefined, deliver: (i) => this.unprotected(i) };
    }
    if (sa.keymat === undefined || !sa.keymat.derived || m.header.messageId === 0) return "protected Informational without keys";
    // RFC 2408 section 3.1: a message ID names one exchange. One this SA used already is a replay
    // (a Delete or R-U-THERE acted on once is not acted on again), unless a Quick Mode of that ID
    // still runs and the Informational is about it.
    const mid = m.header.messageId;
    if (sa.messageIds.has(mid) && !this.ctx.quick.running(sa, mid)) return `Informational ${mid >>> 0}: message ID already used (replay)`;
    return {
      position: "INFO",
      refused: (e) => this.ctx.io.drop(sa.remote, `${sa.tag}: Informational ${e.code}`),
      deliver: (i) => this.protected(i),
    };
  }

  /**
   * An unprotected Informational during Phase 1. Its error notify ends our exchange only while we
   * are an initiator still waiting for MM2/AM2: RFC 2408 section 4.8 has Informationals before any
   * keying material go unprotected, and a responder refusing every proposal must say so with
   * NO-PROPOSAL-CHOSEN (section 5.6, SA payload processing) — in the clear, the initiator's only
   * word of it. Once MM2/AM2 has gone, anyone who saw the cookies could forge such a notify
   * (section 4.8: from keying material on, Informationals MUST be protected), so it is logged and
   * ignored: the exchange goes on, or ends at its retransmission limit or `expire_timer`.
   */
  private async unprotected({ sa, payloads }: Inbound): Promise<void> {
    for (const p of payloads) {
      if (p.type !== PayloadType.N || p.notifyType >= 16384) continue;
      if (sa.role === "initiator" && sa.rcookie.equals(ZERO_COOKIE)) {
        sa.peerAnswered = true;
        return this.ctx.phase1.refused(sa, `peer sent notify ${p.notifyType}`, p.notifyType);
      }
      this.ctx.log.info({ sa: sa.tag, notify: p.notifyType }, "unprotected notify after MM2/AM2 ignored");
      return this.ctx.io.drop(sa.remote, `${sa.tag}: unprotected notify ${p.notifyType} after MM2/AM2`);
    }
  }

  private async protected(i: Inbound): Promise<void> {
    const { io, ipsec, log } = this.ctx;
    const { sa, header } = i;
    const mid = header.messageId;
    const events = readInformational(sa, mid, i.payloads);
    i.settle(false);
    // Only a verified message may end IV state: a forgery could carry an open Quick Mode's M-ID.
    if (events === null) return io.drop(sa.remote, `${sa.tag}: Informational HASH(1) does not verify`);
    sa.keymat!.endExchange(mid);
    if (!sa.useMessageId(mid)) return io.drop(sa.remote, `${sa.tag}: Informational ${mid >>> 0}: the ISAKMP SA's message IDs are used up`);
    sa.heard(); // verified: the peer is alive (DPD)
    // Verified: a peer behind a NAT that rebound (a DPD probe is often its first word) is followed.
    i.verified();
    for (const e of events) {
      switch (e.kind) {
        case "delete-isakmp":
          if (e.icookie.equals(sa.icookie) && e.rcookie.equals(sa.rcookie)) {
            log.info({ sa: sa.tag }, "peer deleted the ISAKMP SA");
            // Its IPsec SAs live on (RFC 2409 allows it): handed to the newest ISAKMP SA with the
            // same peer on these addresses, as at the end of a lifetime (phase1/lifetime.ts), so
            // that their Deletes, DPD and NAT rebinding still reach them (strongSwan and Libreswan
            // delete their old ISAKMP SA after a Phase 1 rekey); with none, still followed until
            // they leave the kernel.
            const heir = this.ctx.sas.newestEstablished(sa.remote.address, sa.local.address, sa, sa.phase1?.peerId);
            if (heir !== undefined) ipsec.handOver(sa, heir);
            ipsec.orphan(sa);
            sa.destroy("deleted by peer");
            return;
          }
          break;
        case "delete-ipsec":
          for (const spi of e.spis) {
            const c = ipsec.of(sa).find((x) => x.proto === e.proto && x.outboundSpi === spi);
            // Not ours yet: the SAs of a Quick Mode still waiting for QM3 go with that exchange.
            if (c === undefined && this.ctx.quick.deletedByPeer(sa, e.proto, spi)) continue;
            // Not recorded under this SA: the peer may delete only what was negotiated with its
            // identity on these addresses (under an older ISAKMP SA); another user's behind the
            // same NAT address, or an SA we did not negotiate, stays.
            if (c === undefined && !ipsec.ownedByPeerOf(sa, e.proto, spi)) {
              log.info({ sa: sa.tag, proto: e.proto, spi }, "peer's Delete names an SA not negotiated with it: ignored");
              continue;
            }
            await ipsec.removePair(sa, e.proto, spi, c?.inboundSpi);
          }
          break;
        case "r-u-there":
          this.ctx.dpd.ruThere(sa, e.spi, e.seq);
          break;
        case "r-u-there-ack":
          this.ctx.dpd.ack(sa, e.spi, e.seq);
          break;
        case "notify":
          if (this.notify(sa, mid, e.notifyType, e.protocolId, e.spi, e.data)) return;
          break;
        default: {
          const never: never = e;
          throw new Error(`unhandled ${String(never)}`);
        }
      }
    }
  }

  /** A protected status or error notify; true when it ended the Phase 1 exchange. */
  private notify(sa: IsakmpSa, mid: number, notifyType: number, protocolId: number, spi: Buffer, data: Buffer): boolean {
    const { log, phase1, quick } = this.ctx;
    log.info({ sa: sa.tag, notify: notifyType }, "peer sent a protected notify");
    if (notifyType === Notify.Connected && !quick.connected(sa, protocolId, spi, mid)) {
      log.debug({ sa: sa.tag }, "CONNECTED for no Quick Mode of ours");
    }
    if (notifyType === Notify.ResponderLifetime && protocolId === ProtocolId.ISAKMP) {
      // Phase 1's RESPONDER-LIFETIME (after MM6/AM3); only about this SA's own cookies.
      const secs = readResponderLifetime(data, true)?.lifeSecs;
      const ours = spi.length === 16 && spi.subarray(0, 8).equals(sa.icookie) && spi.subarray(8).equals(sa.rcookie);
      if (!ours || secs === undefined || !phase1.shortenLifetime(sa, secs)) log.debug({ sa: sa.tag }, "Phase 1 RESPONDER-LIFETIME not applied");
    }
    if (notifyType < 16384 && sa.state === "negotiating") {
      // RFC 2409 section 5.7: the peer refused our Phase 1 after keys existed (MM5/MM6
      // authentication or ID) and said so under those keys.
      sa.peerAnswered = true;
      phase1.refused(sa, `peer sent protected notify ${notifyType}`, notifyType);
      return true;
    }
    if (notifyType < 16384) {
      this.ctx.emit("peer-notify", sa, notifyType);
      quick.refused(sa, notifyType, protocolId, spi, mid);
    }
    return false;
  }
}
