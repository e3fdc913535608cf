/**
 * Pending ACQUIREs of the in-memory SADB. A kernel raises one ACQUIRE per flow and then waits
 * (Linux: the larval state lives `xfrm_acq_expires`; illumos: 15 s): more packets of the same flow
 * get no second ACQUIRE until the first is answered by an ADD/UPDATE carrying its sequence number, or
 * times out. Bounded: expired entries are pruned, and past `max` pending flows the oldest is dropped.
 */

interface Pending {
  flow: string;
  seq: number;
  until: number;
}

/** Flow → pending ACQUIRE, and sequence number → flow. */
export class AcquireTable {
  readonly #byFlow = new Map<string, Pending>();
  readonly #bySeq = new Map<number, Pending>();
  readonly #lifeMs: number;
  readonly #max: number;
  #seq = 0;

  constructor(lifeMs: number, max = 65536) {
    this.#lifeMs = lifeMs;
    this.#max = max;
  }

  /** Pending ACQUIREs held. */
  get size(): number {
    return this.#byFlow.size;
  }

  /** The pending sequence number of a flow, or a fresh one (`fresh: true`: raise the event). */
  open(flow: string, now: number): { seq: number; fresh: boolean } {
    this.expire(now);
    const pending = this.#byFlow.get(flow);
    if (pending !== undefined && pending.until > now) return { seq: pending.seq, fresh: false };
    if (pending !== undefined) this.#drop(pending);
    if (this.#byFlow.size >= this.#max) this.#prune(now);
    this.#seq = (this.#seq % 0xffffffff) + 1;
    const p: Pending = { flow, seq: this.#seq, until: now + this.#lifeMs };
    this.#byFlow.set(flow, p);
    this.#bySeq.set(p.seq, p);
    return { seq: p.seq, fresh: true };
  }

  /**
   * Drops pending ACQUIREs whose time is up. Every entry lives the same `lifeMs` and is (re)inserted
   * at the end, so the Map's insertion order is also expiry order: only the front needs looking at.
   * Without this, flows that were never answered stayed until the table filled up (65,536 entries).
   */
  expire(now: number): void {
    for (const p of this.#byFlow.values()) {
      if (p.until > now) return;
      this.#drop(p);
    }
  }

  /** Entries of both indexes (they must be equal), for leak checks. */
  get indexSizes(): { byFlow: number; bySeq: number } {
    return { byFlow: this.#byFlow.size, bySeq: this.#bySeq.size };
  }

  /** An ADD/UPDATE answered the ACQUIRE with this sequence number. */
  answer(seq: number): void {
    const p = this.#bySeq.get(seq);
    if (p !== undefined) this.#drop(p);
  }

  #drop(p: Pending): void {
    this.#byFlow.delete(p.flow);
    this.#bySeq.delete(p.seq);
  }

  /** Drops expired entries; if none had expired, drops the oldest (Maps iterate in insertion order). */
  #prune(now: number): void {
    for (const p of this.#byFlow.values()) if (p.until <= now) this.#drop(p);
    if (this.#byFlow.size >= this.#max) {
      const oldest = this.#byFlow.values().next().value;
      if (oldest !== undefined) this.#drop(oldest);
    }
  }
}
