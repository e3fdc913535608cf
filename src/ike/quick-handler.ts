/**
 * Quick Mode exchanges (RFC 2409 section 5.5) of every ISAKMP SA, keyed by (cookies, message ID) in
 * the SA manager: starts initiator exchanges, feeds received QM1-QM3 (decrypted and rule-checked by
 * the dispatcher) to their task, answers retransmitted requests from the exchange's reply cache,
 * retransmits our own unanswered messages, handles the commit bit (RFC 2408 section 3.1, CONNECTED)
 * and records finished exchanges' SAs in the IPsec SA table.
 */
import { Doi, ExchangeType, HeaderFlag, Notify, PayloadType, ProtocolId, type Message, type NotifyPayload } from "../codec/index.js";
import type { ResolvedRule } from "../config/types.js";
import type { Kernel } from "../kernel/kernel.js";
import type { IpsecPolicy } from "../policy/index.js";
import type { EngineIo } from "./engine-io.js";
import type { EmitEvent } from "./events.js";
import type { ExchangeHandler, Inbound, Route } from "./inbound.js";
import type { QuickModeNotices } from "./info-handler.js";
import { deleteIpsec } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
import type { IsakmpSa, SaDestroyListener, SaTimerHandler } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ChosenSa } from "./phase2/install.js";
import { failureOfNotify, type FailureClass } from "./negotiation-stats.js";
import { QuickMode, hash1Verifies, type QuickModeRequest } from "./phase2/quick-mode.js";
import type { DhPort } from "./ports.js";
import { ReplyCache, type Retransmitter } from "./retransmit.js";
import type { SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";
import { internalError, type Step } from "./step.js";

/** One Quick Mode exchange in the SA manager's Phase 2 table. */
export interface Phase2Exchange {
  readonly task: QuickMode;
  readonly messageId: number;
  /** The last request answered and our answer (responder QM2, initiator QM3). */
  readonly replies: ReplyCache;
  retransmitter: Retransmitter | undefined;
  /**
   * The commit bit (RFC 2408 section 3.1) is in play: as responder, the peer set it on QM1 and gets
   * CONNECTED; as initiator, we set it and wait for CONNECTED after QM3.
   */
  commit?: boolean;
  /** How it ended, counted once when it does (none: aborted, its ISAKMP SA went away). */
  outcome?: "established" | FailureClass;
}

/** What the Quick Mode handler works with. */
export interface QuickHandlerContext {
  readonly sas: SaManager<Phase2Exchange>;
  readonly ipsec: IpsecSas;
  readonly io: EngineIo;
  readonly emit: EmitEvent;
  /** Where the SAs go; without one, Quick Mode is refused. */
  readonly kernel: Kernel | undefined;
  readonly dh: DhPort;
  /** The loaded ipsecinit.conf, asked by the responder. */
  readonly ipsecPolicy: () => IpsecPolicy | undefined;
  /** Set the commit bit on the Quick Modes we start. */
  readonly commit: boolean;
  readonly random: (n: number) => Buffer;
  readonly log: IkeLog;
  /** Started, established and failed Quick Modes are counted here. */
  readonly stats: IkeStats;
  /**
   * A finished exchange's SAs went into the kernel at UDP ports its ISAKMP SA has left since (it
   * followed a NAT rebinding while the exchange ran): the engine has them follow (IpsecSas.catchUp).
   */
  readonly leftBehind: (sa: IsakmpSa, sas: readonly ChosenSa[]) => void;
}

/** Most Quick Mode exchanges one ISAKMP SA runs at once. */
const MAX_PHASE2_PER_SA = 32;
/** How long a finished Quick Mode keeps its answer for retransmitted requests. */
const PHASE2_LINGER_MS = 60_000;
/** The ISAKMP SA timer that forgets a finished Quick Mode: this and its message ID. */
const LINGER_TIMER = "qm-";

/** The engine's Quick Mode handler. */
export class QuickHandler implements ExchangeHandler, QuickModeNotices, SaDestroyListener, SaTimerHandler {
  /** Quick Modes we started and that wait for QM2, per ISAKMP SA (weak: dies with the SA). */
  private readonly waiting = new WeakMap<IsakmpSa, Set<Phase2Exchange>>();
  /**
   * Quick Modes not yet ended, per ISAKMP SA: its destroy ends them (retransmitters, larval SPIs).
   * {@link underWay} finds them through the SA manager's SAs with the peer: no table of its own,
   * which every Quick Mode would enter and leave (old-space garbage: sa-manager.ts).
   */
  private readonly open = new WeakMap<IsakmpSa, Set<Phase2Exchange>>();

  constructor(private readonly ctx: QuickHandlerContext) {}

  /**
   * QuickModeContext.carried: a pair with the peer already carries the traffic (a rekey), under any
   * of its ISAKMP SAs or under none left (IpsecSas.carries).
   */
  private readonly carried = (sa: IsakmpSa, chosen: ChosenSa): boolean => this.ctx.ipsec.carries(this.ctx.sas.byPeerAddress(sa.remote.address), sa.local.address, sa.remote.address, chosen);

  /** Start Quick Mode as initiator on an established ISAKMP SA; false when refused. */
  quickMode(sa: IsakmpSa, request: QuickModeRequest): boolean {
    const { sas, random, kernel } = this.ctx;
    const rule = sa.config;
    if (sa.state !== "established" || rule === undefined || kernel === undefined) return false;
    let mid = 0;
    while (mid === 0 || sas.getPhase2(sa, mid) !== undefined || sa.messageIds.has(mid)) mid = random(4).readUInt32BE(0);
    if (!sa.useMessageId(mid)) return false;
    const ex = this.newPhase2(sa, rule, kernel, mid, request);
    return sa.queue.push(async () => {
      let step: Step;
      try {
        step = await ex.task.buildI();
      } catch (err) {
        step = internalError(err);
      }
      // Its ISAKMP SA died during GETSPI: the kernel's ACQUIRE hears of the failure all the same.
      if (this.endedDuring(sa, ex)) return this.ctx.emit("phase2-failed", sa, step.kind === "fail" ? step.reason : "its ISAKMP SA went away", ex.task.request);
      this.afterStep(sa, ex, step, undefined);
    });
  }

  /**
   * The peer answered our Quick Mode with a protected error notify (RFC 2408 section 5: e.g.
   * NO-PROPOSAL-CHOSEN, INVALID-ID-INFORMATION), or refused the SAs of one it started after our
   * QM2: end that exchange now instead of retransmitting to the limit. Only the exchange the notify
   * names is ended: the one owning its ESP/AH SPI, or the one whose message ID the Informational
   * carries. A notify naming neither ends nothing (our exchanges run to their own retransmission
   * limit): guessing "the only one outstanding" let any error notify end an unrelated exchange.
   * True when an exchange was ended.
   */
  refused(sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer, messageId: number): boolean {
    // Ours waiting for QM2, or the peer's waiting for QM3 (the initiator's kernel refused the SAs):
    // the latter's SAs, installed before QM2, go with it.
    const responding = [...(this.open.get(sa) ?? [])].filter((e) => e.task.role === "responder" && e.task.expected() === "QM3");
    const ex = this.waitingFor(sa, protocolId, spi, messageId, [...(this.waiting.get(sa) ?? []), ...responding]);
    if (ex === undefined) return false;
    const reason = `peer refused Quick Mode: notify ${notifyType}`;
    this.ctx.log.info({ sa: sa.tag, mid: ex.messageId, notify: notifyType }, "Quick Mode refused by peer");
    this.ctx.emit("phase2-failed", sa, reason, ex.task.request);
    ex.outcome = failureOfNotify(notifyType);
    this.endPhase2(sa, ex, 0);
    return true;
  }

  /**
   * The peer's Delete names `spi` of a Quick Mode it started that we still answer (waiting for
   * QM3, its SAs installed before QM2): the peer no longer has the pair, so that exchange ends
   * here, its SAs leave the kernel, and a QM3 arriving later records nothing. True when one ended.
   */
  deletedByPeer(sa: IsakmpSa, proto: "esp" | "ah", spi: number): boolean {
    const ex = [...(this.open.get(sa) ?? [])].find((e) => e.task.role === "responder" && e.task.expected() === "QM3" && e.task.hasSpi(proto, spi));
    if (ex === undefined) return false;
    this.ctx.log.info({ sa: sa.tag, mid: ex.messageId, spi }, "peer deleted the SAs of a Quick Mode still waiting for QM3");
    this.ctx.emit("phase2-failed", sa, "peer deleted its SAs before QM3", ex.task.request);
    this.endPhase2(sa, ex, 0);
    return true;
  }

  /**
   * The responder's CONNECTED for our committed Quick Mode (matched like {@link refused}): the
   * SAs count as up now. False when no exchange of ours waits for it.
   */
  connected(sa: IsakmpSa, protocolId: number, spi: Buffer, messageId: number): boolean {
    const ex = this.waitingFor(sa, protocolId, spi, messageId, [...(this.waiting.get(sa) ?? [])].filter((e) => e.commit === true));
    if (ex === undefined) return false;
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    this.waiting.get(sa)?.delete(ex);
    this.finished(sa, ex);
    return true;
  }

  /**
   * Whether a Quick Mode for the traffic between `local` and `remote` (client ID prefixes, ours
   * first) with `peer` is under way in either role: an ACQUIRE for it (the responder's first reply
   * racing its QM3) needs no second negotiation, the SAs are about to be there.
   */
  underWay(peer: string, local: string, remote: string): boolean {
    for (const sa of this.ctx.sas.byPeerAddress(peer)) {
      for (const ex of this.open.get(sa) ?? []) {
        const ids = ex.task.clientIds;
        if (ids?.local === local && ids.remote === remote) return true;
      }
    }
    return false;
  }

  route(sa: IsakmpSa, m: Message, datagram: Buffer): Route | string | null {
    const { sas, kernel, io } = this.ctx;
    const h = m.header;
    if (sa.state !== "established") return "Quick Mode on an SA that is not established";
    if (m.kind !== "encrypted" || h.messageId === 0) return "Quick Mode in the clear or with M-ID 0";
    const ex = sas.getPhase2(sa, h.messageId);
    if (ex === undefined) {
      // A retransmission of a live exchange's request was answered above from its reply cache; a
      // message of a finished one is a replay (RFC 2408 section 3.1: one message ID per exchange).
      if (sa.messageIds.has(h.messageId)) return `Quick Mode ${h.messageId >>> 0}: message ID already used (replay)`;
      if (kernel === undefined || sa.config === undefined) return "no kernel for Quick Mode";
      // A new exchange: nothing is kept for it until it decrypts and HASH(1) verifies (begin()).
      return { position: "QM1", refused: (e) => io.drop(sa.remote, `${sa.tag}: QM1: ${e.code} ${e.detail}`), deliver: (i) => this.begin(i) };
    }
    const cached = ex.replies.match(datagram);
    if (cached !== undefined) {
      io.answerAgain(sa, cached);
      return null;
    }
    const pos = ex.task.expected();
    if (pos === undefined) return `Quick Mode ${h.messageId} message after its end`;
    return {
      position: pos,
      refused: (e) => io.drop(sa.remote, `${sa.tag}: ${pos}: ${e.code} ${e.detail}`),
      deliver: (i) => this.deliver(ex, i),
    };
  }

  /**
   * A QM1 of an exchange we do not know yet, decrypted and rule-checked: a Phase 2 exchange (and
   * with it GETSPI, timers, a reply cache) exists only once HASH(1) proves the sender holds the
   * ISAKMP SA's keys; anything else is dropped without an answer and leaves nothing behind.
   */
  private async begin(i: Inbound): Promise<void> {
    const { sas, io, kernel } = this.ctx;
    const { sa, header: h } = i;
    if (!hash1Verifies(sa, h.messageId, i.payloads)) {
      i.settle(false);
      return io.drop(sa.remote, `${sa.tag}: QM1 ${h.messageId}: HASH(1) does not verify`);
    }
    if ((this.open.get(sa)?.size ?? 0) >= MAX_PHASE2_PER_SA || sas.phase2Count >= MAX_PHASE2_PER_SA * Math.max(1, sas.size)) {
      i.settle(false);
      return io.drop(sa.remote, `${sa.tag}: too many Quick Modes`);
    }
    if (!sa.useMessageId(h.messageId)) {
      i.settle(false);
      return io.drop(sa.remote, `${sa.tag}: QM1 ${h.messageId >>> 0}: the ISAKMP SA's message IDs are used up`);
    }
    const ex = this.newPhase2(sa, sa.config!, kernel!, h.messageId);
    // RFC 2408 section 3.1: the initiator asks for CONNECTED by setting the commit bit in QM1.
    if ((h.flags & HeaderFlag.Commit) !== 0) ex.commit = true;
    return this.deliver(ex, i);
  }

  private async deliver(ex: Phase2Exchange, { sa, payloads, datagram, settle, verified, local, remote }: Inbound): Promise<void> {
    let step: Step;
    ex.task.arrived(local, remote);
    try {
      step = ex.task.role === "initiator" ? await ex.task.processI(payloads) : await ex.task.processR(payloads);
    } catch (err) {
      step = internalError(err);
    }
    if (this.endedDuring(sa, ex)) {
      if (!sa.isDead()) settle(false);
      return;
    }
    settle(step.kind !== "fail");
    // Its HASH verified (a failing step proves nothing): the peer is alive (DPD), NAT-T may move
    // the SA to where it came from, and the peer holds the Phase 1 keys, so it received our last
    // Phase 1 message (MM6, AM3) and will not repeat the message that one answered: the ISAKMP
    // SA's reply cache goes (held SAs keep less).
    if (step.kind !== "fail") {
      sa.heard();
      verified();
      sa.replies.clear();
    }
    this.afterStep(sa, ex, step, datagram);
  }

  /**
   * Whether `ex` ended while its step waited (for the kernel or the pool): its ISAKMP SA died
   * (lifetime, DPD, a Delete, INITIAL-CONTACT) or it timed out. Its end deleted only what was in
   * the kernel then; what the step put there since (a larval SPI, a responder's or initiator's
   * installed pair) would stay without an owner, a rekey or a Delete, and the kernel prefers the
   * newest outbound SA: it goes now, and the step's outcome is dropped.
   */
  private endedDuring(sa: IsakmpSa, ex: Phase2Exchange): boolean {
    if (this.open.get(sa)?.has(ex) === true) return false;
    this.deleteLeftovers(sa, ex);
    ex.task.destroy();
    return true;
  }

  /** Delete from the kernel what `ex` put there and nothing owns (QuickMode.leftovers). */
  private deleteLeftovers(sa: IsakmpSa, ex: Phase2Exchange): void {
    const { kernel, log } = this.ctx;
    for (const l of kernel === undefined ? [] : ex.task.leftovers()) {
      const [src, dst] = l.inbound ? [sa.remote.address, sa.local.address] : [sa.local.address, sa.remote.address];
      kernel!.delete(src, dst, l.proto, l.spi).catch((err: unknown) => {
        // Already gone (the kernel's larval lifetime ran out first): nothing left to free.
        log.debug({ sa: sa.tag, spi: l.spi, err: String(err) }, "SA of an unfinished Quick Mode already gone");
      });
    }
  }

  /** Our exchange a notify is about: the one owning its ESP/AH SPI, else the one with the Informational's message ID. */
  private waitingFor(sa: IsakmpSa, protocolId: number, spi: Buffer, messageId: number, list: readonly Phase2Exchange[]): Phase2Exchange | undefined {
    const proto = protocolId === ProtocolId.IPSEC_ESP ? "esp" : protocolId === ProtocolId.IPSEC_AH ? "ah" : undefined;
    if (proto !== undefined && spi.length === 4) {
      const bySpi = list.find((e) => e.task.hasSpi(proto, spi.readUInt32BE(0)));
      if (bySpi !== undefined) return bySpi;
    }
    return list.find((e) => e.messageId === messageId >>> 0);
  }

  /** Whether a Quick Mode with this message ID is still running on `sa` (an Informational may name it). */
  running(sa: IsakmpSa, messageId: number): boolean {
    const ex = this.ctx.sas.getPhase2(sa, messageId);
    return ex !== undefined && (this.open.get(sa)?.has(ex) ?? false);
  }

  private newPhase2(sa: IsakmpSa, rule: ResolvedRule, kernel: Kernel, messageId: number, request?: QuickModeRequest): Phase2Exchange {
    const { dh, ipsecPolicy, random, log, sas } = this.ctx;
    const task = new QuickMode({ sa, messageId, rule, dh, kernel, ipsecPolicy, random, log, carried: this.carried }, request);
    const ex: Phase2Exchange = { task, messageId, replies: new ReplyCache(), retransmitter: undefined };
    sas.setPhase2(sa, messageId, ex);
    this.ctx.stats.negotiations.quick[task.role].started++;
    let open = this.open.get(sa);
    if (open === undefined) {
      open = new Set<Phase2Exchange>();
      this.open.set(sa, open);
    }
    // Hooked once, at its first Quick Mode: a listener already registered is not added again (a
    // WeakSet of hooked SAs cost ~50 bytes per SA, and its entries outlive young-generation GCs).
    sa.onDestroy(this);
    open.add(ex);
    return ex;
  }

  /** An ISAKMP SA with Quick Modes (hooked at its first) was destroyed: its open ones end now. */
  saDestroyed(sa: IsakmpSa): void {
    for (const e of [...(this.open.get(sa) ?? [])]) this.endPhase2(sa, e, 0);
  }

  private endPhase2(sa: IsakmpSa, ex: Phase2Exchange, lingerMs: number): void {
    const open = this.open.get(sa);
    if (open?.delete(ex) === true) {
      this.count(ex);
      // A held SA with no Quick Mode under way keeps no (empty) set, nor the AbortController a
      // PFS Quick Mode made for its pool work (the next one makes another: isakmp-sa.ts).
      if (open.size === 0) {
        this.open.delete(sa);
        sa.releaseAbort();
      }
    }
    this.waiting.get(sa)?.delete(ex);
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    this.deleteLeftovers(sa, ex);
    ex.task.destroy();
    if (lingerMs > 0) {
      // Kept for retransmitted requests, which its reply cache answers: the task keeps no more
      // than that needs, and the timer runs this handler (no closure per exchange).
      ex.task.release();
      sa.setTimer(LINGER_TIMER + String(ex.messageId), lingerMs, this);
    } else this.forget(sa, ex.messageId);
  }

  /** A finished exchange's linger is over (the only SA timer this handler sets): forget it. */
  saTimer(sa: IsakmpSa, name: string): void {
    this.forget(sa, Number(name.slice(LINGER_TIMER.length)));
  }

  /** Forget an ended exchange (its message ID stays used: a later copy is a replay). */
  private forget(sa: IsakmpSa, messageId: number): void {
    this.ctx.sas.deletePhase2(sa, messageId);
    sa.keymat?.endExchange(messageId);
  }

  private afterStep(sa: IsakmpSa, ex: Phase2Exchange, step: Step, request: Buffer | undefined): void {
    const { io, log, emit } = this.ctx;
    if (step.kind === "fail") {
      // RFC 2408 section 5: tell the peer why, protected now that the ISAKMP SA exists.
      // The notify names the exchange by the initiator's ESP/AH SPI when there is one (else the
      // cookies), so an initiator with several Quick Modes outstanding knows which one failed.
      if (step.notify !== undefined && sa.state === "established") io.sendInformational(sa, [this.notifyAbout(sa, ex, step.notify)]);
      for (const c of sa.state === "established" ? ex.task.peerInstalled() : []) io.sendInformational(sa, [deleteIpsec(c.proto, [c.inboundSpi])]);
      log.info({ sa: sa.tag, mid: ex.messageId, reason: step.reason, notify: step.notify }, "Quick Mode failed");
      emit("phase2-failed", sa, step.reason, ex.task.request);
      ex.outcome = failureOfNotify(step.notify);
      this.endPhase2(sa, ex, 0);
      return;
    }
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    this.waiting.get(sa)?.delete(ex);
    const initiator = ex.task.role === "initiator";
    // RFC 2409 section 5.5: with the commit bit the initiator counts the SAs as up only on the
    // responder's CONNECTED, so it keeps resending QM3 until that arrives.
    const committing = initiator && this.ctx.commit;
    // Spelled out, not `{ ...step.reply, commit: true }`: a spread followed by a property the source
    // lacks makes a new hidden class per call in Node 20's V8 (test/ike/hidden-classes.test.ts).
    const reply = step.reply === undefined ? undefined : step.kind === "more" && committing ? { payloads: step.reply.payloads, encrypt: step.reply.encrypt, commit: true } : step.reply;
    const out = reply === undefined ? undefined : io.encode(sa, reply, ExchangeType.QuickMode, ex.messageId);
    if (out !== undefined && request !== undefined) ex.replies.remember(request, [out]);
    if (out !== undefined && (step.kind === "more" || committing)) {
      // Both sides resend while waiting: the initiator QM1 for QM2, the responder QM2 for QM3,
      // a committing initiator QM3 for CONNECTED.
      const r = io.retransmitter(sa, out, () => {
        // A committed exchange's SAs, never confirmed, go with its leftovers (endPhase2).
        emit("phase2-failed", sa, step.kind === "done" ? "Quick Mode: no CONNECTED" : "Quick Mode: no answer", ex.task.request);
        ex.outcome = "timeout";
        this.endPhase2(sa, ex, 0);
      });
      ex.retransmitter = r;
      if (initiator) {
        const set = this.waiting.get(sa) ?? new Set<Phase2Exchange>();
        set.add(ex);
        this.waiting.set(sa, set);
      }
      r.start();
    } else if (out !== undefined) {
      io.send(sa, out);
    }
    if (step.kind !== "done") return;
    if (committing) {
      ex.commit = true;
      return;
    }
    if (ex.commit === true && request !== undefined) {
      // The initiator set the commit bit: CONNECTED once our SAs are installed (RFC 2408 section
      // 4.8), also the answer to a retransmitted QM3.
      const connected = io.informational(sa, [this.notifyAbout(sa, ex, Notify.Connected)]);
      io.send(sa, connected);
      ex.replies.remember(request, [connected]);
    }
    this.finished(sa, ex);
  }

  /** A finished exchange: record its SAs (and how to rekey ours), tell listeners. */
  private finished(sa: IsakmpSa, ex: Phase2Exchange): void {
    const result = ex.task.result!;
    this.ctx.log.info(
      { sa: sa.tag, mid: ex.messageId, mode: result.mode, local: result.localId.prefix, remote: result.remoteId.prefix, pfs: result.pfsGroup, spis: result.sas.map((c) => `${c.proto}:${c.inboundSpi.toString(16)}/${c.outboundSpi.toString(16)}`).join(",") },
      "IPsec SAs installed",
    );
    this.ctx.ipsec.record(sa, result.sas, ex.task.request);
    ex.task.recorded();
    const ports = ex.task.encapPorts;
    if (ports !== undefined && (ports.local !== sa.local.port || ports.remote !== sa.remote.port)) this.ctx.leftBehind(sa, result.sas);
    this.ctx.emit("phase2-up", sa, result);
    ex.outcome = "established";
    this.endPhase2(sa, ex, PHASE2_LINGER_MS);
  }

  /** One ended exchange in the Quick Mode counters. */
  private count(ex: Phase2Exchange): void {
    const c = this.ctx.stats.negotiations.quick[ex.task.role];
    if (ex.outcome === "established") c.established++;
    else c.failed[ex.outcome ?? "aborted"]++;
  }

  /** A notify about exchange `ex`: protocol and SPI from its first proposal, else the cookies. */
  private notifyAbout(sa: IsakmpSa, ex: Phase2Exchange, notifyType: number): NotifyPayload {
    const about = ex.task.errorSpi();
    const spi = about === undefined ? Buffer.concat([sa.icookie, sa.rcookie]) : Buffer.alloc(4);
    if (about !== undefined) spi.writeUInt32BE(about.spi >>> 0);
    const protocolId = about === undefined ? ProtocolId.ISAKMP : about.proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH;
    return { type: PayloadType.N, doi: Doi.Ipsec, protocolId, notifyType, spi, data: Buffer.alloc(0) };
  }
}
