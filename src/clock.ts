/**
 * Time as every part of the daemon sees it: milliseconds and one-shot timers. The IKE engine
 * (retransmits, SA lifetimes, cookie rotation), the in-memory network and the in-memory SADB
 * (SA lifetimes) all take a {@link Clock}, so tests drive time by hand (test/helpers/manual-clock.ts)
 * instead of sleeping, and the daemon uses {@link systemClock}, whose timers never keep the process
 * alive on their own. Every timer in src/ is armed through a Clock of this file (or, for the rare
 * raw interval, through {@link timerDelay}; for the ISAKMP SAs' many long timers, through the
 * clock's one timer queue, timer-queue.ts), so each delay is checked and clamped in one place.
 */
import { InvariantError } from "./errors.js";

declare const timerBrand: unique symbol;

/** An opaque timer handle; only the clock that made it can clear it. */
export type TimerHandle = { readonly [timerBrand]: true };

/** Milliseconds now, and one-shot timers. */
export interface Clock {
  now(): number;
  /**
   * Optional: milliseconds on a clock that never steps (the system clock's: `performance.now()`),
   * for deadlines kept outside Node's timers (timer-queue.ts), so that a wall-clock step (NTP, an
   * operator's `date`) moves no SA's lifetime; without it, `now()` serves (a test's ManualClock).
   */
  monotonic?(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * Node's timers wait at most 2^31-1 ms (about 24.8 days) and fire at once beyond it; a longer
 * delay is cut to this, and the owner re-arms when it fires early (the SADB's deadline heap does,
 * an ISAKMP SA's timers wait in steps).
 */
export const MAX_TIMER_DELAY = 0x7fffffff;

/**
 * The delay a timer really gets: at most {@link MAX_TIMER_DELAY} (a longer one, +Infinity included,
 * is cut, and its owner re-arms). NaN or a negative delay is a computation gone wrong somewhere
 * (an unset lifetime, a deadline subtracted the wrong way round): Node would turn it into a 1 ms
 * timer and fire at once, so it is an {@link InvariantError} here instead. A caller that may be
 * late on purpose (a deadline already past) clamps at 0 itself.
 */
export function timerDelay(delayMs: number): number {
  return Math.min(checkedDelay(delayMs), MAX_TIMER_DELAY);
}

/**
 * `delayMs` itself, once it is neither NaN nor negative ({@link InvariantError} otherwise, as
 * {@link timerDelay}): for a queue that keeps a long deadline whole and re-arms (timer-queue.ts).
 */
export function checkedDelay(delayMs: number): number {
  if (Number.isNaN(delayMs) || delayMs < 0) throw new InvariantError(`timer delay ${delayMs} ms`);
  return delayMs;
}

/** Wall-clock time, the monotonic clock, and unref'ed Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, timerDelay(delayMs));
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimer(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

/**
 * Wall-clock time and Node timers that keep the process alive until they fire (a startup report
 * awaited, a drain before exit, a datagram in flight on a test network).
 */
export const refClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, timerDelay(delayMs)) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
