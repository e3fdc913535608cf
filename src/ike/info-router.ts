/**
 * Informational routing (RFC 2408 section 5.1 onwards, RFC 2409 section 5.7): what the engine does
 * with a peer's Informational. In the clear (before keys): an error notify ends a half-open
 * exchange. Protected: HASH(1) verified, then Delete, DPD and status notifies are acted on. Also
 * removes IPsec SA pairs from the kernel, for peer Deletes and our own.
 */
import { Notify, PayloadType, ProtocolId, checkRules, decodeDecrypted, type Message } from "../codec/index.js";
import type { EngineHost } from "./engine-host.js";
import { dpdNotify, readInformational } from "./informational.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { readResponderLifetime } from "./phase2/responder-lifetime.js";

/** Ends a Phase 1 exchange the peer refused (the engine's failSa, without sending a notify). */
export type FailPhase1 = (sa: IsakmpSa, reason: string, notify: number) => void;

/** Ends our Quick Mode that a protected error notify refused (QuickRouter.peerError). */
export type QuickError = (sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer) => void;

/** Completes our committed Quick Mode on the responder's CONNECTED (QuickRouter.connected). */
export type QuickConnected = (sa: IsakmpSa, protocolId: number, spi: Buffer) => boolean;

/** The engine's Informational half. */
export class InfoRouter {
  constructor(
    private readonly host: EngineHost,
    private readonly failPhase1: FailPhase1,
    private readonly quickError: QuickError,
    private readonly quickConnected: QuickConnected,
    /** Forget how to rekey a deleted IPsec SA (QuickRouter.forget). */
    private readonly forgetIpsec: (proto: "esp" | "ah", dst: string, spi: number) => void,
    /** Apply a Phase 1 RESPONDER-LIFETIME in seconds (Phase1Router.honourLifetime). */
    private readonly phase1Lifetime: (sa: IsakmpSa, secs: number) => boolean,
  ) {}

  /** A peer's Informational for `sa` (runs on the SA's queue). */
  async onInformational(sa: IsakmpSa, m: Message): Promise<void> {
    const host = this.host;
    if (m.kind === "plain") {
      if (sa.state !== "negotiating") return host.drop(sa.remote, `${sa.tag}: unprotected Informational on an established SA`);
      for (const p of m.payloads) {
        if (p.type === PayloadType.N && p.notifyType < 16384) {
          sa.peerAnswered = true;
          return this.failPhase1(sa, `peer sent notify ${p.notifyType}`, p.notifyType);
        }
      }
      return;
    }
    const km = sa.keymat;
    const mid = m.header.messageId;
    if (km === undefined || !km.derived || mid === 0) return host.drop(sa.remote, `${sa.tag}: protected Informational without keys`);
    const d = km.decrypt(mid, m.ciphertext);
    if (!d.ok) return host.drop(sa.remote, `${sa.tag}: ${d.code}`);
    const pm = decodeDecrypted(m.header, d.plaintext);
    const violation = pm.ok ? checkRules("INFO", m.header, pm.value.payloads) : pm.error;
    const events = pm.ok && violation === null ? readInformational(sa, mid, pm.value.payloads) : null;
    d.discard();
    // Only a verified message may end IV state: a forgery could carry an open Quick Mode's M-ID.
    if (events === null) return host.drop(sa.remote, `${sa.tag}: Informational ${violation?.code ?? "HASH(1) does not verify"}`);
    km.endExchange(mid);
    for (const e of events) {
      switch (e.kind) {
        case "delete-isakmp":
          if (e.icookie.equals(sa.icookie) && e.rcookie.equals(sa.rcookie)) {
            host.log.info({ sa: sa.tag }, "peer deleted the ISAKMP SA");
            sa.destroy("deleted by peer");
            return;
          }
          break;
        case "delete-ipsec":
          for (const spi of e.spis) {
            const c = host.installed.get(sa)?.find((x) => x.proto === e.proto && x.outboundSpi === spi);
            await this.removeIpsecPair(sa, e.proto, spi, c?.inboundSpi);
          }
          break;
        case "r-u-there":
          host.sendInformational(sa, [dpdNotify(sa, Notify.RUThereAck, e.seq)]);
          break;
        case "r-u-there-ack":
          host.log.debug({ sa: sa.tag }, "R-U-THERE-ACK");
          break;
        case "notify":
          host.log.info({ sa: sa.tag, notify: e.notifyType }, "peer sent a protected notify");
          if (e.notifyType === Notify.Connected && !this.quickConnected(sa, e.protocolId, e.spi)) {
            host.log.debug({ sa: sa.tag }, "CONNECTED for no Quick Mode of ours");
          }
          if (e.notifyType === Notify.ResponderLifetime && e.protocolId === ProtocolId.ISAKMP) {
            // Phase 1's RESPONDER-LIFETIME (after MM6/AM3); only about this SA's own cookies.
            const secs = readResponderLifetime(e.data, true)?.lifeSecs;
            const ours = e.spi.length === 16 && e.spi.subarray(0, 8).equals(sa.icookie) && e.spi.subarray(8).equals(sa.rcookie);
            if (!ours || secs === undefined || !this.phase1Lifetime(sa, secs)) host.log.debug({ sa: sa.tag }, "Phase 1 RESPONDER-LIFETIME not applied");
          }
          if (e.notifyType < 16384 && sa.state === "negotiating") {
            // RFC 2409 section 5.7: the peer refused our Phase 1 after keys existed (MM5/MM6
            // authentication or ID) and said so under those keys.
            sa.peerAnswered = true;
            return this.failPhase1(sa, `peer sent protected notify ${e.notifyType}`, e.notifyType);
          }
          if (e.notifyType < 16384) {
            host.emit("peer-notify", sa, e.notifyType);
            this.quickError(sa, e.notifyType, e.protocolId, e.spi);
          }
          break;
        default: {
          const never: never = e;
          throw new Error(`unhandled ${String(never)}`);
        }
      }
    }
  }

  /** Remove our outbound SA `spi` to the peer and its inbound partner. */
  async removeIpsecPair(sa: IsakmpSa, proto: "esp" | "ah", outboundSpi: number, inboundSpi: number | undefined): Promise<void> {
    const host = this.host;
    const kernel = host.opts.kernel;
    if (kernel === undefined) return;
    let pair = inboundSpi;
    this.forgetIpsec(proto, sa.remote.address, outboundSpi);
    try {
      if (pair === undefined) pair = (await kernel.get(sa.local.address, sa.remote.address, proto, outboundSpi)).pairSpi || undefined;
      await kernel.delete(sa.local.address, sa.remote.address, proto, outboundSpi);
    } catch (err) {
      host.log.debug({ sa: sa.tag, spi: outboundSpi, err: String(err) }, "outbound SA already gone");
    }
    if (pair !== undefined) {
      try {
        await kernel.delete(sa.remote.address, sa.local.address, proto, pair);
      } catch (err) {
        host.log.debug({ sa: sa.tag, spi: pair, err: String(err) }, "inbound SA already gone");
      }
    }
    const list = host.installed.get(sa);
    if (list !== undefined) {
      const left = list.filter((c) => !(c.proto === proto && c.outboundSpi === outboundSpi));
      sa.ipsecDeleted += list.length - left.length;
      host.installed.set(sa, left);
    }
  }

  /**
   * RFC 2407 section 4.6.3.3, INITIAL-CONTACT: the peer has no state with us any more, so every
   * IPsec SA between our address and its address is stale, ours from older ISAKMP SAs included
   * (they may have outlived their Phase 1). Run on the new SA's queue before its first Quick Mode,
   * so nothing it negotiates is caught. Returns how many kernel SAs were deleted.
   */
  async purgePeer(sa: IsakmpSa): Promise<number> {
    const kernel = this.host.opts.kernel;
    if (kernel === undefined) return 0;
    const local = sa.local.address;
    const remote = sa.remote.address;
    let deleted = 0;
    for (const s of await kernel.dump()) {
      if (!((s.src === local && s.dst === remote) || (s.src === remote && s.dst === local))) continue;
      try {
        if (s.proto === "esp" || s.proto === "ah") this.forgetIpsec(s.proto, s.dst, s.spi);
        await kernel.delete(s.src, s.dst, s.proto, s.spi);
        deleted++;
      } catch (err) {
        this.host.log.debug({ sa: sa.tag, spi: s.spi, err: String(err) }, "SA already gone");
      }
    }
    this.host.log.info({ sa: sa.tag, deleted }, "INITIAL-CONTACT: stale IPsec SAs with the peer deleted");
    return deleted;
  }
}
