/**
 * The IKEv1 engine: datagrams in, datagrams out, SAs in between (RFC 2408 section 5, message
 * processing). It is handed a {@link Transport}, a {@link DhPort} and a {@link Phase1Policy}, and
 * does no I/O of its own, so two engines can run in one test process.
 *
 * For every datagram: decode the header; find the SA by cookies (or admit a new responder exchange,
 * after the half-open bounds and before any pool work); answer a retransmitted request from the
 * reply cache; otherwise queue it on the SA's serial queue, where it is decoded, decrypted, handed
 * to the exchange task, and the task's answer encrypted, sent and cached (responder) or sent and
 * retransmitted (initiator).
 *
 * Errors before keys exist go out as unprotected Informational notifies (RFC 2408 section 5.1
 * onwards), as strongSwan sends them; a datagram that does not even decode to a header is dropped.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  ExchangeType,
  HeaderFlag,
  Notify,
  checkRules,
  decodeDecrypted,
  decodeHeader,
  decodeMessage,
  type Header,
  type Payload,
} from "../codec/index.js";
import type { ResolvedRule } from "../config/types.js";
import type { AcquireEvent, ExpireEvent, Kernel } from "../kernel/kernel.js";
import { selectForAcquire, type IpsecPolicy } from "../policy/index.js";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import { CookieJar, ZERO_COOKIE } from "./cookies.js";
import { IsakmpSa } from "./isakmp-sa.js";
import { nullLog, phase1Channel, type IkeLog } from "./log.js";
import { MainMode, type Step } from "./phase1/main-mode.js";
import { AggressiveMode } from "./phase1/aggressive-mode.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import type { ChosenSa } from "./phase2/install.js";
import { deleteIpsec, deleteIsakmp } from "./informational.js";
import type { EngineEvents, EngineHost, Phase2Exchange } from "./engine-host.js";
import { InfoRouter } from "./info-router.js";
import { QuickRouter } from "./quick-router.js";
import { EngineIo } from "./engine-io.js";
export type { EngineEvents, Phase2Exchange } from "./engine-host.js";
import type { DhPort, Phase1Policy } from "./ports.js";
import { DEFAULT_EXPIRE_MS, DEFAULT_RETRANSMIT, Retransmitter, type RetransmitPolicy } from "./retransmit.js";
import { DEFAULT_HALF_OPEN, SaManager, type HalfOpenLimits } from "./sa-manager.js";
import { IkeStats } from "./stats.js";
import type { Endpoint, Transport } from "./transport.js";

/** A Phase 1 exchange task. */
type Phase1Task = MainMode | AggressiveMode;

/** Construction options of an {@link IkeEngine}. */
export interface EngineOptions {
  readonly transport: Transport;
  readonly dh: DhPort;
  readonly policy: Phase1Policy;
  readonly clock?: Clock;
  readonly log?: IkeLog;
  readonly cookies?: CookieJar;
  /** Random bytes for nonces and message IDs (tests pass a deterministic source). */
  readonly random?: (n: number) => Buffer;
  readonly retransmit?: RetransmitPolicy;
  /** `expire_timer`: how long an unfinished Phase 1 may live, ms. */
  readonly expireMs?: number;
  readonly halfOpen?: HalfOpenLimits;
  /** Default Phase 1 lifetime, seconds (ike.config `p1_lifetime_secs`). */
  readonly p1LifetimeSecs?: number;
  /** Where Quick Mode installs SAs; without one, Quick Mode is refused. */
  readonly kernel?: Kernel;
  /** The loaded ipsecinit.conf, asked by the Quick Mode responder and for ACQUIREs. */
  readonly ipsecPolicy?: () => IpsecPolicy | undefined;
  /** Our IKE port, the source port of exchanges we start (`--port`; default 500). */
  readonly localPort?: number;
  /**
   * Set the commit bit on the Quick Modes we start (RFC 2409 section 5.5): the SAs count as up
   * only when the responder's CONNECTED notify arrives. Off by default, as in strongSwan.
   */
  readonly quickModeCommit?: boolean;
}

/** What {@link IkeEngine.acquire} did with an ACQUIRE. */
export type AcquireOutcome = "started" | "no-ipsec-policy" | "no-rule" | "bypass" | "drop" | "none" | "no-algorithms";

/** Share of the Phase 1 lifetime after which an initiator rekeys (ike.config's soft default). */
const P1_SOFT_SHARE = 0.9;

/** The per-process IKE engine. */
export class IkeEngine extends EventEmitter<EngineEvents> {
  readonly stats = new IkeStats();
  readonly sas: SaManager<Phase2Exchange>;
  private readonly tasks = new Map<IsakmpSa, Phase1Task>();
  private readonly rules = new Map<IsakmpSa, ResolvedRule>();
  private readonly pendingQuick = new Map<IsakmpSa, QuickModeRequest[]>();
  /** IPsec SAs each ISAKMP SA negotiated (for Delete on shutdown). */
  private readonly installed = new Map<IsakmpSa, ChosenSa[]>();
  private readonly io: EngineIo;
  private readonly quick: QuickRouter;
  private readonly info: InfoRouter;
  private readonly clock: Clock;
  private readonly log: IkeLog;
  private readonly cookies: CookieJar;
  private readonly random: (n: number) => Buffer;
  private readonly retransmit: RetransmitPolicy;
  private readonly expireMs: number;
  private closed = false;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? nullLog;
    this.cookies = opts.cookies ?? new CookieJar({ clock: this.clock });
    this.random = opts.random ?? randomBytes;
    this.retransmit = opts.retransmit ?? DEFAULT_RETRANSMIT;
    this.expireMs = opts.expireMs ?? DEFAULT_EXPIRE_MS;
    this.sas = new SaManager<Phase2Exchange>(opts.halfOpen ?? DEFAULT_HALF_OPEN);
    this.io = new EngineIo(opts.transport, this.stats, this.log, this.random);
    const host: EngineHost = {
      opts,
      stats: this.stats,
      sas: this.sas,
      clock: this.clock,
      log: this.log,
      random: this.random,
      retransmit: this.retransmit,
      rules: this.rules,
      installed: this.installed,
      encode: (sa, o, exchangeType, messageId) => this.io.encode(sa, o, exchangeType, messageId),
      send: (sa, datagram) => this.io.send(sa, datagram),
      drop: (remote, reason) => this.io.drop(remote, reason),
      sendInformational: (sa, body) => this.io.sendInformational(sa, body),
      emit: (event, ...args) => void (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      negotiate: (rule, local, remote, request) => this.negotiate(rule, local, remote, request),
    };
    this.quick = new QuickRouter(host);
    this.info = new InfoRouter(
      host,
      (sa, reason, notify) => this.failSa(sa, reason, notify, false),
      (sa, notifyType, protocolId, spi) => void this.quick.peerError(sa, notifyType, protocolId, spi),
      (sa, protocolId, spi) => this.quick.connected(sa, protocolId, spi),
    );
    opts.transport.onDatagram((d, local, remote) => this.receive(d, local, remote));
  }

  /**
   * Start Phase 1 as initiator towards `remote` from `local` under `rule`. Main Mode, unless
   * `mode` says otherwise or the only key for the peer is an Aggressive Mode one (ike.preshared
   * `ike_mode aggressive`).
   */
  initiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, mode?: "main" | "aggressive"): IsakmpSa {
    const p = this.opts.policy;
    const chosen =
      mode ?? (p.presharedFor(local.address, remote.address, "main") === undefined && p.presharedFor(local.address, remote.address, "aggressive") !== undefined ? "aggressive" : "main");
    const sa = this.newSa({ role: "initiator", icookie: this.cookies.icookie(), local, remote, rule: rule.rule.label });
    const ctx = this.taskContext(sa, rule);
    const task = chosen === "aggressive" ? new AggressiveMode(ctx) : new MainMode(ctx);
    this.tasks.set(sa, task);
    this.rules.set(sa, rule);
    sa.transition("negotiating", `${chosen} mode started`);
    void sa.queue.push(async () => {
      let step: Step;
      try {
        step = await task.buildI();
      } catch (err) {
        step = { kind: "fail", reason: `internal error: ${(err as Error).message ?? String(err)}` };
      }
      this.afterStep(sa, step, undefined);
    });
    return sa;
  }

  /**
   * Negotiate IPsec SAs for `request` with `remote`: Quick Mode on an established ISAKMP SA with
   * that peer, or after the Main Mode this starts (or one already under way) completes.
   */
  negotiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, request: QuickModeRequest): IsakmpSa {
    const candidates = this.sas.byPeerAddress(remote.address).filter((s) => s.local.address === local.address);
    const up = this.newestEstablished(remote.address, local.address);
    if (up !== undefined) {
      this.quickMode(up, request);
      return up;
    }
    const pending = candidates.find((s) => s.state === "negotiating" && s.role === "initiator") ?? this.initiate(rule, local, remote);
    const list = this.pendingQuick.get(pending) ?? [];
    list.push(request);
    this.pendingQuick.set(pending, list);
    return pending;
  }

  /**
   * A kernel ACQUIRE (outbound traffic without an SA): the policy entry gives the proposals and
   * client IDs, ike.config the rule, and {@link negotiate} does the rest. The daemon wires
   * `kernel.on("acquire", (ev) => engine.acquire(ev))`.
   */
  acquire(ev: AcquireEvent): AcquireOutcome {
    const ipsec = this.opts.ipsecPolicy?.();
    if (ipsec === undefined) return "no-ipsec-policy";
    const sel = selectForAcquire(ipsec, { src: ev.src, dst: ev.dst, ulp: ev.ulp, ...(ev.policy.index > 0 ? { policy: { index: ev.policy.index } } : {}) });
    if (sel.kind !== "ipsec") return sel.kind;
    const rule = this.opts.policy.ruleFor(ev.src.address, ev.dst.address);
    if (rule === undefined) return "no-rule";
    this.negotiate(
      rule,
      { address: ev.src.address, port: this.opts.localPort ?? 500 },
      { address: ev.dst.address, port: rule.remotePort },
      { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId, seq: ev.seq },
    );
    return "started";
  }

  /**
   * A kernel EXPIRE. Soft, for an IPsec SA we initiated: negotiate the same traffic again (on the
   * ISAKMP SA if it is still up, else after a new Phase 1). Hard: forget it. The peer rekeys the
   * SAs it initiated. The daemon wires `kernel.on("expire", (ev) => engine.expire(ev))`.
   */
  expire(ev: ExpireEvent): "rekeying" | "ignored" {
    return this.quick.expire(ev);
  }

  /** Start Quick Mode as initiator on an established ISAKMP SA; false when refused. */
  quickMode(sa: IsakmpSa, request: QuickModeRequest): boolean {
    return this.quick.quickMode(sa, request);
  }

  /**
   * Delete an ISAKMP SA the polite way: a protected Informational with Delete payloads for the
   * IPsec SAs it negotiated (also removed from the kernel) and for itself, then tear it down.
   */
  async deleteSa(sa: IsakmpSa, reason = "deleted", withIpsec = true): Promise<void> {
    if ((sa.state === "established" || sa.state === "expired") && sa.keymat?.derived) {
      const chosen = withIpsec ? (this.installed.get(sa) ?? []) : [];
      for (const proto of ["esp", "ah"] as const) {
        const mine = chosen.filter((c) => c.proto === proto);
        if (mine.length === 0) continue;
        this.io.sendInformational(sa, [deleteIpsec(proto, mine.map((c) => c.inboundSpi))]);
        for (const c of mine) await this.info.removeIpsecPair(sa, proto, c.outboundSpi, c.inboundSpi);
      }
      this.io.sendInformational(sa, [deleteIsakmp(sa)]);
    }
    sa.destroy(reason);
  }

  /** Daemon shutdown: Delete every established SA, then tear everything down. */
  async shutdown(): Promise<void> {
    for (const sa of this.sas.all()) await this.deleteSa(sa, "shutdown");
    this.close();
  }

  /** Tear down every SA at once, without telling peers. */
  close(): void {
    this.closed = true;
    for (const sa of this.sas.all()) sa.destroy("engine closed");
  }

  /** Handle one received ISAKMP datagram (the transport calls this). */
  receive(datagram: Buffer, local: Endpoint, remote: Endpoint): void {
    if (this.closed) return;
    this.stats.engine.datagramsIn++;
    const hr = decodeHeader(datagram);
    if (!hr.ok) return this.io.drop(remote, `header: ${hr.error.code} at ${hr.error.offset}`);
    const h = hr.value;
    let sa = this.sas.lookup(h.icookie, h.rcookie, remote);
    if (sa === undefined) {
      const first = h.exchangeType === ExchangeType.IdentityProtection || h.exchangeType === ExchangeType.Aggressive;
      if (!first || !h.rcookie.equals(ZERO_COOKIE)) {
        return this.io.drop(remote, `no SA for ${h.icookie.toString("hex")}/${h.rcookie.toString("hex")} exch ${h.exchangeType}`);
      }
      sa = this.admitResponder(datagram, h, local, remote);
      if (sa === undefined) return;
    }
    const cached = sa.replies.match(datagram) ?? this.sas.getPhase2(sa.icookie, sa.rcookie, h.messageId)?.replies.match(datagram);
    if (cached !== undefined) {
      this.stats.engine.retransmitsAnswered++;
      for (const r of cached) this.io.send(sa, r);
      return;
    }
    const target = sa;
    if (!target.queue.push(() => this.process(target, Buffer.from(datagram)))) {
      this.io.drop(remote, `SA ${target.tag} queue full`);
    }
  }

  // ------------------------------------------------------------------ internals

  private admitResponder(datagram: Buffer, h: Header, local: Endpoint, remote: Endpoint): IsakmpSa | undefined {
    if (h.messageId !== 0 || (h.flags & HeaderFlag.Encryption) !== 0) {
      this.io.drop(remote, "first message with message ID or E flag");
      return undefined;
    }
    const refusal = this.sas.admitResponder(remote);
    if (refusal !== null) {
      this.stats.engine.halfOpenRefused++;
      this.io.drop(remote, refusal);
      return undefined;
    }
    const rule = this.opts.policy.ruleFor(local.address, remote.address);
    const rcookie = this.cookies.rcookie(h.icookie, remote, local);
    if (rule === undefined) {
      this.io.notifyUnprotected(local, remote, h.icookie, rcookie, Notify.NoProposalChosen);
      this.io.drop(remote, `no rule for ${local.address} <- ${remote.address}`);
      return undefined;
    }
    const m = decodeMessage(datagram);
    if (!m.ok) {
      this.io.notifyUnprotected(local, remote, h.icookie, rcookie, m.error.notify);
      this.io.drop(remote, `MM1: ${m.error.code} at ${m.error.offset}`);
      return undefined;
    }
    const sa = this.newSa({ role: "responder", icookie: h.icookie, rcookie, local, remote, rule: rule.rule.label });
    sa.peerAnswered = true;
    const ctx = this.taskContext(sa, rule);
    this.tasks.set(sa, h.exchangeType === ExchangeType.Aggressive ? new AggressiveMode(ctx) : new MainMode(ctx));
    this.rules.set(sa, rule);
    sa.transition("negotiating", "MM1 received");
    return sa;
  }

  private newSa(init: ConstructorParameters<typeof IsakmpSa>[0]): IsakmpSa {
    const sa = new IsakmpSa(init, { clock: this.clock, log: this.log, stats: this.stats });
    this.sas.add(sa);
    sa.setTimer("expire", this.expireMs, () => {
      if (sa.state !== "negotiating") return;
      this.stats.engine.expired++;
      this.failSa(sa, "expire_timer: Phase 1 not finished", undefined, false);
    });
    sa.onDestroy(() => {
      this.tasks.delete(sa);
      this.rules.delete(sa);
      this.installed.delete(sa);
      for (const req of this.pendingQuick.get(sa) ?? []) this.emit("phase2-failed", sa, `ISAKMP SA died before Quick Mode (${req.remoteId.prefix})`);
      this.pendingQuick.delete(sa);
      this.emit("sa-dead", sa, sa.deathReason ?? "");
    });
    return sa;
  }

  private taskContext(sa: IsakmpSa, rule: ResolvedRule) {
    return {
      sa,
      rule,
      dh: this.opts.dh,
      policy: this.opts.policy,
      random: this.random,
      log: this.log,
      otherSaWithPeer: () => this.sas.byPeerAddress(sa.remote.address).some((o) => o !== sa && o.state === "established"),
      ...(this.opts.p1LifetimeSecs !== undefined ? { defaultLifeSecs: this.opts.p1LifetimeSecs } : {}),
    };
  }

  /** Runs on the SA's queue: one message at a time. */
  private async process(sa: IsakmpSa, datagram: Buffer): Promise<void> {
    if (sa.state === "dead") return;
    const cached = sa.replies.match(datagram);
    if (cached !== undefined) {
      this.stats.engine.retransmitsAnswered++;
      for (const r of cached) this.io.send(sa, r);
      return;
    }
    const m = decodeMessage(datagram);
    if (!m.ok) return this.io.drop(sa.remote, `${sa.tag}: ${m.error.code} at ${m.error.offset}`);
    const h = m.value.header;
    if (h.exchangeType === ExchangeType.Informational) return this.info.onInformational(sa, m.value);
    if (h.exchangeType === ExchangeType.QuickMode) return this.quick.processQuick(sa, m.value, datagram);
    const task = this.tasks.get(sa);
    if (task === undefined || h.exchangeType !== task.exchangeType || h.messageId !== 0) {
      return this.io.drop(sa.remote, `${sa.tag}: exchange ${h.exchangeType} mid ${h.messageId} not handled here`);
    }
    if (task.state === "done" || task.state === "failed") {
      return this.io.drop(sa.remote, `${sa.tag}: Main Mode message after the exchange ended`);
    }
    let payloads: readonly Payload[];
    let settle: ((good: boolean) => void) | undefined;
    if (m.value.kind === "encrypted") {
      const km = sa.keymat;
      if (km === undefined || !km.derived) return this.io.drop(sa.remote, `${sa.tag}: encrypted message before keys`);
      const d = km.decrypt(0, m.value.ciphertext);
      if (!d.ok) return this.io.drop(sa.remote, `${sa.tag}: ${d.code}`);
      const pm = decodeDecrypted(h, d.plaintext);
      if (!pm.ok) {
        d.discard();
        // Garbage after decryption almost always means the two sides hold different keys.
        return this.stepFailed(sa, { kind: "fail", notify: Notify.PayloadMalformed, reason: `decrypted body: ${pm.error.code} (wrong pre-shared key?)` });
      }
      payloads = pm.value.payloads;
      settle = (good) => (good ? d.commit() : d.discard());
    } else {
      payloads = m.value.payloads;
    }
    const pos = task.expected();
    const violation = pos === undefined ? null : checkRules(pos, h, payloads);
    if (violation !== null) {
      // A malformed message does not end the exchange: the peer may still send a good one.
      settle?.(false);
      if (!sa.keymat?.derived) this.io.notifyUnprotected(sa.local, sa.remote, sa.icookie, h.rcookie, violation.notify);
      return this.io.drop(sa.remote, `${sa.tag}: ${pos}: ${violation.code} ${violation.detail}`);
    }
    if (sa.role === "initiator" && sa.rcookie.equals(ZERO_COOKIE)) {
      if (h.rcookie.equals(ZERO_COOKIE)) return this.io.drop(sa.remote, `${sa.tag}: answer without responder cookie`);
      this.sas.setRcookie(sa, h.rcookie);
    }
    let step: Step;
    try {
      step = sa.role === "initiator" ? await task.processI(payloads) : await task.processR(payloads);
    } catch (err) {
      // Our own machinery (crypto, pool) failed: the SA cannot continue, the daemon can.
      settle?.(false);
      this.log.error({ sa: sa.tag, err: String(err) }, "Phase 1 step threw");
      return this.failSa(sa, `internal error: ${(err as Error).message ?? String(err)}`, undefined, false);
    }
    if (sa.isDead()) return;
    settle?.(step.kind !== "fail");
    if (step.kind !== "fail") {
      sa.peerAnswered = true;
      sa.retransmitter?.stop();
      sa.retransmitter = undefined;
    }
    this.afterStep(sa, step, datagram);
  }

  /** Send what a step produced and move the SA on. `request` is the datagram it answered. */
  private afterStep(sa: IsakmpSa, step: Step, request: Buffer | undefined): void {
    if (step.kind === "fail") return this.stepFailed(sa, step);
    const task = this.tasks.get(sa);
    const out = step.reply === undefined ? undefined : this.io.encode(sa, step.reply, task?.exchangeType);
    // A responder waits passively (the initiator retransmits), except for AM2: AM3 is final, so
    // nobody else would notice it was lost.
    const waits = sa.role === "initiator" || task instanceof AggressiveMode;
    if (out !== undefined) {
      if (!waits) {
        this.io.send(sa, out);
      } else if (step.kind === "more") {
        const r = new Retransmitter(
          this.clock,
          this.retransmit,
          (again) => {
            if (again) this.stats.engine.retransmitsSent++;
            this.io.send(sa, out);
          },
          () => this.failSa(sa, `no answer after ${this.retransmit.limit} retransmissions`, undefined, false),
        );
        sa.retransmitter = r;
        r.start();
      } else {
        this.io.send(sa, out);
      }
    }
    // A repeat of the message we just answered gets the same answer (responder: our reply;
    // initiator: the retransmitted answer from the peer makes us resend our next request).
    if (request !== undefined && out !== undefined) sa.replies.remember(request, [out]);
    if (step.kind === "done") this.established(sa);
  }

  private established(sa: IsakmpSa): void {
    const task = this.tasks.get(sa)!;
    const result = task.result!;
    sa.clearTimer("expire");
    const t = result.transform;
    sa.phase1 = {
      exchange: task instanceof AggressiveMode ? "aggressive" : "main",
      encr: t.encr,
      keyBits: result.keyBits,
      hash: t.hash,
      group: t.group,
      auth: t.auth,
      localId: result.localId,
      peerId: result.peerId,
    };
    sa.transition("established", `Phase 1 done, peer ${result.peerId}`);
    this.sas.markEstablished(sa);
    const life = (sa.lifeSecs ?? result.lifeSecs) * 1000;
    // At its lifetime the SA is deleted (the peer is told); its IPsec SAs live on, handed to a
    // newer SA with the peer when there is one. The initiator starts that newer SA ahead of time
    // (at 90 %, the soft share ike.config gives Phase 2) while IPsec SAs still need a Phase 1.
    sa.setTimer("lifetime", life, () => {
      sa.transition("expired", "lifetime");
      this.handOver(sa);
      void this.deleteSa(sa, "lifetime expired", false);
    });
    if (sa.role === "initiator") sa.setTimer("soft", Math.floor(life * P1_SOFT_SHARE), () => this.rekeyPhase1(sa));
    this.log.info(
      { sa: sa.tag, role: sa.role, peer: result.peerId, encr: result.transform.encr, bits: result.keyBits, hash: result.transform.hash, group: result.transform.group, life: result.lifeSecs },
      "Phase 1 SA established",
    );
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: true });
    if (result.initialContact) {
      // RFC 2407 section 4.6.3.3: the peer has rebooted; our older SAs with it are stale, and so
      // are the IPsec SAs between us (deleted before this SA's first Quick Mode, on its queue).
      const older = this.sas.byPeerAddress(sa.remote.address).filter((o) => o !== sa);
      void sa.queue.push(() => this.info.purgePeer(sa).then(() => undefined));
      for (const o of older) {
        o.ipsecDeleted += this.installed.get(o)?.length ?? 0;
        o.destroy("INITIAL-CONTACT from peer");
      }
    }
    this.emit("phase1-up", sa, result);
    const pending = this.pendingQuick.get(sa) ?? [];
    this.pendingQuick.delete(sa);
    for (const req of pending) this.quickMode(sa, req);
  }

  /**
   * Phase 1 rekey: a new ISAKMP SA with the same peer, rule and exchange, started before `sa`
   * expires, but only while IPsec SAs negotiated under `sa` are still installed (as the original
   * does: an idle Phase 1 is left to expire) and no newer SA with the peer exists.
   */
  private rekeyPhase1(sa: IsakmpSa): void {
    const rule = this.rules.get(sa);
    if (sa.state !== "established" || rule === undefined || (this.installed.get(sa)?.length ?? 0) === 0) return;
    const newer = this.sas.byPeerAddress(sa.remote.address).some((o) => o !== sa && o.local.address === sa.local.address && !o.isDead() && o.createdAt > sa.createdAt);
    if (newer) return;
    this.log.info({ sa: sa.tag }, "Phase 1 rekey before expiry");
    this.initiate(rule, sa.local, sa.remote, sa.phase1?.exchange);
  }

  /** Give the IPsec SAs of an expiring SA to the newest established SA with the same peer. */
  private handOver(sa: IsakmpSa): void {
    const mine = this.installed.get(sa) ?? [];
    const heir = this.newestEstablished(sa.remote.address, sa.local.address, sa);
    if (heir === undefined || mine.length === 0) return;
    this.installed.set(heir, [...(this.installed.get(heir) ?? []), ...mine]);
    this.installed.set(sa, []);
  }

  private newestEstablished(remote: string, local: string, except?: IsakmpSa): IsakmpSa | undefined {
    let best: IsakmpSa | undefined;
    for (const o of this.sas.byPeerAddress(remote)) {
      if (o === except || o.state !== "established" || o.local.address !== local) continue;
      if (best === undefined || o.createdAt >= best.createdAt) best = o;
    }
    return best;
  }

  private stepFailed(sa: IsakmpSa, step: Extract<Step, { kind: "fail" }>): void {
    this.failSa(sa, step.reason, step.notify, true);
  }

  private failSa(sa: IsakmpSa, reason: string, notify: number | undefined, sendNotify: boolean): void {
    if (sa.state === "dead") return;
    if (sendNotify && notify !== undefined) this.io.notifyUnprotected(sa.local, sa.remote, sa.icookie, sa.rcookie, notify);
    this.log.info({ sa: sa.tag, role: sa.role, reason, notify }, "Phase 1 failed");
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: false, notify, reason });
    this.emit("phase1-failed", sa, reason, notify);
    sa.destroy(reason);
  }
}
