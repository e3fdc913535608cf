/**
 * Informational exchanges we receive (RFC 2408 section 5.1 onwards, RFC 2409 section 5.7). In the
 * clear (before keys): an error notify ends a half-open exchange. Protected: HASH(1) verified, then
 * Deletes, DPD and status notifies are acted on; what concerns an exchange in progress (a refused
 * Phase 1 or Quick Mode, CONNECTED, RESPONDER-LIFETIME) goes to its handler through the small
 * notice interfaces below.
 */
import { Notify, PayloadType, ProtocolId, type Message } from "../codec/index.js";
import type { EngineIo } from "./engine-io.js";
import type { EmitEvent } from "./events.js";
import type { ExchangeHandler, Inbound, Route } from "./inbound.js";
import { dpdNotify, readInformational } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
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
  /** A protected error notify about one of our Quick Modes; true when an exchange was ended. */
  refused(sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer): boolean;
  /** The responder's CONNECTED for our committed Quick Mode; true when one waited for it. */
  connected(sa: IsakmpSa, protocolId: number, spi: Buffer): boolean;
}

/** What the Informational handler works with. */
export interface InfoHandlerContext {
  readonly io: EngineIo;
  readonly ipsec: IpsecSas;
  readonly emit: EmitEvent;
  readonly log: IkeLog;
  readonly phase1: Phase1Notices;
  readonly quick: QuickModeNotices;
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
    return {
      position: "INFO",
      refused: (e) => this.ctx.io.drop(sa.remote, `${sa.tag}: Informational ${e.code}`),
      deliver: (i) => this.protected(i),
    };
  }

  /** In the clear, before keys: an error notify ends the exchange. */
  private async unprotected({ sa, payloads }: Inbound): Promise<void> {
    for (const p of payloads) {
      if (p.type === PayloadType.N && p.notifyType < 16384) {
        sa.peerAnswered = true;
        return this.ctx.phase1.refused(sa, `peer sent notify ${p.notifyType}`, p.notifyType);
      }
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
    for (const e of events) {
      switch (e.kind) {
        case "delete-isakmp":
          if (e.icookie.equals(sa.icookie) && e.rcookie.equals(sa.rcookie)) {
            log.info({ sa: sa.tag }, "peer deleted the ISAKMP SA");
            sa.destroy("deleted by peer");
            return;
          }
          break;
        case "delete-ipsec":
          for (const spi of e.spis) {
            const c = ipsec.of(sa).find((x) => x.proto === e.proto && x.outboundSpi === spi);
            await ipsec.removePair(sa, e.proto, spi, c?.inboundSpi);
          }
          break;
        case "r-u-there":
          io.sendInformational(sa, [dpdNotify(sa, Notify.RUThereAck, e.seq)]);
          break;
        case "r-u-there-ack":
          log.debug({ sa: sa.tag }, "R-U-THERE-ACK");
          break;
        case "notify":
          if (this.notify(sa, e.notifyType, e.protocolId, e.spi, e.data)) return;
          break;
        default: {
          const never: never = e;
          throw new Error(`unhandled ${String(never)}`);
        }
      }
    }
  }

  /** A protected status or error notify; true when it ended the Phase 1 exchange. */
  private notify(sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer, data: Buffer): boolean {
    const { log, phase1, quick } = this.ctx;
    log.info({ sa: sa.tag, notify: notifyType }, "peer sent a protected notify");
    if (notifyType === Notify.Connected && !quick.connected(sa, protocolId, spi)) {
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
      quick.refused(sa, notifyType, protocolId, spi);
    }
    return false;
  }
}
