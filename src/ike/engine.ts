/**
 * The IKEv1 engine: datagrams in, datagrams out, SAs in between (RFC 2408 section 5). It is handed a
 * {@link Transport}, a {@link DhPort}, a {@link Phase1Policy} and (for Quick Mode) a {@link Kernel}
 * and the IPsec policy, and does no I/O of its own, so two engines can run in one test process.
 *
 * This file is the public face and the wiring. Every datagram takes the dispatcher's one path
 * (dispatch.ts: SA lookup, decryption, decoding and the codec's rules, once) to the handler of its
 * exchange: phase1-handler.ts (Main/Aggressive Mode and ISAKMP SAs), quick-handler.ts (Quick Mode),
 * info-handler.ts (Informational). Each handler gets a narrow context: sending (engine-io.ts), the
 * tables it needs (the SA manager, the IPsec SA table of ipsec-sas.ts), crypto, policy, kernel.
 */
import { EventEmitter } from "node:events";
import { systemClock, type Clock } from "../clock.js";
import type { ResolvedRule } from "../config/types.js";
import type { AcquireEvent, DeleteEvent, ExpireEvent, FlushEvent, Kernel } from "../kernel/kernel.js";
import type { HeldPair } from "../kernel/resync.js";
import { selectForAcquire, type IpsecPolicy } from "../policy/index.js";
import { Admission } from "./admission.js";
import { rethrowOutside, type Fatal } from "./boundary.js";
import { CookieJar } from "./cookies.js";
import { deleteIsakmpSa } from "./delete.js";
import { Dispatcher } from "./dispatch.js";
import { DeadPeerDetection } from "./dpd.js";
import type { DhBudget } from "./dh-budget.js";
import type { EmbryoLimits, EmbryoTable } from "./embryos.js";
import type { Mm1Answers } from "./mm1-answers.js";
import { EngineIo } from "./engine-io.js";
import type { EmitEvent, EngineEvents } from "./events.js";
import { IdleSas } from "./idle-sas.js";
import { InfoHandler } from "./info-handler.js";
import { deleteIpsec as deleteIpsecPayload } from "./informational.js";
import { IpsecSas, type IpsecOwner } from "./ipsec-sas.js";
import type { PeerFollowed } from "./natt-follow.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { nullLog, type IkeLog } from "./log.js";
import { Phase1Handler } from "./phase1-handler.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import type { PubkeyPort } from "./phase1/credentials.js";
import type { DhPort, Phase1Policy } from "./ports.js";
import { QuickHandler, type Phase2Exchange } from "./quick-handler.js";
import { DEFAULT_EXPIRE_MS, DEFAULT_RETRANSMIT, type RetransmitPolicy } from "./retransmit.js";
import { DEFAULT_HALF_OPEN, SaManager, type HalfOpenLimits } from "./sa-manager.js";
import { IkeStats } from "./stats.js";
import { endpointKey, type Endpoint, type Transport } from "./transport.js";
import { NattPhase1 } from "./natt-phase1.js";
import { pooledRandom } from "../crypto/random-pool.js";

export type { EngineEvents } from "./events.js";
export type { Phase2Exchange } from "./quick-handler.js";

/** Construction options of an {@link IkeEngine}. */
export interface EngineOptions {
  readonly transport: Transport;
  readonly dh: DhPort;
  /** Signatures and RSA encryption (the crypto pool); without it only pre-shared keys authenticate. */
  readonly pubkey?: PubkeyPort;
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
  /** Bounds of the embryonic Main Mode table (default 8192 entries of at most 10 s). */
  readonly embryos?: EmbryoLimits;
  /**
   * DH computations that peers which have not returned our cookie (Aggressive Mode responders)
   * may have in flight at once (default 8; the daemon gives `unverified_dh_share` of its pool).
   */
  readonly unverifiedDh?: number;
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
  /**
   * Our NAT-T port (`--natt-port`, RFC 3947): NAT-T vendor IDs are sent and answered, NAT-D read,
   * SAs float to it. Absent: NAT-T is off.
   */
  readonly nattPort?: number;
  /**
   * An invariant failure inside an exchange (boundary.ts): the daemon passes its crash policy's
   * `fatal` (clean stop, exit 70). Default: thrown again outside the engine, on the next tick.
   * Any other exception inside an exchange ends that exchange only.
   */
  readonly fatal?: Fatal;
}

/** What {@link IkeEngine.acquire} did with an ACQUIRE. */
export type AcquireOutcome = "started" | "in-progress" | "no-ipsec-policy" | "no-rule" | "bypass" | "drop" | "none" | "no-algorithms";

/** {@link IkeEngine.acquire}'s answer: the outcome and, once started, the peer negotiated with. */
export interface AcquireResult {
  readonly outcome: AcquireOutcome;
  readonly peer?: Endpoint;
}

/** The per-process IKE engine. */
export class IkeEngine extends EventEmitter<EngineEvents> {
  readonly stats = new IkeStats();
  readonly sas: SaManager<Phase2Exchange>;
  private readonly io: EngineIo;
  private readonly ipsec: IpsecSas;
  private readonly phase1: Phase1Handler;
  private readonly quick: QuickHandler;
  private readonly dispatcher: Dispatcher;
  private readonly admission: Admission;

  constructor(private readonly opts: EngineOptions) {
    super();
    const clock = opts.clock ?? systemClock;
    const log = opts.log ?? nullLog;
    const random = opts.random ?? pooledRandom();
    const retransmit = opts.retransmit ?? DEFAULT_RETRANSMIT;
    const fatal = opts.fatal ?? rethrowOutside;
    const stats = this.stats;
    const sas = (this.sas = new SaManager<Phase2Exchange>(opts.halfOpen ?? DEFAULT_HALF_OPEN));
    const io = (this.io = new EngineIo(opts.transport, stats, log, random, clock, retransmit));
    const ipsec = (this.ipsec = new IpsecSas(opts.kernel, log));
    const emit: EmitEvent = (event, ...args) => void (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    this.quick = new QuickHandler({
      sas, ipsec, io, emit, kernel: opts.kernel, dh: opts.dh, ipsecPolicy: opts.ipsecPolicy ?? (() => undefined),
      commit: opts.quickModeCommit === true, random, log, stats,
      leftBehind: (sa, sas) => void this.followed(this.ipsec.catchUp(sa, sas)),
    });
    const cookies = opts.cookies ?? new CookieJar({ clock });
    const natt = new NattPhase1({ nattPort: opts.nattPort, transport: opts.transport, log });
    const dpd = new DeadPeerDetection({ sas, io, ipsec, kernel: opts.kernel, policy: opts.policy, clock, random, log, stats });
    this.phase1 = new Phase1Handler({
      dpd,
      sas, ipsec, io, emit, quick: this.quick, dh: opts.dh, pubkey: opts.pubkey, policy: opts.policy, icookie: () => cookies.icookie(),
      clock, expireMs: opts.expireMs ?? DEFAULT_EXPIRE_MS, p1LifetimeSecs: opts.p1LifetimeSecs, random, log, stats, natt, fatal,
    });
    this.admission = new Admission({
      sas, io, policy: opts.policy, cookies, clock, stats, responders: this.phase1, p1LifetimeSecs: opts.p1LifetimeSecs, natt: natt.enabled,
      ...(opts.embryos !== undefined ? { embryos: opts.embryos } : {}),
      ...(opts.unverifiedDh !== undefined ? { unverifiedDh: opts.unverifiedDh } : {}),
    });
    const idle = new IdleSas({ kernel: opts.kernel, ipsec, clock, log, expire: (pairs, why) => this.deleteIpsec(pairs, why) });
    ipsec.onPairsAdded((sa) => idle.pairsChanged(sa));
    const info = new InfoHandler({ io, ipsec, sas, emit, log, phase1: this.phase1, quick: this.quick, dpd });
    const moved = (sa: IsakmpSa, before: { local: Endpoint; remote: Endpoint }): void => {
      log.info({ sa: sa.tag, from: endpointKey(before.remote), to: endpointKey(sa.remote) }, "NAT-T: the SA follows its peer");
      emit("peer-moved", sa, before);
      void this.followPeer(sa, before);
    };
    this.dispatcher = new Dispatcher({ sas, io, stats, log, fatal, moved, ...(opts.nattPort !== undefined ? { nattPort: opts.nattPort } : {}) }, { admission: this.admission, phase1: this.phase1, quick: this.quick, info });
    opts.transport.onDatagram((d, local, remote) => this.dispatcher.receive(d, local, remote));
  }

  /**
   * Start Phase 1 as initiator towards `remote` from `local` under `rule`. Main Mode, unless
   * `mode` says otherwise or the only key for the peer is an Aggressive Mode one (ike.preshared
   * `ike_mode aggressive`).
   */
  initiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, mode?: "main" | "aggressive"): IsakmpSa {
    return this.phase1.initiate(rule, local, remote, mode);
  }

  /**
   * Negotiate IPsec SAs for `request` with `remote`: Quick Mode on an established ISAKMP SA with
   * that peer, or after the Main Mode this starts (or one already under way) completes.
   */
  negotiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, request: QuickModeRequest): IsakmpSa {
    const up = this.sas.newestEstablished(remote.address, local.address);
    if (up !== undefined) {
      this.quickMode(up, request);
      return up;
    }
    const candidates = this.sas.byPeerAddress(remote.address).filter((s) => s.local.address === local.address);
    const pending = candidates.find((s) => s.state === "negotiating" && s.role === "initiator") ?? this.initiate(rule, local, remote);
    this.phase1.afterPhase1(pending, request);
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
    // The SA's endpoints, where the kernel names them (a tunnel's gateways), are the IKE peers;
    // else the traffic's own addresses.
    const localAddress = ev.endpoints?.src ?? ev.src.address;
    const address = peer?.address ?? ev.endpoints?.dst ?? ev.dst.address;
    const rule = this.opts.policy.ruleFor(localAddress, address);
    if (rule === undefined) return { outcome: "no-rule" };
    const remote: Endpoint = { address, port: peer?.port ?? rule.remotePort };
    if (this.quick.underWay(address, sel.localId.prefix, sel.remoteId.prefix)) return { outcome: "in-progress", peer: remote };
    this.negotiate(rule, { address: localAddress, port: this.opts.localPort ?? 500 }, remote, {
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
   * ISAKMP SA if it is still up, else after a new Phase 1); the peer rekeys the SAs it initiated.
   * Hard, for an SA we hold: a Delete to the peer (RFC 2408 section 3.15) under its ISAKMP SA, and
   * the other half of the pair out of the kernel. The daemon wires
   * `kernel.on("expire", (ev) => engine.expire(ev))`.
   */
  expire(ev: ExpireEvent): "rekeying" | "deleting" | "ignored" {
    const action = this.ipsec.expire(ev);
    if (action === undefined) return "ignored";
    if (action.kind === "delete") {
      this.deleteIpsec([action], "hard lifetime");
      return "deleting";
    }
    const again = action.target;
    this.stats.engine.phase2Rekeys++;
    this.negotiate(again.rule, again.local, again.remote, again.request);
    return "rekeying";
  }

  /**
   * Someone else removed IPsec SAs from the kernel (`ip xfrm state delete`/`flush`, another key
   * manager): the engine forgets the ones it held and tells their peers with Deletes, so that they
   * drop their halves and traffic starts a fresh negotiation (a pair whose ISAKMP SA is gone is
   * only forgotten and what is left of it removed: there is nothing to send the Delete under). The daemon wires the kernel's
   * "delete" and "flush" events here. Returns how many SA pairs were ours.
   */
  kernelRemoved(ev: DeleteEvent | FlushEvent): number {
    if (ev.type === "flush") {
      const gone = this.ipsec.flushed(ev.proto);
      this.deleteIpsec(gone, "flushed from the kernel", false);
      return gone.length;
    }
    if (ev.proto === "ipcomp") return 0;
    const owner = this.ipsec.owner(ev.proto, ev.dst, ev.spi);
    if (owner === undefined) return this.ipsec.orphanLeft(ev.proto, ev.src, ev.dst, ev.spi) ? 1 : 0;
    this.deleteIpsec([owner], "removed from the kernel");
    return 1;
  }

  /** Every IPsec SA pair the engine holds (both halves as the kernel names them), for a resync. */
  heldIpsecSas(): HeldPair[] {
    return this.ipsec.held();
  }

  /**
   * NAT rebinding: the IPsec SAs in the kernel take the peer's new port (IpsecSas.followPeer); a pair
   * the kernel refused is deleted (a Delete to the peer), so that traffic negotiates afresh rather
   * than going to the dead mapping until its rekey. A pair already gone from the kernel (expired
   * or deleted a moment before) refused nothing: it is forgotten, what is left of it removed, and
   * the peer is not told (the kernel's own EXPIRE or DELETE of it is what does that).
   */
  private followPeer(sa: IsakmpSa, before: { readonly local: Endpoint; readonly remote: Endpoint }): Promise<void> {
    return this.followed(this.ipsec.followPeer(sa, before));
  }

  /** Counts what following a NAT rebinding did; deletes the refused pairs, forgets the gone ones. */
  private async followed(following: Promise<PeerFollowed>): Promise<void> {
    const { updated, failed, gone } = await following;
    this.stats.engine.nattIpsecRebound += updated;
    this.stats.engine.nattIpsecRebindFailed += 2 * failed.length;
    if (failed.length > 0) this.deleteIpsec(failed, "could not follow the NAT rebinding");
    for (const { sa: owner, chosen } of gone) void this.ipsec.removePair(owner, chosen.proto, chosen.outboundSpi, chosen.inboundSpi);
  }

  /** Deletes to the peers for these pairs; `fromKernel`: also remove what is left of each pair there. */
  private deleteIpsec(pairs: readonly IpsecOwner[], why: string, fromKernel = true): void {
    const log = this.opts.log ?? nullLog;
    for (const { sa, chosen } of pairs) {
      log.info({ sa: sa.tag, proto: chosen.proto, spis: `${chosen.inboundSpi.toString(16)}/${chosen.outboundSpi.toString(16)}`, why }, "IPsec SAs deleted");
      if (sa.state === "established" && sa.keymat?.derived === true) this.io.sendInformational(sa, [deleteIpsecPayload(chosen.proto, [chosen.inboundSpi])]);
      if (fromKernel) void this.ipsec.removePair(sa, chosen.proto, chosen.outboundSpi, chosen.inboundSpi);
    }
  }

  /** How many IPsec SAs (both directions) a soft EXPIRE would renegotiate (for tests and stats). */
  get rekeyable(): number {
    return this.ipsec.rekeyable;
  }

  /** Start Quick Mode as initiator on an established ISAKMP SA; false when refused. */
  quickMode(sa: IsakmpSa, request: QuickModeRequest): boolean {
    return this.quick.quickMode(sa, request);
  }

  /**
   * Delete an ISAKMP SA the polite way: a protected Informational with Delete payloads for the
   * IPsec SAs it negotiated (also removed from the kernel) and for itself, then tear it down.
   */
  deleteSa(sa: IsakmpSa, reason = "deleted", withIpsec = true): Promise<void> {
    return deleteIsakmpSa(this.io, this.ipsec, sa, reason, withIpsec);
  }

  /** Daemon shutdown: Delete every established SA, then tear everything down. */
  async shutdown(): Promise<void> {
    for (const sa of this.sas.all()) await this.deleteSa(sa, "shutdown");
    this.close();
  }

  /** Tear down every SA at once, without telling peers. */
  close(): void {
    this.dispatcher.close();
    this.admission.close();
    for (const sa of this.sas.all()) sa.destroy("engine closed");
  }

  /** Handle one received ISAKMP datagram (the transport calls this). */
  receive(datagram: Buffer, local: Endpoint, remote: Endpoint): void {
    this.dispatcher.receive(datagram, local, remote);
  }

  /** The DH slots of unverified peers: how many, how many taken (a reload may change the number). */
  get unverifiedDh(): DhBudget {
    return this.admission.unverifiedDh;
  }

  /** The embryonic Main Mode exchanges (entries and bytes held, their bounds). */
  get embryos(): EmbryoTable {
    return this.admission.embryos;
  }

  /** The MM1 answers reused for MM1s with the bytes of one answered before (mm1-answers.ts). */
  get mm1Answers(): Mm1Answers {
    return this.admission.answers;
  }

  /** Entry counts of the engine's own tables (the SA manager has its own) and DH slots held, for leak checks. */
  debugSizes(): Record<string, number> {
    return { ...this.phase1.debugSizes(), ...this.ipsec.debugSizes(), embryos: this.admission.embryos.size, unverifiedDhInUse: this.admission.unverifiedDh.inUse };
  }
}
