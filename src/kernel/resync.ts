/**
 * Repairing lost kernel events. When the event socket overran (ENOBUFS: the kernel dropped notices
 * because our receive queue was full) or failed, any EXPIRE, DELETE or FLUSH may be missing (a
 * "lost" event, kernel.ts). A resync dumps the kernel's SAs (XFRM_MSG_GETSA with NLM_F_DUMP, or
 * SADB_DUMP) and reconciles the daemon's table with it:
 *
 * - an SA pair the table holds of which the kernel has lost a half (its DELETE, FLUSH or hard
 *   EXPIRE went missing) is handed to `removed` as the DeleteEvent that would have come: the same
 *   path as a kernel DELETE by someone else (forget the pair, Delete to the peer, remove the rest);
 * - an SA whose soft lifetime has passed by the kernel's own counters (XFRM curlft against lft,
 *   PF_KEY's current lifetime against its soft one) is handed to `softExpired` as the soft
 *   ExpireEvent that would have come: the same path as a kernel soft EXPIRE, which rekeys an SA we
 *   initiated once (a rekey already started is not started again).
 *
 * Only pairs the table held both before the dump was asked for and after it came back are judged,
 * so a pair installed (or removed) while the dump ran is never mistaken for one the kernel lost.
 * One resync runs at a time; lost events during a resync coalesce into one more after it. No
 * resync hands over again a pair an earlier one handed to the DELETE path (its removal from the
 * table may still wait for the kernel, over any number of resyncs).
 *
 * A backend that loses events without hearing of it (PF_KEY) gets periodic resyncs as well
 * ({@link KernelResync.requestIfIdle}, src/daemon/kernel-events.ts), skipped while one runs.
 *
 * A resync whose dump fails (and after which none is queued) is tried again on the options' clock
 * after {@link RESYNC_RETRY_MIN_MS}, the wait doubling after each further failure up to
 * {@link RESYNC_RETRY_MAX_MS} and back to the start after a success: otherwise the lost events
 * stayed unrepaired until the next loss (with XFRM nothing else ever resyncs). The retry covers the
 * failed resyncs' causes; a lost event (or a periodic check) meanwhile runs at once and takes the
 * retry's place. Retries never overlap a running resync (they go through the same queue).
 *
 * Lost ACQUIREs cannot be recovered from a dump (nothing of them is left in the SAD): the traffic's
 * next packet after the kernel's larval state times out raises a new one.
 */
import { systemClock, type Clock, type TimerHandle } from "../clock.js";
import type { SaProto } from "./algorithms.js";
import { kernelResync } from "./channels.js";
import type { DeleteEvent, ExpireEvent, ExpireReason, Kernel, LostEvent, SaInfo } from "./kernel.js";

/** One direction of an SA pair: the kernel's (proto, dst, spi) and its source. */
export interface HeldSa {
  readonly src: string;
  readonly dst: string;
  readonly spi: number;
}

/** An SA pair the daemon's table holds. */
export interface HeldPair {
  readonly proto: SaProto;
  readonly inbound: HeldSa;
  readonly outbound: HeldSa;
}

/** Why a resync runs: the cause of a lost event, or the periodic check (PF_KEY). */
export type ResyncCause = LostEvent["cause"] | "periodic";

/** What one resync found and did. */
export interface ResyncReport {
  /** Why it ran: the causes of the lost events it covers, or `periodic`. */
  readonly causes: ReadonlyArray<ResyncCause>;
  /** SAs in the kernel's dump; pairs the table held throughout. */
  readonly kernelSas: number;
  readonly held: number;
  /** Pairs the kernel no longer had, handed to the DELETE path; how many of those were ours. */
  readonly missing: number;
  readonly removed: number;
  /** SAs past their soft lifetime, handed to the soft EXPIRE path; how many of those started a rekey. */
  readonly softExpired: number;
  readonly rekeyed: number;
  /** Set when the dump failed (nothing was reconciled). */
  readonly error?: string;
  /** With `error`: in how many milliseconds the resync is tried again (absent when another is queued already). */
  readonly retryMs?: number;
}

/** A finished resync on the `iked:kernel:resync` channel (channels.ts): the kernel it ran against. */
export interface ResyncPublished {
  readonly kernel: object;
  readonly report: ResyncReport;
}

/** What a resync works with. */
export interface ResyncOptions {
  readonly kernel: Pick<Kernel, "dump">;
  /** The SA pairs the daemon's table holds now. */
  readonly held: () => readonly HeldPair[];
  /** The DELETE path; returns how many pairs were ours. */
  readonly removed: (ev: DeleteEvent) => number;
  /** The soft EXPIRE path; returns true when it started a rekey. */
  readonly softExpired: (ev: ExpireEvent) => boolean;
  /** Milliseconds now, on the clock of the kernel's counters (default Date.now). */
  readonly now?: () => number;
  /** Hears each finished resync (the log line, the metrics). */
  readonly done?: (report: ResyncReport) => void;
  /** Arms the retry after a failed dump (default the system clock). */
  readonly clock?: Clock;
}

/** First wait before a failed resync is tried again; it doubles after each further failure. */
export const RESYNC_RETRY_MIN_MS = 1_000;
/** Longest wait between retries of a failing resync. */
export const RESYNC_RETRY_MAX_MS = 60_000;

const saKey = (proto: SaProto, dst: string, spi: number): string => `${proto}:${dst}:${spi}`;
const pairKey = (p: HeldPair): string => `${saKey(p.proto, p.outbound.dst, p.outbound.spi)}|${saKey(p.proto, p.inbound.dst, p.inbound.spi)}`;

/**
 * The soft limit an SA has reached by its counters, or null. Linux counts allocations as packets
 * (XFRM lft packet limits, PF_KEY sadb_lifetime_allocations), the in-memory SADB both.
 */
export function softLimitReached(sa: SaInfo, nowMs: number): ExpireReason | null {
  const soft = sa.soft;
  const c = sa.counters;
  if (soft.bytes > 0 && c.bytes >= soft.bytes) return "bytes";
  if (soft.allocations > 0 && Math.max(c.packets, c.allocations) >= soft.allocations) return "allocations";
  if (soft.useSeconds > 0 && c.useTime !== null && nowMs >= c.useTime + soft.useSeconds * 1000) return "usetime";
  if (soft.addSeconds > 0 && nowMs >= c.addTime + soft.addSeconds * 1000) return "addtime";
  return null;
}

/** Runs resyncs, one at a time, for the lost events it is told of. */
export class KernelResync {
  readonly #opts: ResyncOptions;
  #running: Promise<void> | null = null;
  /** Causes of lost events not yet covered by a resync that started after them. */
  #queued: ResyncCause[] = [];
  /**
   * Pairs a resync handed to the DELETE path that the table still held at the last one: their
   * removal from the table may still be under way (it waits for the kernel), so no later resync
   * hands them over again.
   */
  #handed = new Set<string>();
  #closed = false;
  /** The retry after a failed dump, its causes, and the wait it got (0: the last resync succeeded). */
  #retry: TimerHandle | undefined;
  #retryCauses: ResyncCause[] = [];
  #retryMs = 0;

  constructor(opts: ResyncOptions) {
    this.#opts = opts;
  }

  /** Events were lost: resync now, or once more after the one running (however many arrive meanwhile). */
  request(cause: ResyncCause): void {
    if (this.#closed) return;
    // A retry waiting for its time joins this resync instead.
    this.#queue(this.#cancelRetry());
    this.#queue([cause]);
    if (this.#running === null) this.#running = this.#loop();
  }

  /**
   * Resync now unless one runs or is queued (a periodic check is skipped then, not queued); a
   * retry waiting for its time runs now with it.
   */
  requestIfIdle(cause: ResyncCause): void {
    if (this.#running === null) this.request(cause);
  }

  /** No more resyncs; one under way reconciles nothing once its dump returns (the daemon stops). */
  close(): void {
    this.#closed = true;
    this.#queued = [];
    this.#cancelRetry();
  }

  /** Settles when no resync runs or is queued (tests, shutdown); a retry waiting for its time is not waited for. */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      while (this.#queued.length > 0) {
        const causes = this.#queued;
        this.#queued = [];
        let report = await this.#once(causes);
        if (report === null) return;
        if (report.error === undefined) this.#retryMs = 0;
        else {
          this.#retryMs = this.#retryMs === 0 ? RESYNC_RETRY_MIN_MS : Math.min(this.#retryMs * 2, RESYNC_RETRY_MAX_MS);
          // Lost events queued meanwhile run a resync at once, which covers these causes too.
          if (this.#queued.length > 0) this.#queue(causes);
          else report = { ...report, retryMs: this.#scheduleRetry(causes) };
        }
        this.#opts.done?.(report);
        if (kernelResync.hasSubscribers) kernelResync.publish({ kernel: this.#opts.kernel, report } satisfies ResyncPublished);
      }
    } finally {
      this.#running = null;
    }
  }

  #queue(causes: readonly ResyncCause[]): void {
    for (const c of causes) if (!this.#queued.includes(c)) this.#queued.push(c);
  }

  /** Arms the retry of a failed resync; returns its wait. */
  #scheduleRetry(causes: readonly ResyncCause[]): number {
    const clock = this.#opts.clock ?? systemClock;
    this.#retryCauses = [...causes];
    this.#retry = clock.setTimer(() => {
      this.#retry = undefined;
      const again = this.#retryCauses;
      this.#retryCauses = [];
      for (const c of again) this.request(c);
    }, this.#retryMs);
    return this.#retryMs;
  }

  /** Disarms a waiting retry; returns the causes it was to cover. */
  #cancelRetry(): ResyncCause[] {
    if (this.#retry === undefined) return [];
    (this.#opts.clock ?? systemClock).clearTimer(this.#retry);
    this.#retry = undefined;
    const causes = this.#retryCauses;
    this.#retryCauses = [];
    return causes;
  }

  async #once(causes: ReadonlyArray<ResyncCause>): Promise<ResyncReport | null> {
    const before = new Set(this.#opts.held().map(pairKey));
    let dump: SaInfo[];
    try {
      dump = await this.#opts.kernel.dump();
    } catch (err) {
      if (this.#closed) return null;
      return { causes, kernelSas: 0, held: 0, missing: 0, removed: 0, softExpired: 0, rekeyed: 0, error: (err as Error).message ?? String(err) };
    }
    if (this.#closed) return null;
    const now = (this.#opts.now ?? Date.now)();
    const live = new Set(dump.map((s) => saKey(s.proto, s.dst, s.spi)));
    const held = this.#opts.held().filter((p) => before.has(pairKey(p)));
    const handed = new Set<string>();
    let missing = 0;
    let removed = 0;
    for (const p of held) {
      const gone = [p.outbound, p.inbound].find((h) => !live.has(saKey(p.proto, h.dst, h.spi)));
      if (gone === undefined) continue;
      const key = pairKey(p);
      // Handed before and still held (its removal waits for the kernel): remembered, not handed again.
      handed.add(key);
      if (this.#handed.has(key)) continue;
      missing++;
      removed += this.#opts.removed({ type: "delete", src: gone.src, dst: gone.dst, proto: p.proto, spi: gone.spi });
    }
    this.#handed = handed;
    let softExpired = 0;
    let rekeyed = 0;
    for (const sa of dump) {
      if (sa.state !== "mature" && sa.state !== "dying") continue;
      const reason = softLimitReached(sa, now);
      if (reason === null) continue;
      softExpired++;
      if (this.#opts.softExpired({ type: "expire", kind: "soft", reason, sa: { ...sa, state: "dying" } })) rekeyed++;
    }
    return { causes, kernelSas: dump.length, held: held.length, missing, removed, softExpired, rekeyed };
  }
}
