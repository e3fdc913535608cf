/**
 * Phase 1 (RFC 2409 section 5: Main and Aggressive Mode) and the ISAKMP SAs it makes: starts
 * initiator exchanges, makes the responder SAs admission.ts lets in (Main Mode at MM3, resumed
 * from its embryonic record; Aggressive Mode at AM1), hands each received Phase 1 message
 * (decrypted and rule-checked by the dispatcher) to the
 * SA's task, and sends, caches (responder) or retransmits (initiator) the task's answer. An
 * established SA gets its lifetime (phase1/lifetime.ts) and runs the Quick Modes that waited for it.
 *
 * Errors before keys exist go out as unprotected Informational notifies (RFC 2408 section 3.14),
 * as strongSwan sends them; after keys, protected (RFC 2409 section 5.7).
 */
import { ExchangeType, Notify, type Header, type Message } from "../codec/index.js";
import type { Clock } from "../clock.js";
import type { ResolvedRule } from "../config/types.js";
import type { ResponderFactory } from "./admission.js";
import { isInvariantFailure, type Fatal } from "./boundary.js";
import { ZERO_COOKIE } from "./cookies.js";
import type { EngineIo } from "./engine-io.js";
import type { EmitEvent } from "./events.js";
import { dpdVendorIds, hasDpdVendorId, type DeadPeerDetection } from "./dpd.js";
import type { ExchangeHandler, Inbound, Route } from "./inbound.js";
import type { Phase1Notices } from "./info-handler.js";
import { isakmpNotify } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
import { IsakmpSa, type IsakmpSaContext, type IsakmpSaInit, type SaDestroyListener } from "./isakmp-sa.js";
import { phase1Channel, type IkeLog } from "./log.js";
import { AggressiveMode } from "./phase1/aggressive-mode.js";
import { Phase1Lifetime } from "./phase1/lifetime.js";
import { MainMode, type Phase1Context } from "./phase1/main-mode.js";
import { usableMethods } from "./phase1/methods.js";
import type { Mm1Record, UsableMethods } from "./phase1/mm1.js";
import { failureOfNotify, type FailureClass } from "./negotiation-stats.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import type { PubkeyPort } from "./phase1/credentials.js";
import type { DhPort, Phase1Policy } from "./ports.js";
import type { SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";
import type { NattPhase1, TaskPosition } from "./natt-phase1.js";
import { internalError, type Step } from "./step.js";
import type { Endpoint } from "./transport.js";

/** A Phase 1 exchange task. */
export type Phase1Task = MainMode | AggressiveMode;

/** Starts a Quick Mode on an established SA (the Quick Mode handler). */
export interface QuickModeStarter {
  quickMode(sa: IsakmpSa, request: QuickModeRequest): boolean;
}

/** What the Phase 1 handler works with. */
export interface Phase1HandlerContext {
  readonly sas: SaManager<unknown>;
  readonly ipsec: IpsecSas;
  readonly io: EngineIo;
  readonly emit: EmitEvent;
  /** Runs the Quick Modes that waited for a Phase 1. */
  readonly quick: QuickModeStarter;
  readonly dh: DhPort;
  /** Signatures and RSA encryption in the crypto pool; absent: certificate methods are refused. */
  readonly pubkey: PubkeyPort | undefined;
  readonly policy: Phase1Policy;
  /** Makes initiator cookies. */
  readonly icookie: () => Buffer;
  readonly clock: Clock;
  /** `expire_timer`: how long an unfinished Phase 1 may live, ms. */
  readonly expireMs: number;
  /** Default Phase 1 lifetime, seconds (ike.config `p1_lifetime_secs`). */
  readonly p1LifetimeSecs: number | undefined;
  readonly random: (n: number) => Buffer;
  readonly log: IkeLog;
  readonly stats: IkeStats;
  /** Where an invariant failure goes (boundary.ts); each SA is given it. */
  readonly fatal: Fatal;
  /** Starts Dead Peer Detection on an established SA. */
  readonly dpd: Pick<DeadPeerDetection, "start">;
  /** NAT traversal's steps (vendor IDs, NAT-D, float, keepalives). */
  readonly natt: NattPhase1;
}

/** Whether `x` hears of SA destroys (the Quick Mode starter given may or may not). */
function isDestroyListener(x: unknown): x is SaDestroyListener {
  return typeof (x as Partial<SaDestroyListener> | undefined)?.saDestroyed === "function";
}

/** Where `task` is, for NAT-T. */
function positionOf(task: Phase1Task): TaskPosition {
  return { mode: task instanceof AggressiveMode ? "aggressive" : "main", role: task.role, state: task.state };
}

/** The engine's Phase 1 handler. */
export class Phase1Handler implements ExchangeHandler, ResponderFactory, Phase1Notices, SaDestroyListener {
  /**
   * The Phase 1 exchange of each SA negotiating. The tables of this handler are keyed by the SA
   * and never iterated, so they are `WeakMap`s: a `Map` or `Set` every SA enters and leaves
   * re-allocates its hash table in old space as it empties (sa-manager.ts). Counted for leak
   * checks ({@link debugSizes}).
   */
  private readonly tasks = new WeakMap<IsakmpSa, Phase1Task>();
  private taskCount = 0;
  /** Quick Modes waiting for an initiator SA to come up. */
  private readonly pendingQuick = new WeakMap<IsakmpSa, QuickModeRequest[]>();
  private pendingCount = 0;
  private readonly lifetime: Phase1Lifetime;
  /** Called once a responder SA's first step is done (it releases the exchange's unverified-DH slot). */
  private readonly firstStep = new WeakMap<IsakmpSa, () => void>();

  /** What every SA of this handler is given (one object for all of them). */
  private readonly saContext: IsakmpSaContext;

  constructor(private readonly ctx: Phase1HandlerContext) {
    // Quick Mode's handler, this one and the SA tables hear of every SA's destroy, in that order
    // (one list for all SAs, not a list of listeners held by each).
    const destroyListeners = ([ctx.quick, this, ctx.sas] as unknown[]).filter(isDestroyListener);
    this.saContext = { clock: ctx.clock, log: ctx.log, stats: ctx.stats, fatal: ctx.fatal, destroyListeners };
    this.lifetime = new Phase1Lifetime({
      sas: ctx.sas,
      ipsec: ctx.ipsec,
      io: ctx.io,
      clock: ctx.clock,
      log: ctx.log,
      rekey: (sa) => {
        ctx.stats.engine.phase1Rekeys++;
        this.initiate(sa.config!, sa.local, sa.remote, sa.phase1?.exchange);
      },
    });
  }

  /**
   * Start Phase 1 as initiator towards `remote` from `local` under `rule`. Main Mode, unless
   * `mode` says otherwise or the only key for the peer is an Aggressive Mode one (ike.preshared
   * `ike_mode aggressive`).
   */
  initiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, mode?: "main" | "aggressive"): IsakmpSa {
    const p = this.ctx.policy;
    const chosen =
      mode ?? (p.presharedFor(local.address, remote.address, "main") === undefined && p.presharedFor(local.address, remote.address, "aggressive") !== undefined ? "aggressive" : "main");
    const sa = this.newSa({ role: "initiator", icookie: this.ctx.icookie(), local, remote, rule: rule.rule.label, config: rule });
    sa.dpd.weSent = dpdVendorIds(rule).length > 0;
    const ctx = this.taskContext(sa, rule);
    const task = chosen === "aggressive" ? new AggressiveMode(ctx) : new MainMode(ctx);
    this.setTask(sa, task);
    sa.exchange = chosen;
    sa.transition("negotiating", `${chosen} mode started`);
    void sa.queue.push(async () => {
      let step: Step;
      try {
        step = await task.buildI();
      } catch (err) {
        step = internalError(err);
      }
      this.afterStep(sa, step, undefined);
    });
    return sa;
  }

  /** Run `request` once the initiator SA `sa` is up (or drop it with `sa`). */
  afterPhase1(sa: IsakmpSa, request: QuickModeRequest): void {
    const list = this.pendingQuick.get(sa);
    if (list !== undefined) list.push(request);
    else {
      this.pendingQuick.set(sa, [request]);
      this.pendingCount++;
    }
  }

  startResponder(init: IsakmpSaInit, rule: ResolvedRule, mode: "main" | "aggressive", mm1?: Mm1Record, firstStepDone?: () => void): IsakmpSa {
    const sa = this.newSa(init);
    sa.dpd.weSent = dpdVendorIds(rule).length > 0;
    sa.peerAnswered = true;
    if (mm1?.peerDpd === true) sa.dpd.peerSent = true;
    // Main Mode starts here at MM3, which carried our cookie back; Aggressive Mode at AM1.
    sa.verified = mode === "main";
    if (firstStepDone !== undefined) {
      this.firstStep.set(sa, firstStepDone);
      sa.onDestroy(firstStepDone);
    }
    const ctx = this.taskContext(sa, rule);
    const task = mode === "aggressive" ? new AggressiveMode(ctx) : new MainMode(ctx);
    if (mm1 !== undefined && task instanceof MainMode) task.resumeR(mm1);
    this.ctx.natt.resumed(sa, mm1?.natt);
    this.setTask(sa, task);
    sa.exchange = mode;
    sa.transition("negotiating", mode === "aggressive" ? "AM1 received" : "MM3 with our cookie");
    return sa;
  }

  usableMethods(rule: ResolvedRule): UsableMethods {
    const credentials = this.ctx.policy.credentials?.();
    return usableMethods({ rule, pubkey: this.ctx.pubkey, ...(credentials !== undefined ? { credentials } : {}) });
  }

  sealed(sa: IsakmpSa, header: Header): readonly number[] | undefined {
    const task = this.tasks.get(sa);
    return task instanceof MainMode ? task.sealed(header) : undefined;
  }

  route(sa: IsakmpSa, m: Message): Route | string {
    const h = m.header;
    const task = this.tasks.get(sa);
    // An established SA no longer holds its task (see established()).
    if (task === undefined && sa.phase1 !== undefined && h.messageId === 0) return "Phase 1 message after the exchange ended";
    if (task === undefined || h.exchangeType !== task.exchangeType || h.messageId !== 0) return `exchange ${h.exchangeType} mid ${h.messageId} not handled here`;
    if (task.state === "done" || task.state === "failed") return "Phase 1 message after the exchange ended";
    if (m.kind === "encrypted" && sa.keymat?.derived !== true) return "encrypted message before keys";
    const pos = task.expected();
    return {
      position: pos,
      refused: (e, stage) => {
        // Garbage after decryption almost always means the two sides hold different keys.
        if (stage === "body") return this.failSa(sa, `decrypted body: ${e.code} (wrong pre-shared key?)`, Notify.PayloadMalformed, true, false, "authentication_failed");
        // A responder SA exists only for its first message (AM1): if that is refused, so is the SA.
        if (sa.role === "responder" && task.state === "start") return this.failSa(sa, `${pos}: ${e.code} ${e.detail}`, e.notify, true);
        // A malformed message does not end the exchange: the peer may still send a good one.
        if (!sa.keymat?.derived) this.ctx.io.notifyUnprotected(sa.local, sa.remote, sa.icookie, h.rcookie, e.notify, sa.verified);
        this.ctx.io.drop(sa.remote, `${sa.tag}: ${pos}: ${e.code} ${e.detail}`);
      },
      deliver: (i) => this.deliver(task, i),
    };
  }

  private async deliver(task: Phase1Task, { sa, header: h, payloads, datagram, encrypted, settle, verified, local, remote }: Inbound): Promise<void> {
    if (sa.role === "initiator" && sa.rcookie.equals(ZERO_COOKIE)) {
      if (h.rcookie.equals(ZERO_COOKIE)) return this.ctx.io.drop(sa.remote, `${sa.tag}: answer without responder cookie`);
      this.ctx.sas.setRcookie(sa, h.rcookie);
    }
    // RFC 3706 section 5.1: the peer's DPD vendor ID may come in any of its Phase 1 messages.
    if (hasDpdVendorId(payloads)) sa.dpd.peerSent = true;
    const before = positionOf(task);
    let step: Step;
    try {
      step = sa.role === "initiator" ? await task.processI(payloads) : await task.processR(payloads);
    } catch (err) {
      // Our own machinery (crypto, pool) failed: the SA cannot continue, the daemon can. A broken
      // invariant goes on to the SA's boundary and the crash policy.
      if (isInvariantFailure(err)) throw err;
      settle(false);
      this.ctx.log.error({ sa: sa.tag, err: String(err) }, "Phase 1 step threw");
      return this.failSa(sa, `internal error: ${(err as Error).message ?? String(err)}`, undefined, false);
    }
    const done = this.firstStep.get(sa);
    if (done !== undefined) {
      this.firstStep.delete(sa);
      done();
    }
    if (sa.isDead()) return;
    // An encrypted message that decrypted and parsed proves the peer holds our keys: a failure of
    // this step (HASH_I/HASH_R mismatch, unacceptable ID) goes back protected, with the IV chain
    // advanced past this message as the peer's is (RFC 2409 section 5.7: "last Phase 1 block").
    settle(step.kind !== "fail" || encrypted);
    if (step.kind !== "fail") {
      // An encrypted message its step took (HASH_I/HASH_R or signature verified): the peer is alive
      // (DPD), and NAT-T may move the SA to where it came from. A failed one moves nothing (RFC
      // 3947 section 5): its notify goes to the endpoints the SA had.
      if (encrypted) sa.heard();
      verified();
      this.ctx.natt.received(sa, before, payloads, { local, remote });
      sa.peerAnswered = true;
      sa.retransmitter?.stop();
      sa.retransmitter = undefined;
    }
    if (step.kind === "fail" && encrypted) return this.failSa(sa, step.reason, step.notify, true, true);
    this.afterStep(sa, step, datagram);
  }

  /** Send what a step produced and move the SA on. `request` is the datagram it answered. */
  private afterStep(sa: IsakmpSa, step: Step, request: Buffer | undefined): void {
    const io = this.ctx.io;
    if (step.kind === "fail") return this.failSa(sa, step.reason, step.notify, true);
    const task = this.tasks.get(sa);
    const reply = step.reply === undefined || task === undefined ? step.reply : this.ctx.natt.sending(sa, positionOf(task), step.reply);
    const out = reply === undefined ? undefined : io.encode(sa, reply, task?.exchangeType ?? ExchangeType.IdentityProtection, 0);
    // A responder waits passively (the initiator retransmits), except for AM2: AM3 is final, so
    // nobody else would notice it was lost.
    const waits = sa.role === "initiator" || task instanceof AggressiveMode;
    if (out !== undefined) {
      if (!waits) {
        io.send(sa, out);
      } else if (step.kind === "more") {
        const r = io.retransmitter(sa, out, () => this.failSa(sa, `no answer after ${io.retransmit.limit} retransmissions`, undefined, false, false, "timeout"));
        sa.retransmitter = r;
        r.start();
      } else {
        io.send(sa, out);
      }
    }
    // A repeat of the message we just answered gets the same answer (responder: our reply;
    // initiator: the retransmitted answer from the peer makes us resend our next request).
    if (request !== undefined && out !== undefined) sa.replies.remember(request, [out]);
    else if (step.kind === "done") {
      // The peer's message ended the exchange (Main Mode initiator at MM6, Aggressive Mode
      // responder at AM3): the peer has nothing left to repeat, so our answer to its earlier
      // message goes. The side that sent the last message keeps it until the peer's first
      // verified Quick Mode message (quick-handler.ts).
      sa.replies.clear();
    }
    if (step.kind === "done") this.established(sa);
  }

  private established(sa: IsakmpSa): void {
    const { sas, ipsec, log, emit, quick } = this.ctx;
    const task = this.tasks.get(sa)!;
    const result = task.result!;
    // The exchange is over: what it kept to compute the hashes and keys (SA payload, nonces, DH
    // values, proposals, the authenticator) is not needed any more, so the SA stops holding it. A
    // retransmitted last request is answered from the SA's reply cache, before routing.
    this.dropTask(sa);
    sa.keymat?.phase1Over();
    // Phase 1's pool work (DH, signatures) is all done: a later exchange makes a new controller.
    sa.releaseAbort();
    sa.clearTimer("expire");
    const t = result.transform;
    sa.phase1 = {
      exchange: task instanceof AggressiveMode ? "aggressive" : "main",
      encr: t.encr,
      keyBits: result.keyBits,
      hash: t.hash,
      group: t.group,
      auth: t.auth,
      // Identities by address (the usual with preshared keys) share the endpoints' address
      // strings: a summary kept for the SA's life holds no copies of its own (~64 bytes per SA).
      localId: result.localId === sa.local.address ? sa.local.address : result.localId,
      peerId: result.peerId === sa.remote.address ? sa.remote.address : result.peerId,
      agreedLifeSecs: result.lifeSecs,
      lifeKb: t.lifeKb ?? 0,
    };
    sa.transition("established", `Phase 1 done, peer ${result.peerId}`);
    sas.markEstablished(sa);
    this.lifetime.arm(sa, sa.lifeSecs ?? result.lifeSecs);
    this.ctx.natt.established(sa);
    log.info(
      { sa: sa.tag, role: sa.role, peer: result.peerId, encr: result.transform.encr, bits: result.keyBits, hash: result.transform.hash, group: result.transform.group, life: result.lifeSecs },
      "Phase 1 SA established",
    );
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: true });
    if (sa.role === "responder") this.lifetime.tell(sa, result.transform.lifeSecs, sa.lifeSecs ?? result.lifeSecs);
    if (result.initialContact) {
      // RFC 2407 section 4.6.3.3: the peer has rebooted; our older SAs with it are stale, and so
      // are the IPsec SAs between us (deleted before this SA's first Quick Mode, on its queue).
      // "The peer" is this identity on this address pair: users behind one NAT share an address
      // and must not tear down each other's SAs.
      const older = sas
        .byPeerAddress(sa.remote.address)
        .filter((o) => o !== sa && o.local.address === sa.local.address && o.phase1 !== undefined && o.phase1.peerId === result.peerId);
      void sa.queue.push(() => ipsec.purgePeer(sa, result.peerId).then(() => undefined));
      for (const o of older) {
        o.ipsecDeleted += ipsec.of(o).length;
        o.destroy("INITIAL-CONTACT from peer");
      }
    }
    this.ctx.dpd.start(sa);
    emit("phase1-up", sa, result);
    for (const req of this.takePending(sa)) quick.quickMode(sa, req);
  }

  shortenLifetime(sa: IsakmpSa, secs: number): boolean {
    return this.lifetime.honour(sa, secs);
  }

  refused(sa: IsakmpSa, reason: string, notify: number): void {
    this.failSa(sa, reason, notify, false);
  }

  /**
   * End a Phase 1 exchange: notify the peer when asked, tell listeners, destroy. The notify goes in
   * the clear (RFC 2408 section 3.14) unless `protect`: then the peer is known to hold our Phase 1
   * keys (it sent an encrypted message we could read), and it gets a protected Informational with
   * HASH(1) (RFC 2409 section 5.7), as strongSwan sends and as Libreswan, which ignores
   * cleartext notifies, needs. `failure` is the class counted (default: from the notify).
   */
  private failSa(sa: IsakmpSa, reason: string, notify: number | undefined, sendNotify: boolean, protect = false, failure?: FailureClass): void {
    const { io, log, emit } = this.ctx;
    if (sa.state === "dead") return;
    sa.failure = failure ?? failureOfNotify(notify);
    if (sendNotify && notify !== undefined) {
      if (protect && sa.keymat?.derived === true) io.sendInformational(sa, [isakmpNotify(sa, notify)]);
      else io.notifyUnprotected(sa.local, sa.remote, sa.icookie, sa.rcookie, notify, sa.verified);
    }
    log.info({ sa: sa.tag, role: sa.role, rule: sa.rule, reason, notify }, "Phase 1 failed");
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: false, notify, reason });
    emit("phase1-failed", sa, reason, notify);
    sa.destroy(reason);
  }

  private newSa(init: IsakmpSaInit): IsakmpSa {
    const { stats, sas, expireMs } = this.ctx;
    const sa = new IsakmpSa(init, this.saContext);
    sas.add(sa);
    sa.setTimer("expire", expireMs, () => {
      if (sa.state !== "negotiating") return;
      stats.engine.expired++;
      this.failSa(sa, "expire_timer: Phase 1 not finished", undefined, false, false, "timeout");
    });
    sa.onDestroy(this);
    return sa;
  }

  /** One of our SAs was destroyed: forget its exchange, fail the Quick Modes that waited for it. */
  saDestroyed(sa: IsakmpSa): void {
    const { ipsec, emit } = this.ctx;
    this.dropTask(sa);
    this.firstStep.delete(sa);
    ipsec.release(sa);
    for (const req of this.takePending(sa)) emit("phase2-failed", sa, `ISAKMP SA died before Quick Mode (${req.remoteId.prefix})`, req);
    emit("sa-dead", sa, sa.deathReason ?? "");
  }

  private taskContext(sa: IsakmpSa, rule: ResolvedRule): Phase1Context {
    const { dh, pubkey, policy, random, log, sas, p1LifetimeSecs } = this.ctx;
    const credentials = policy.credentials?.();
    return {
      sa,
      rule,
      dh,
      policy,
      random,
      log,
      ...(pubkey !== undefined ? { pubkey } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
      stateWithPeer: () => {
        const holders = sas.byPeerAddress(sa.remote.address);
        return holders.some((o) => o !== sa && o.state === "established") || this.ctx.ipsec.holdsWith(holders, sa.local.address, sa.remote.address);
      },
      ...(p1LifetimeSecs !== undefined ? { defaultLifeSecs: p1LifetimeSecs } : {}),
    };
  }

  /** Entry counts of the tables, for leak checks. */
  debugSizes(): { tasks: number; pendingQuick: number } {
    return { tasks: this.taskCount, pendingQuick: this.pendingCount };
  }

  private setTask(sa: IsakmpSa, task: Phase1Task): void {
    if (!this.tasks.has(sa)) this.taskCount++;
    this.tasks.set(sa, task);
  }

  private dropTask(sa: IsakmpSa): void {
    if (this.tasks.delete(sa)) this.taskCount--;
  }

  /** The Quick Modes waiting for `sa`, which stop waiting. */
  private takePending(sa: IsakmpSa): readonly QuickModeRequest[] {
    const list = this.pendingQuick.get(sa);
    if (list === undefined) return [];
    this.pendingQuick.delete(sa);
    this.pendingCount--;
    return list;
  }
}
