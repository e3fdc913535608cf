/**
 * The IKEv1 engine: datagrams in, datagrams out, SAs in between (RFC 2408 section 5, message
 * processing). It is handed a {@link Transport}, a {@link DhPort} and a {@link Phase1Policy}, and
 * does no I/O of its own, so two engines can run in one test process.
 *
 * For every datagram: decode the header; find the SA by cookies (or admit a new responder exchange,
 * after the half-open bounds and before any pool work); answer a retransmitted request from the
 * reply cache; otherwise queue it on the SA's serial queue, where it is decoded, decrypted, handed
 * to the exchange task, and the task's answer encrypted, sent and cached (responder) or sent and
 * retransmitted (initiator). The work is split: phase1-router.ts (Main/Aggressive Mode and the SA's
 * lifetime), quick-router.ts (Quick Mode), info-router.ts (Informational), engine-io.ts (sending).
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
  decodeHeader,
  decodeMessage,
  type Header,
} from "../codec/index.js";
import type { ResolvedRule } from "../config/types.js";
import type { AcquireEvent, ExpireEvent, Kernel } from "../kernel/kernel.js";
import { selectForAcquire, type IpsecPolicy } from "../policy/index.js";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { CookieJar, ZERO_COOKIE } from "./cookies.js";
import { IsakmpSa } from "./isakmp-sa.js";
import { nullLog, type IkeLog } from "./log.js";
import { MainMode, type Step } from "./phase1/main-mode.js";
import { AggressiveMode } from "./phase1/aggressive-mode.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import type { ChosenSa } from "./phase2/install.js";
import { deleteIpsec, deleteIsakmp } from "./informational.js";
import type { EngineEvents, EngineHost, Phase2Exchange } from "./engine-host.js";
import { InfoRouter } from "./info-router.js";
import { QuickRouter } from "./quick-router.js";
import { EngineIo } from "./engine-io.js";
import { Phase1Router, newestEstablished, type Phase1Task } from "./phase1-router.js";
export type { EngineEvents, Phase2Exchange } from "./engine-host.js";
import type { DhPort, Phase1Policy } from "./ports.js";
import { DEFAULT_EXPIRE_MS, DEFAULT_RETRANSMIT, type RetransmitPolicy } from "./retransmit.js";
import { DEFAULT_HALF_OPEN, SaManager, type HalfOpenLimits } from "./sa-manager.js";
import { IkeStats } from "./stats.js";
import type { Endpoint, Transport } from "./transport.js";

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

/** {@link IkeEngine.acquire}'s answer: the outcome and, once started, the peer negotiated with. */
export interface AcquireResult {
  readonly outcome: AcquireOutcome;
  readonly peer?: Endpoint;
}

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
  private readonly phase1: Phase1Router;
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
      notifyUnprotected: (local, remote, icookie, rcookie, notifyType) => this.io.notifyUnprotected(local, remote, icookie, rcookie, notifyType),
      initiate: (rule, local, remote, mode) => this.initiate(rule, local, remote, mode),
      deleteSa: (sa, reason, withIpsec) => this.deleteSa(sa, reason, withIpsec),
    };
    this.quick = new QuickRouter(host);
    this.info = new InfoRouter(
      host,
      (sa, reason, notify) => this.phase1.failSa(sa, reason, notify, false),
      (sa, notifyType, protocolId, spi) => void this.quick.peerError(sa, notifyType, protocolId, spi),
      (sa, protocolId, spi) => this.quick.connected(sa, protocolId, spi),
      (proto, dst, spi) => this.quick.forget(proto, dst, spi),
      (sa, secs) => this.phase1.honourLifetime(sa, secs),
    );
    this.phase1 = new Phase1Router(host, this.tasks, this.pendingQuick, this.quick, this.info);
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
      this.phase1.afterStep(sa, step, undefined);
    });
    return sa;
  }

  /**
   * Negotiate IPsec SAs for `request` with `remote`: Quick Mode on an established ISAKMP SA with
   * that peer, or after the Main Mode this starts (or one already under way) completes.
   */
  negotiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, request: QuickModeRequest): IsakmpSa {
    const candidates = this.sas.byPeerAddress(remote.address).filter((s) => s.local.address === local.address);
    const up = newestEstablished(this.sas, remote.address, local.address);
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
   * A kernel ACQUIRE (outbound traffic without an SA), the one path every ACQUIRE takes: the policy
   * entry (found with the kernel's policy index as a hint) gives the proposals and client IDs,
   * ike.config the rule, and {@link negotiate} does the rest. `peer` sends the exchange elsewhere
   * than the traffic's destination (`ikeadm acquire ... peer`): its address picks the rule and the
   * peer, its port replaces the rule's `remote_port`. The daemon wires
   * `kernel.on("acquire", (ev) => engine.acquire(ev))`.
   */
  acquire(ev: AcquireEvent, peer?: Partial<Endpoint>): AcquireResult {
    const ipsec = this.opts.ipsecPolicy?.();
    if (ipsec === undefined) return { outcome: "no-ipsec-policy" };
    const sel = selectForAcquire(ipsec, { src: ev.src, dst: ev.dst, ulp: ev.ulp, ...(ev.policy.index > 0 ? { policy: { index: ev.policy.index } } : {}) });
    if (sel.kind !== "ipsec") return { outcome: sel.kind };
    const address = peer?.address ?? ev.dst.address;
    const rule = this.opts.policy.ruleFor(ev.src.address, address);
    if (rule === undefined) return { outcome: "no-rule" };
    const remote: Endpoint = { address, port: peer?.port ?? rule.remotePort };
    this.negotiate(rule, { address: ev.src.address, port: this.opts.localPort ?? 500 }, remote, {
      mode: sel.mode,
      proposals: sel.proposals,
      localId: sel.localId,
      remoteId: sel.remoteId,
      seq: ev.seq,
    });
    return { outcome: "started", peer: remote };
  }

  /**
   * A kernel EXPIRE. Soft, for an IPsec SA we initiated: negotiate the same traffic again (on the
   * ISAKMP SA if it is still up, else after a new Phase 1). Hard: forget it. The peer rekeys the
   * SAs it initiated. The daemon wires `kernel.on("expire", (ev) => engine.expire(ev))`.
   */
  expire(ev: ExpireEvent): "rekeying" | "ignored" {
    return this.quick.expire(ev);
  }

  /** How many IPsec SAs (both directions) a soft EXPIRE would renegotiate (for tests and stats). */
  get rekeyable(): number {
    return this.quick.rekeyable;
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
        // close() or a peer's Delete may have destroyed the SA (and wiped its keys) meanwhile.
        if (sa.isDead()) return;
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
    if (!target.queue.push(() => this.phase1.process(target, Buffer.from(datagram)))) {
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
      this.phase1.failSa(sa, "expire_timer: Phase 1 not finished", undefined, false);
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
}
