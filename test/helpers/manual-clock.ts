/**
 * A {@link Clock} that moves only when told to, for tests: `advance(ms)` fires every timer that
 * falls due, one by one at its own due time (timers armed meanwhile included), so hours of SA
 * lifetimes and retransmissions run in microseconds.
 */
import { timerDelay, type Clock, type TimerHandle } from "../../src/clock.js";

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Manual time. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const id = this.#seq++;
    // Checked and clamped as the system clock does, so a NaN or negative delay fails a test too.
    this.#pending.set(id, { id, at: this.#now + timerDelay(delayMs), fn });
    return id as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#pending.delete(handle as unknown as number);
  }

  /** Number of timers not yet fired or cleared. */
  get timerCount(): number {
    return this.#pending.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due (in order, including new ones). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values()) {
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.id < next.id))) next = p;
      }
      if (next === undefined) break;
      this.#pending.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }
}
