/**
 * Time source and one-shot timer for the in-memory SADB, injectable so tests can run hours of SA
 * lifetimes in microseconds. The SADB keeps a single timer armed for its earliest deadline, so a clock
 * only ever needs to hold a handful of timers.
 */

/** Milliseconds now, and one-shot timers. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Node's timers may wait at most 2^31-1 ms; longer deadlines are re-armed when this fires. */
const MAX_DELAY = 0x7fffffff;

/** Wall clock with unref'd timers: pending SA lifetimes never keep the process alive by themselves. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_DELAY));
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface ManualTimer {
  at: number;
  fn: () => void;
  id: number;
}

/** A clock that moves only when told to: `advance(ms)` runs every timer that falls due, in order. */
export class ManualClock implements Clock {
  #now: number;
  #timers = new Map<number, ManualTimer>();
  #nextId = 1;

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Number of armed timers (the SADB should keep at most one). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers one by one at their own due time. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers.values()) if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }
}
