/**
 * The engine's one inbound path (RFC 2408 section 5, message processing). Every datagram:
 *
 * ```
 *  transport ─▶ receive   header decoded; the SA found by its cookies (and its peer's address), or
 *                         a Phase 1 message for admission.ts (MM1 answered without an SA, MM3 with
 *                         our cookie or AM1 made into one); a retransmitted request answered from
 *                         the reply cache; else copied and queued on the SA
 *            ─▶ process   (on the SA's queue, one message at a time) body decoded; the handler of
 *                         the exchange type (Phase 1, Quick Mode, Informational) routes it or drops
 *                         it; decrypted with the SA's keys; plaintext decoded; the codec's rules
 *                         for its position checked ─▶ the handler's deliver(Inbound)
 * ```
 *
 * Decrypting, decoding and the rule check happen here and only here, once per datagram. A datagram
 * that does not even decode to a header is dropped; what a refused message costs the exchange (a
 * notify, the exchange's end) is the handler's call. An exception while a datagram is taken in ends
 * the SA it was for, or drops it when no SA owns it yet (boundary.ts); on the queue, the SA's own
 * boundary catches.
 */
import { ExchangeType, checkRules, decodeDecrypted, decodeHeader, decodeMessageBody, type Header, type Message } from "../codec/index.js";
import { errorFields, isInvariantFailure, type Fatal } from "./boundary.js";
import { ZERO_COOKIE } from "./cookies.js";
import type { EngineIo } from "./engine-io.js";
import { keep, type ExchangeHandler, type ResponderAdmission } from "./inbound.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ReplyCache } from "./retransmit.js";
import { isPeerOf, type SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";
import { endpointKey, type Endpoint } from "./transport.js";

/** What the dispatcher works with: the SA tables (with each Phase 2 exchange's reply cache), sending, counters. */
export interface DispatchContext {
  readonly sas: SaManager<{ readonly replies: ReplyCache }>;
  readonly io: EngineIo;
  readonly stats: IkeStats;
  /** Our NAT-T port (undefined: NAT-T off): where a peer's float or new NAT mapping arrives. */
  readonly nattPort?: number;
  /** The SA took the peer's new endpoints (RFC 3947 sections 4 and 7). */
  readonly moved?: (sa: IsakmpSa, before: { readonly local: Endpoint; readonly remote: Endpoint }) => void;
  readonly log: IkeLog;
  /** Where an invariant failure goes (boundary.ts). */
  readonly fatal: Fatal;
}

/** The handler of each exchange kind. */
export interface Handlers {
  readonly admission: ResponderAdmission;
  readonly phase1: ExchangeHandler;
  readonly quick: ExchangeHandler;
  readonly info: ExchangeHandler;
}

const settled = (): void => {};

/** Datagrams in, typed messages out to the handlers. */
export class Dispatcher {
  private closed = false;
  /** The SA the datagram being taken in belongs to, once known (for the boundary in receive). */
  private owner: IsakmpSa | undefined;

  constructor(
    private readonly ctx: DispatchContext,
    private readonly handlers: Handlers,
  ) {}

  /** Ignore every datagram from now on (engine closed). */
  close(): void {
    this.closed = true;
  }

  /** One received ISAKMP datagram (the transport calls this). */
  receive(received: Buffer, local: Endpoint, remote: Endpoint): void {
    if (this.closed) return;
    try {
      this.take(received, local, remote);
    } catch (err) {
      const sa = this.owner;
      if (sa !== undefined) sa.fault(err, "receive");
      else if (isInvariantFailure(err)) this.ctx.fatal(err);
      else {
        this.ctx.log.error({ peer: `${remote.address}:${remote.port}`, ...errorFields(err) }, "internal error before any SA: datagram dropped");
        this.ctx.io.drop(remote, "internal error");
      }
    } finally {
      this.owner = undefined;
    }
  }

  private take(received: Buffer, local: Endpoint, remote: Endpoint): void {
    const { sas, io, stats } = this.ctx;
    stats.engine.datagramsIn++;
    const hr = decodeHeader(received);
    if (!hr.ok) return io.drop(remote, `header: ${hr.error.code} at ${hr.error.offset}`);
    const h = hr.value;
    let sa = sas.lookup(h.icookie, h.rcookie, remote);
    // The one place a datagram is bound to its SA's peer: cookies are public, the address is not
    // ours to choose. The one exception is NAT-T (RFC 3947 sections 4 and 7): the peer's float to
    // the NAT-T port, or its NAT's new mapping, arrives on our NAT-T socket from the SA's peer
    // address and another port; the SA follows only once the message authenticates (process()).
    if (sa !== undefined && !isPeerOf(sa, remote) && !this.mayMove(sa, local, remote)) {
      return io.drop(remote, `${sa.tag}: from ${endpointKey(remote)}, not the SA's peer`);
    }
    // Until a peer returns our cookie, what we send it is bounded by what it sent (amplification.ts).
    if (sa === undefined || !sa.verified) io.receivedUnverified(remote, received.length);
    // Our responder cookie came back from the SA's peer (found by it, from its address): the peer
    // receives what we send it (RFC 2408 section 2.5.3).
    if (sa !== undefined && !sa.verified && !h.rcookie.equals(ZERO_COOKIE)) sa.verified = true;
    let admitted: { sa: IsakmpSa; datagram: Buffer; header: Header; message?: Message } | undefined;
    if (sa === undefined) {
      const phase1 = h.exchangeType === ExchangeType.IdentityProtection || h.exchangeType === ExchangeType.Aggressive;
      if (!phase1) return io.drop(remote, `no SA for ${h.icookie.toString("hex")}/${h.rcookie.toString("hex")} exch ${h.exchangeType}`);
      admitted = this.handlers.admission.admit(received, h, local, remote);
      if (admitted === undefined) return;
      sa = admitted.sa;
    }
    this.owner = sa;
    const cached = sa.replies.match(received) ?? sas.getPhase2(sa, h.messageId)?.replies.match(received);
    if (cached !== undefined) return io.answerAgain(sa, cached);
    const target = sa;
    let job: () => Promise<void>;
    if (admitted !== undefined) {
      const { datagram, header, message } = admitted;
      job = () => this.process(target, header, datagram, message, local, remote);
    } else {
      const { datagram, header } = keep(received, h);
      job = () => this.process(target, header, datagram, undefined, local, remote);
    }
    if (!target.queue.push(job)) io.drop(remote, `SA ${target.tag} queue full`);
  }

  /** NAT-T: a datagram from the SA's peer address on our NAT-T socket, from a port the SA does not know. */
  private mayMove(sa: IsakmpSa, local: Endpoint, remote: Endpoint): boolean {
    const port = this.ctx.nattPort;
    return sa.natt !== undefined && port !== undefined && local.port === port && local.address === sa.local.address && remote.address === sa.remote.address;
  }

  /** A datagram for `sa`, on the SA's queue; `decoded` when admission already decoded it. */
  private async process(sa: IsakmpSa, header: Header, datagram: Buffer, decoded: Message | undefined, local: Endpoint, remote: Endpoint): Promise<void> {
    if (sa.state === "dead") return;
    const io = this.ctx.io;
    // Moves happen only onto our NAT-T port: once there, an SA never floats back to 500.
    const moving = (!isPeerOf(sa, remote) || sa.local.port !== local.port) && this.mayMove(sa, local, remote);
    const cached = sa.replies.match(datagram);
    if (cached !== undefined) return io.answerAgain(sa, cached);
    const handler = this.handlerOf(header.exchangeType);
    let m = decoded;
    if (m === undefined) {
      const sealed = handler.sealed?.(sa, header);
      const r = decodeMessageBody(header, datagram, sealed === undefined ? {} : { sealed });
      if (!r.ok) return io.drop(sa.remote, `${sa.tag}: ${r.error.code} at ${r.error.offset}`);
      m = r.value;
    }
    const route = handler.route(sa, m, datagram);
    if (route === null) return;
    if (typeof route === "string") return io.drop(sa.remote, `${sa.tag}: ${route}`);
    if (m.kind === "plain") {
      // Only a message sealed with the SA's keys may move it (RFC 3947 section 7).
      if (moving) return io.drop(remote, `${sa.tag}: clear message from a new endpoint`);
      const violation = route.position === undefined ? null : checkRules(route.position, header, m.payloads);
      if (violation !== null) return route.refused(violation, "rules");
      return route.deliver({ sa, header, payloads: m.payloads, datagram, encrypted: false, settle: settled, verified: settled, local, remote });
    }
    const km = sa.keymat;
    if (km === undefined || !km.derived) return io.drop(sa.remote, `${sa.tag}: encrypted message before keys`);
    const d = km.decrypt(header.messageId, m.ciphertext);
    if (!d.ok) return io.drop(sa.remote, `${sa.tag}: ${d.code}`);
    const pm = decodeDecrypted(header, d.plaintext);
    if (!pm.ok) {
      d.discard();
      return route.refused(pm.error, "body");
    }
    const violation = route.position === undefined ? null : checkRules(route.position, header, pm.value.payloads);
    if (violation !== null) {
      d.discard();
      return route.refused(violation, "rules");
    }
    // Decrypted and well-formed is no proof of life yet (a forgery that parses, a replayed
    // Informational, a Phase 1 message whose HASH_I/HASH_R fails): the handler calls `sa.heard()`
    // and `verified()` once the message's HASH or authentication verifies, and only an
    // authenticated message from new endpoints moves the SA there (once).
    let follow = moving;
    const verified = (): void => {
      if (follow && sa.state !== "dead") this.move(sa, local, remote);
      follow = false;
    };
    const settle = (accepted: boolean): void => (accepted ? d.commit() : d.discard());
    return route.deliver({ sa, header, payloads: pm.value.payloads, datagram, encrypted: true, settle, verified, local, remote });
  }

  /** An authenticated message came from new endpoints: the SA follows the peer there. */
  private move(sa: IsakmpSa, local: Endpoint, remote: Endpoint): void {
    const before = { local: sa.local, remote: sa.remote };
    sa.local = local;
    sa.remote = remote;
    if (sa.natt !== undefined && local.port === this.ctx.nattPort) sa.natt.floated = true;
    this.ctx.stats.engine.nattMoves++;
    this.ctx.moved?.(sa, before);
  }

  private handlerOf(exchangeType: number): ExchangeHandler {
    if (exchangeType === ExchangeType.Informational) return this.handlers.info;
    if (exchangeType === ExchangeType.QuickMode) return this.handlers.quick;
    return this.handlers.phase1;
  }
}
