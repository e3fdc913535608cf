/**
 * One ISAKMP SA (RFC 2408 section 2.4, RFC 2409 section 5): its cookies, endpoints, role, lifecycle
 * state, timers, reply cache and per-SA processing queue. The Phase 1 exchange itself is a task
 * (src/ike/phase1/) attached to the SA; this class only knows where the SA is in its life.
 *
 * ```
 *   larval ──> negotiating ──> established ──> expired
 *     │             │               │             │
 *     └─────────────┴───────────────┴─────────────┴──> dead
 * ```
 *
 * Every change goes through {@link IsakmpSa.transition}, which rejects any other edge (a broken
 * invariant, so it throws), logs old→new with the SA tag, publishes on `iked:ike:sa-state` and
 * keeps the `ikeadm get stats` counters. Timers belong to the SA and die in {@link IsakmpSa.destroy};
 * they wait in the clock's one timer queue (timer-queue.ts), not in a Node timer each.
 * What its queued messages and timers throw ends the SA, not the engine ({@link IsakmpSa.fault},
 * boundary.ts).
 */
import assert from "node:assert/strict";
import type { Clock } from "../clock.js";
import { QueuedTimer, timerQueueOf, type TimerQueue } from "../timer-queue.js";
import { errorFields, isInvariantFailure, rethrowOutside, type Fatal } from "./boundary.js";
import type { IkeLog } from "./log.js";
import { debugOn, saStateChannel } from "./log.js";
import { MessageIdSet } from "./message-ids.js";
import { ReplyCache, SerialQueue, type QueueErrorSink, type Retransmitter } from "./retransmit.js";
import type { FailureClass, Phase1Exchange } from "./negotiation-stats.js";
import type { IkeStats } from "./stats.js";
import type { Endpoint } from "./transport.js";
import { endpointKey } from "./transport.js";
import { ZERO_COOKIE } from "./cookies.js";
import type { ResolvedRule } from "../config/types.js";
import type { Phase1Keymat } from "../crypto/keymat.js";
import { natBetween, type NattState } from "./natt.js";
import { DpdState } from "./dpd-state.js";
import { SaAbort } from "./sa-abort.js";

/** What an established Phase 1 agreed on, for `ikeadm dump p1` and logs (no secrets). */
export interface SaSummary {
  readonly exchange: "main" | "aggressive";
  readonly encr: number;
  readonly keyBits: number;
  readonly hash: number;
  readonly group: number;
  readonly auth: number;
  readonly localId: string;
  readonly peerId: string;
  /** The lifetime agreed in the exchange, seconds (a RESPONDER-LIFETIME may shorten `lifeSecs` later). */
  readonly agreedLifeSecs: number;
  /** The chosen transform's kilobyte lifetime, 0 when it had none. */
  readonly lifeKb: number;
}

/** No cleanups of its own: one frozen list shared by every SA (the engine's SAs have none). */
const NO_CLEANUPS: readonly never[] = Object.freeze([]);

/** Lifecycle states of an ISAKMP SA. */
export type IsakmpSaState = "larval" | "negotiating" | "established" | "expired" | "dead";

/** Who started the Phase 1 exchange. */
export type Role = "initiator" | "responder";

const EDGES: Readonly<Record<IsakmpSaState, readonly IsakmpSaState[]>> = {
  larval: ["negotiating", "dead"],
  negotiating: ["established", "dead"],
  established: ["expired", "dead"],
  expired: ["dead"],
  dead: [],
};

/** Whether `from → to` is a legal edge. */
export function isLegalTransition(from: IsakmpSaState, to: IsakmpSaState): boolean {
  return EDGES[from].includes(to);
}

/** What an SA needs from its engine. */
export interface IsakmpSaContext {
  readonly clock: Clock;
  readonly log: IkeLog;
  readonly stats: IkeStats;
  /** Where an invariant failure in the SA's processing goes (default: rethrown outside the engine). */
  readonly fatal?: Fatal;
  /**
   * Listeners told of every SA's destroy, in this order, after the SA's own cleanups (the engine's
   * tables and handlers: one list for all SAs instead of a list per SA). Registering one of them
   * with {@link IsakmpSa.onDestroy} changes nothing.
   */
  readonly destroyListeners?: readonly SaDestroyListener[];
}

/**
 * A table or handler that keeps something per SA and forgets it when the SA is destroyed: one object
 * for all SAs, registered with {@link IsakmpSa.onDestroy} instead of a closure per SA.
 */
export interface SaDestroyListener {
  saDestroyed(sa: IsakmpSa): void;
}

/**
 * What a timer runs: a function, or an object shared by all SAs (one per engine part, e.g. the
 * Phase 1 lifetimes) told which SA's timer fired: no closure and context held per SA.
 */
export interface SaTimerHandler {
  saTimer(sa: IsakmpSa, name: string): void;
}

/** A timer's action: see {@link SaTimerHandler}. */
export type SaTimerFn = (() => void) | SaTimerHandler;

/** Construction parameters of an {@link IsakmpSa}. */
export interface IsakmpSaInit {
  readonly role: Role;
  readonly icookie: Buffer;
  /** Zero for an initiator until MM2/AM2 arrives. */
  readonly rcookie?: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The ike.config rule label this SA was made for, when known. */
  readonly rule?: string;
  /** That rule, resolved against the globals (what Phase 1 was negotiated under, and Quick Mode is). */
  readonly config?: ResolvedRule;
}

/** The lifecycle holder of one ISAKMP SA. */
export class IsakmpSa implements QueueErrorSink {
  readonly role: Role;
  readonly icookie: Buffer;
  rcookie: Buffer;
  local: Endpoint;
  remote: Endpoint;
  rule: string | undefined;
  /** The ike.config rule (resolved) the SA was made under; the engine's SAs always have one. */
  readonly config: ResolvedRule | undefined;
  /** When the SA was created and (once established) when it came up, on the engine clock. */
  readonly createdAt: number;
  establishedAt: number | undefined;
  /** Whether the peer ever sent us a valid message of this exchange (noresp vs respfail). */
  peerAnswered = false;
  /**
   * Whether the peer has shown it receives what we send to its address: we started the exchange,
   * or it returned our responder cookie. Until then what we send it is bounded (amplification.ts).
   */
  verified: boolean;
  /** The Phase 1 exchange, set by the Phase 1 handler with its task (counted by exchange). */
  exchange: Phase1Exchange | undefined;
  /** Why the Phase 1 exchange failed, set just before the SA is destroyed; none counts as aborted. */
  failure: FailureClass | undefined;
  /** Why the SA died, once dead. */
  deathReason: string | undefined;
  /** Answer for a retransmitted request. */
  readonly replies = new ReplyCache();
  /** One message at a time. */
  readonly queue: SerialQueue;
  /** The outstanding request's retransmitter, if we are waiting for an answer. */
  retransmitter: Retransmitter | undefined;
  /** The SA's keys, once the Phase 1 suite is chosen; wiped by {@link destroy}. */
  keymat: Phase1Keymat | undefined;
  /** Negotiated lifetime in seconds (the shorter of proposed and configured). */
  lifeSecs: number | undefined;
  /** What Phase 1 agreed on, once established (algorithms, identities); no secrets. */
  phase1: SaSummary | undefined;
  /** NAT traversal (RFC 3947), once both sides announced it; `local`/`remote` follow its float. */
  natt: NattState | undefined;
  /** Whether its SA manager counts it in the half-open bounds (set and cleared there: sa-manager.ts). */
  halfOpen = false;
  /** IPsec SAs (one per negotiated protocol, each an inbound/outbound pair) created under this SA. */
  ipsecCreated = 0;
  /** Of those, how many were deleted (by us, the peer's Delete, or INITIAL-CONTACT). */
  ipsecDeleted = 0;
  /**
   * Message IDs of the Phase 2 exchanges this SA ran, all of them (replays of finished ones are
   * dropped); added through {@link useMessageId}, and those of the Informationals we sent
   * (engine-io.ts: a copy reflected back to us is a replay too).
   */
  readonly messageIds = new MessageIdSet();
  /** Dead Peer Detection (RFC 3706): vendor IDs seen, last heard, probes (dpd.ts). */
  readonly dpd: DpdState;

  private st: IsakmpSaState = "larval";
  /** See {@link abort}. */
  #abort: SaAbort | undefined;
  /** What ends the SA's lifetime (phase1/lifetime.ts), see {@link armLifetime}. */
  private lifetimeEnd: SaTimerFn | undefined;
  /** The armed timers, newest first (a held SA has one or two: no Map for them). */
  #timers: SaTimer | undefined;
  readonly #timerQueue: TimerQueue;
  /** Made anew at each registration, exactly as long as needed (push would leave room for 17). */
  private cleanups: readonly ((() => void) | SaDestroyListener)[] = NO_CLEANUPS;

  constructor(
    init: IsakmpSaInit,
    private readonly ctx: IsakmpSaContext,
  ) {
    this.role = init.role;
    // Both cookies in one allocation of their own: a copy in Node's shared pool slab (Buffer.from)
    // would keep that whole 8 KiB slab alive for the SA's life.
    const cookies = Buffer.alloc(16);
    cookies.set(init.icookie, 0);
    cookies.set(init.rcookie ?? ZERO_COOKIE, 8);
    this.icookie = cookies.subarray(0, 8);
    this.rcookie = cookies.subarray(8, 16);
    this.local = init.local;
    this.remote = init.remote;
    this.rule = init.rule;
    this.config = init.config;
    this.createdAt = ctx.clock.now();
    this.dpd = new DpdState(this.createdAt);
    this.verified = init.role === "initiator";
    // The SA itself hears of a failed job (queueFailed): no closure and context per SA.
    this.queue = new SerialQueue(16, this);
    this.#timerQueue = timerQueueOf(ctx.clock);
  }

  get state(): IsakmpSaState {
    return this.st;
  }

  /**
   * Aborted on destroy, so pool work queued for a dead SA is dropped. Made at first use and let go
   * by {@link releaseAbort} once the exchanges that used it are over (Phase 1; the last open Quick
   * Mode, whose PFS used it), so an idle SA holds none; one made after destroy is aborted already.
   * Not a Node AbortController: each of those costs old-generation memory (sa-abort.ts).
   */
  get abort(): SaAbort {
    if (this.#abort === undefined) {
      this.#abort = new SaAbort();
      if (this.st === "dead") this.#abort.abort(this.deathReason);
    }
    return this.#abort;
  }

  /** No pool work of this SA is under way (Phase 1 over, no Quick Mode open): drop the controller until the next use. */
  releaseAbort(): void {
    if (this.#abort !== undefined && !this.#abort.signal.aborted) this.#abort = undefined;
  }

  /** Whether an AbortController is held now (for tests and memory checks). */
  get holdsAbort(): boolean {
    return this.#abort !== undefined;
  }

  /** How many cleanups the SA holds of its own, beside its context's listeners (for tests and memory checks). */
  get ownCleanups(): number {
    return this.cleanups.length;
  }

  /** Whether the SA has been destroyed (a method, so checks after an await are not narrowed away). */
  isDead(): boolean {
    return this.st === "dead";
  }

  /** Short cookies and peer, for log lines: `0123abcd:4567ef01@192.0.2.1:500`. */
  get tag(): string {
    return `${this.icookie.toString("hex", 0, 4)}:${this.rcookie.toString("hex", 0, 4)}@${endpointKey(this.remote)}`;
  }

  /** A verified message from the peer arrived: it is alive (DPD's idle clock starts again). */
  heard(): void {
    this.dpd.lastHeard = this.ctx.clock.now();
  }

  /**
   * Move to `to`; an illegal edge is a bug in the engine, so it throws. The tag, the assertion's
   * message and the debug line's fields are made only when they are used (three transitions per
   * negotiation).
   */
  transition(to: IsakmpSaState, reason: string): void {
    const from = this.st;
    if (!isLegalTransition(from, to)) {
      assert.ok(false, `illegal ISAKMP SA transition ${from} -> ${to} (${this.tag})`);
    }
    this.st = to;
    this.count(from, to);
    if (to === "established") this.establishedAt = this.ctx.clock.now();
    if (debugOn(this.ctx.log)) this.ctx.log.debug({ sa: this.tag, from, to, reason }, "ISAKMP SA state");
    if (saStateChannel.hasSubscribers) saStateChannel.publish({ tag: this.tag, role: this.role, from, to, reason });
  }

  /**
   * Arm (or re-arm) the named timer to run `fn` in `ms` (inside the SA's boundary); it is cleared on
   * destroy. The queue keeps the exact deadline, however long (a long `p1_lifetime_secs` beyond the
   * 24.8 days a clock waits at most included); NaN or a negative `ms` throws before anything changes.
   */
  setTimer(name: string, ms: number, fn: SaTimerFn): void {
    const armed = this.#find(name);
    const t = armed ?? new SaTimer(this, name, fn);
    this.#timerQueue.add(t, ms);
    t.fn = fn;
    if (armed === undefined) {
      t.next = this.#timers;
      this.#timers = t;
    }
  }

  /** A timer's deadline came (it has left the queue): forget it, run its function. */
  timerFired(t: SaTimer): void {
    this.#unlink(t);
    this.#run(`timer ${t.name}`, t.name, t.fn);
  }

  /** Run a timer's action inside the boundary. */
  #run(where: string, name: string, fn: SaTimerFn): void {
    if (typeof fn === "function") this.guard(where, fn);
    else this.guard(where, () => fn.saTimer(this, name));
  }

  #find(name: string): SaTimer | undefined {
    let t = this.#timers;
    while (t !== undefined && t.name !== name) t = t.next;
    return t;
  }

  #unlink(t: SaTimer): void {
    if (this.#timers === t) {
      this.#timers = t.next;
      return;
    }
    for (let p = this.#timers; p !== undefined; p = p.next) {
      if (p.next === t) {
        p.next = t.next;
        return;
      }
    }
  }

  /** Arm the `lifetime` timer: `end` runs when it fires, or earlier when the message IDs run out. */
  armLifetime(ms: number, end: SaTimerFn): void {
    this.lifetimeEnd = end;
    this.setTimer("lifetime", ms, end);
  }

  /**
   * Record the message ID of a Phase 2 exchange we start or whose first message verified, for the
   * SA's whole life (message-ids.ts). False when the SA has used as many as it remembers: the
   * exchange must not go on, and the SA's lifetime ends now, as at its negotiated end (its IPsec
   * SAs go to a newer SA with the peer, the peer gets a Delete), so a new Phase 1 takes over.
   */
  useMessageId(messageId: number): boolean {
    if (this.messageIds.add(messageId)) return true;
    if (this.st === "established") {
      this.ctx.log.info({ sa: this.tag, ids: this.messageIds.size }, "message IDs used up: the ISAKMP SA's lifetime ends now");
      const end = this.lifetimeEnd;
      this.clearTimer("lifetime");
      if (end !== undefined) this.#run("lifetime (message IDs used up)", "lifetime", end);
      else this.destroy("message IDs used up");
    }
    return false;
  }

  clearTimer(name: string): void {
    const t = this.#find(name);
    if (t === undefined) return;
    this.#timerQueue.remove(t);
    this.#unlink(t);
  }

  /** A serialisable description (control socket, `ikeadm dump p1`); carries no key material. */
  describe(): Record<string, unknown> {
    return {
      tag: this.tag,
      icookie: this.icookie.toString("hex"),
      rcookie: this.rcookie.toString("hex"),
      role: this.role,
      state: this.st,
      local: endpointKey(this.local),
      remote: endpointKey(this.remote),
      rule: this.rule,
      createdAt: this.createdAt,
      establishedAt: this.establishedAt,
      lifeSecs: this.lifeSecs,
      dpd: this.dpd.view(),
      ...(this.phase1 !== undefined ? { phase1: phase1View(this.phase1) } : {}),
      ...(this.natt !== undefined ? { natt: { version: this.natt.version, floated: this.natt.floated, nat: natBetween(this.natt), ...this.natt.detection } } : {}),
    };
  }

  /** Names of the armed timers, oldest first (for tests and `ikeadm dump`). */
  timerNames(): string[] {
    const names: string[] = [];
    for (let t = this.#timers; t !== undefined; t = t.next) names.unshift(t.name);
    return names;
  }

  /**
   * Run `fn` on destroy (e.g. wipe the Keymat, drop manager indexes), or a listener's
   * `saDestroyed(sa)` (shared by all SAs: no closure per SA). Runs in reverse order. A listener
   * object is registered once: registering it again changes nothing (a function is added each time).
   */
  onDestroy(fn: (() => void) | SaDestroyListener): void {
    if (typeof fn !== "function" && (this.cleanups.includes(fn) || this.ctx.destroyListeners?.includes(fn) === true)) return;
    this.cleanups = this.cleanups.concat(fn);
  }

  /**
   * The per-exchange boundary: `err` was thrown inside this SA's processing (`where`: a queued
   * message, a timer, a retransmission). The SA is torn down, with one error line naming it; the
   * engine carries on. An invariant failure goes to `fatal` instead (the daemon stops cleanly).
   */
  fault(err: unknown, where: string): void {
    if (isInvariantFailure(err)) return (this.ctx.fatal ?? rethrowOutside)(err);
    this.ctx.log.error({ sa: this.tag, where, state: this.st, ...errorFields(err) }, "internal error: SA torn down");
    // Counted as our own side's failure (negotiation-stats.ts), not as an abort from outside.
    this.failure ??= "local";
    this.destroy(`internal error in ${where}`);
  }

  /** A job of {@link queue} threw: the message-processing boundary. */
  queueFailed(err: unknown): void {
    this.fault(err, "message processing");
  }

  /** Runs `fn` inside the boundary: what it throws goes to {@link fault}. */
  guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fault(err, where);
    }
  }

  /** Tear down: stop retransmitting, kill timers, drop queued work, run cleanups, go dead. Idempotent. */
  destroy(reason: string): void {
    if (this.st === "dead") return;
    this.retransmitter?.stop();
    this.retransmitter = undefined;
    for (let t = this.#timers; t !== undefined; t = t.next) this.#timerQueue.remove(t);
    this.#timers = undefined;
    this.queue.close();
    this.replies.clear();
    this.deathReason = reason;
    // The death reason, not the default DOMException: building that (with its stack) was ~80 us
    // per SA in the handshake benchmark's responder profile; pool calls see it as `cause`.
    this.#abort?.abort(reason);
    this.keymat?.destroy();
    this.keymat = undefined;
    this.transition("dead", reason);
    this.#runCleanups();
    for (const l of this.ctx.destroyListeners ?? NO_CLEANUPS) this.runCleanup(l);
    // One registered by a context listener runs too (as one registered by a cleanup does).
    this.#runCleanups();
  }

  /** The SA's own cleanups, newest first; one registered by a cleanup runs too, after the others. */
  #runCleanups(): void {
    for (let list = this.cleanups; list.length > 0; list = this.cleanups) {
      this.cleanups = NO_CLEANUPS;
      for (let i = list.length - 1; i >= 0; i--) this.runCleanup(list[i]!);
    }
  }

  private runCleanup(fn: (() => void) | SaDestroyListener): void {
    try {
      if (typeof fn === "function") fn();
      else fn.saDestroyed(this);
    } catch (err) {
      // A failing cleanup must not stop the others (the Keymat wipe above all); a broken
      // invariant still stops the daemon.
      if (isInvariantFailure(err)) (this.ctx.fatal ?? rethrowOutside)(err);
      else this.ctx.log.error({ sa: this.tag, ...errorFields(err) }, "SA cleanup failed");
    }
  }

  private count(from: IsakmpSaState, to: IsakmpSaState): void {
    const p1 = this.ctx.stats.p1;
    const init = this.role === "initiator";
    const outcome = this.ctx.stats.negotiations.phase1[this.exchange ?? "main"][this.role];
    if (to === "negotiating") {
      outcome.started++;
      if (init) p1.init_p1_attempts++;
      else p1.resp_p1_attempts++;
    } else if (to === "established") {
      outcome.established++;
      if (init) {
        p1.init_p1_total++;
        p1.init_p1_current++;
      } else {
        p1.resp_p1_total++;
        p1.resp_p1_current++;
      }
    } else if (to === "dead") {
      if (from === "negotiating") {
        outcome.failed[this.failure ?? "aborted"]++;
        if (!init) p1.resp_p1_fail++;
        else if (this.peerAnswered) p1.init_p1_respfail++;
        else p1.init_p1_noresp++;
      } else if (from === "established" || from === "expired") {
        if (init) p1.init_p1_current--;
        else p1.resp_p1_current--;
      }
    }
  }
}

/** The algorithms and identities of a Phase 1 summary, as {@link IsakmpSa.describe} shows them. */
function phase1View(p: SaSummary): Record<string, unknown> {
  return { exchange: p.exchange, encr: p.encr, keyBits: p.keyBits, hash: p.hash, group: p.group, auth: p.auth, localId: p.localId, peerId: p.peerId };
}

/** One named timer of an ISAKMP SA, waiting in its clock's timer queue. */
class SaTimer extends QueuedTimer {
  /** The SA's next armed timer. */
  next: SaTimer | undefined;

  constructor(
    readonly sa: IsakmpSa,
    readonly name: string,
    public fn: SaTimerFn,
  ) {
    super();
  }

  fire(): void {
    this.sa.timerFired(this);
  }
}
