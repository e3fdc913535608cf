/**
 * Reliability over UDP for IKEv1. RFC 2408 leaves retransmission to the implementation; in Main
 * Mode the side waiting for the next message resends its last one, and the other side must answer
 * a repeated message with its previous answer.
 *
 * - {@link Retransmitter}: resend the last request with exponential backoff, from the config's
 *   `retry_timer_init` (first interval, doubling), `retry_timer_max` (cap) and `retry_limit`
 *   (retransmissions before giving up). Defaults 0.5 s, 30 s, 5: the original's wire pattern is
 *   intervals of 0.5, 1, 2, 4, 8 s.
 * - {@link ReplyCache}: a retransmitted request is answered with the reply we already sent, never by
 *   re-running the exchange (that would cost DH work and change nonces). The whole datagram is
 *   compared, so a different message with the same cookies is not mistaken for a retransmission.
 * - {@link SerialQueue}: an SA handles one message at a time, even though handling awaits the pool.
 */
import type { Clock, TimerHandle } from "../clock.js";

/** Retransmission parameters, in milliseconds. */
export interface RetransmitPolicy {
  readonly initMs: number;
  readonly maxMs: number;
  readonly limit: number;
}

/** The original's defaults (ike.config: retry_timer_init 0.5, retry_timer_max 30, retry_limit 5). */
export const DEFAULT_RETRANSMIT: RetransmitPolicy = { initMs: 500, maxMs: 30_000, limit: 5 };

/** The original's `expire_timer` default: an unfinished Phase 1 lingers 300 s. */
export const DEFAULT_EXPIRE_MS = 300_000;

/** Builds a policy from ike.config values (seconds, possibly fractional); missing ones default. */
export function retransmitPolicy(cfg: {
  readonly retry_timer_init?: number | undefined;
  readonly retry_timer_max?: number | undefined;
  readonly retry_limit?: number | undefined;
}): RetransmitPolicy {
  const initMs = cfg.retry_timer_init !== undefined ? Math.round(cfg.retry_timer_init * 1000) : DEFAULT_RETRANSMIT.initMs;
  const maxMs = cfg.retry_timer_max !== undefined ? Math.round(cfg.retry_timer_max * 1000) : DEFAULT_RETRANSMIT.maxMs;
  return {
    initMs: Math.max(1, initMs),
    maxMs: Math.max(1, initMs, maxMs),
    limit: Math.max(0, cfg.retry_limit ?? DEFAULT_RETRANSMIT.limit),
  };
}

/** The interval before retransmission number `n` (0-based): init·2ⁿ, capped at max. */
export function backoffMs(policy: RetransmitPolicy, n: number): number {
  return Math.min(policy.maxMs, policy.initMs * 2 ** Math.min(n, 30));
}

/**
 * Sends one message and resends it until {@link stop} is called; after `limit` retransmissions and
 * one more interval without an answer, calls `onGiveUp`.
 */
export class Retransmitter {
  private timer: TimerHandle | undefined;
  private sent = 0;
  /** Between start() and stop(); a send that stops us (its SA torn down) must not re-arm. */
  private active = false;

  constructor(
    private readonly clock: Clock,
    private readonly policy: RetransmitPolicy,
    private readonly send: (isRetransmit: boolean) => void,
    private readonly onGiveUp: () => void,
  ) {}

  /** Retransmissions sent so far. */
  get retransmissions(): number {
    return Math.max(0, this.sent - 1);
  }

  /** Send now and arm the timer. */
  start(): void {
    this.stop();
    this.sent = 0;
    this.active = true;
    this.fire();
  }

  /** Disarm (the answer arrived, or the SA is going away). */
  stop(): void {
    this.active = false;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.sent > this.policy.limit) {
      this.active = false;
      this.onGiveUp();
      return;
    }
    this.send(this.sent > 0);
    if (!this.active) return;
    const wait = backoffMs(this.policy, this.sent);
    this.sent++;
    this.timer = this.clock.setTimer(() => this.fire(), wait);
  }
}

/** No replies: one array shared by every cache holding none (an idle SA holds no array of its own). */
const NO_REPLIES: readonly Buffer[] = Object.freeze([]);

/** The last request an SA answered and the datagrams it answered with. */
export class ReplyCache {
  private request: Buffer | undefined;
  private replies: readonly Buffer[] = NO_REPLIES;

  /**
   * Remember the answer to `request` (copied: the caller's buffers may be views). The copies share
   * one allocation of their own: `Buffer.from` would put each in Node's shared 8 KiB pool slab,
   * which a copy kept for a finished exchange's linger (a minute) keeps alive with everything else
   * in it.
   */
  remember(request: Buffer, replies: readonly Buffer[]): void {
    let total = request.length;
    for (const r of replies) total += r.length;
    const all = Buffer.allocUnsafeSlow(total);
    all.set(request, 0);
    this.request = all.subarray(0, request.length);
    let at = request.length;
    // map: an array of exactly their number (push would leave spare capacity).
    this.replies = replies.map((r) => {
      all.set(r, at);
      at += r.length;
      return all.subarray(at - r.length, at);
    });
  }

  /** The cached replies when `datagram` is byte for byte the last request, else undefined. */
  match(datagram: Buffer): readonly Buffer[] | undefined {
    return this.request !== undefined && this.request.equals(datagram) ? this.replies : undefined;
  }

  /** Whether `datagram` is the last request (answered or not: a reply may be empty). */
  isLastRequest(datagram: Buffer): boolean {
    return this.request !== undefined && this.request.equals(datagram);
  }

  /** Whether a request and its answer are kept. */
  get holding(): boolean {
    return this.request !== undefined;
  }

  clear(): void {
    this.request = undefined;
    this.replies = NO_REPLIES;
  }
}

/** Where a {@link SerialQueue}'s failed jobs go: an object (one per queue owner, no closure per queue). */
export interface QueueErrorSink {
  queueFailed(err: unknown): void;
}

/**
 * Runs async jobs one after another. Bounded: a peer flooding one SA cannot queue unbounded work;
 * beyond `max` waiting jobs, {@link push} refuses. A job pushed to an idle queue starts at once
 * without touching an array (the usual case: one datagram at a time); only jobs that must wait
 * get one, let go again when the queue drains (an idle SA holds no backing store).
 */
export class SerialQueue {
  private jobs: (() => Promise<void>)[] | undefined;
  private running = false;
  private closed = false;
  private idleWaiters: (() => void)[] | undefined;

  constructor(
    private readonly max = 16,
    private readonly onError: ((err: unknown) => void) | QueueErrorSink | undefined = undefined,
  ) {}

  /** Jobs waiting, not counting the one running. */
  get length(): number {
    return this.jobs === undefined ? 0 : this.jobs.length;
  }

  /** Whether a job is running or waiting. */
  get busy(): boolean {
    return this.running || this.length > 0;
  }

  /** Queue `job`; false when the queue is full or closed. */
  push(job: () => Promise<void>): boolean {
    if (this.closed || this.length >= this.max) return false;
    if (this.running) (this.jobs ??= []).push(job);
    else void this.pump(job);
    return true;
  }

  /** Resolves when no job is running or waiting. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  /** Drop waiting jobs; the running one finishes. */
  close(): void {
    this.closed = true;
    this.jobs = undefined;
  }

  private async pump(first: () => Promise<void>): Promise<void> {
    this.running = true;
    try {
      for (let job: (() => Promise<void>) | undefined = first; job !== undefined; job = this.jobs?.shift()) {
        try {
          await job();
        } catch (err) {
          const sink = this.onError;
          if (typeof sink === "function") sink(err);
          else sink?.queueFailed(err);
        }
      }
    } finally {
      this.running = false;
      this.jobs = undefined;
      const w = this.idleWaiters;
      if (w !== undefined) {
        this.idleWaiters = undefined;
        for (const fn of w) fn();
      }
    }
  }
}
