/**
 * The IPsec SA idle lifetime (ike.config `p2_idletime_secs`, illumos `SADB_X_EXT_LIFETIME_IDLE`) in
 * user space, for kernels that keep none: Linux XFRM and PF_KEY only have a "use" lifetime, which
 * counts from the first packet, not the last. A kernel that enforces it itself (the in-memory SADB,
 * `Kernel.enforcesIdle`) is left to do so.
 *
 * Each ISAKMP SA holding IPsec SA pairs negotiated under a rule with an idle time has one timer (an
 * SA timer, on the engine's clock, so it is cleared with the SA and its faults end only that SA).
 * It reads the kernel's counters of both SAs of each pair every min(idle / 2, 30 s), at least 1 s;
 * a pair whose inbound and outbound counts have not moved for the idle time is deleted as a hard
 * EXPIRE deletes it: a Delete to the peer, both kernel SAs removed. A look the kernel cannot answer
 * (an error other than "no such SA") is skipped for that pair; only a pair gone from the kernel is
 * no longer watched. The pairs move with the IPsec SA table's hand-over to a newer ISAKMP SA;
 * pairs whose ISAKMP SA ends without an heir are no longer watched (their other lifetimes still
 * end them).
 */
import type { Clock } from "../clock.js";
import type { Kernel } from "../kernel/kernel.js";
import type { IpsecOwner, IpsecSas } from "./ipsec-sas.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ChosenSa } from "./phase2/install.js";
import { saUse } from "./sa-use.js";

/** The SA timer's name. */
export const IDLE_TIMER = "ipsec-idle";

/** Longest and shortest time between two looks at the counters, ms. */
const MAX_PERIOD_MS = 30_000;
const MIN_PERIOD_MS = 1_000;

/** What the idle watch works with; `expire` deletes pairs as a hard EXPIRE does. */
export interface IdleContext {
  readonly kernel: Kernel | undefined;
  readonly ipsec: IpsecSas;
  readonly clock: Clock;
  readonly expire: (pairs: readonly IpsecOwner[], why: string) => void;
  readonly log: IkeLog;
}

/** One watched pair: its idle time, the counts last seen (0 at install) and since when they have not moved. */
interface Watch {
  readonly idleMs: number;
  inUse: number;
  outUse: number;
  since: number;
}

/** The engine's user-space idle lifetime. */
export class IdleSas {
  /** Per pair: its watch, or null when its rule has no idle time. */
  private readonly watched = new WeakMap<ChosenSa, Watch | null>();

  constructor(private readonly ctx: IdleContext) {}

  /** Whether the daemon enforces idle lifetimes itself (a kernel that keeps none). */
  get enabled(): boolean {
    return this.ctx.kernel !== undefined && this.ctx.kernel.enforcesIdle !== true;
  }

  /** `sa` holds new pairs (a finished Quick Mode, a hand-over): watch those with an idle time. */
  pairsChanged(sa: IsakmpSa): void {
    if (!this.enabled || sa.isDead()) return;
    const secs = sa.config?.p2IdletimeSecs ?? 0;
    const now = this.ctx.clock.now();
    for (const c of this.ctx.ipsec.of(sa)) {
      if (this.watched.has(c)) continue;
      this.watched.set(c, secs > 0 ? { idleMs: secs * 1000, inUse: 0, outUse: 0, since: now } : null);
    }
    this.arm(sa);
  }

  /** The next look for `sa`'s pairs, or none when no watched pair is left. */
  private arm(sa: IsakmpSa): void {
    const now = this.ctx.clock.now();
    let delay = Infinity;
    for (const c of this.ctx.ipsec.of(sa)) {
      const w = this.watched.get(c);
      if (w === undefined || w === null) continue;
      const period = Math.min(w.idleMs / 2, MAX_PERIOD_MS);
      delay = Math.min(delay, period, w.since + w.idleMs - now);
    }
    if (delay === Infinity) return sa.clearTimer(IDLE_TIMER);
    const ms = Math.max(MIN_PERIOD_MS, Math.ceil(delay));
    sa.setTimer(IDLE_TIMER, ms, () => {
      // On the SA's queue: the Delete it may send advances the SA's IV state like any other message.
      if (!sa.queue.push(() => this.look(sa))) this.arm(sa);
    });
  }

  /** Read the counters of `sa`'s watched pairs; delete those idle for their idle time. */
  private async look(sa: IsakmpSa): Promise<void> {
    const kernel = this.ctx.kernel;
    if (kernel === undefined || sa.isDead()) return;
    const idle: IpsecOwner[] = [];
    for (const c of [...this.ctx.ipsec.of(sa)]) {
      const w = this.watched.get(c);
      if (w === undefined || w === null) continue;
      const inUse = await saUse(kernel, this.ctx.log, sa.remote.address, sa.local.address, c.proto, c.inboundSpi);
      const outUse = await saUse(kernel, this.ctx.log, sa.local.address, sa.remote.address, c.proto, c.outboundSpi);
      if (sa.isDead()) return;
      // Both gone from the kernel: its DELETE or EXPIRE event tells the engine, not this.
      if (inUse === "gone" && outUse === "gone") {
        this.watched.set(c, null);
        continue;
      }
      // The kernel could not say (a timeout, ENOBUFS): the pair is looked at again next time.
      if (inUse === "unknown" || outUse === "unknown") continue;
      const now = this.ctx.clock.now();
      // A half already gone keeps its last count; the other half's then decides.
      const i = inUse === "gone" ? w.inUse : inUse;
      const o = outUse === "gone" ? w.outUse : outUse;
      if (i !== w.inUse || o !== w.outUse) {
        w.inUse = i;
        w.outUse = o;
        w.since = now;
        continue;
      }
      if (now - w.since >= w.idleMs) {
        this.watched.set(c, null);
        idle.push({ sa, chosen: c });
      }
    }
    if (idle.length > 0) this.ctx.expire(idle, "idle lifetime (p2_idletime_secs)");
    this.arm(sa);
  }
}
