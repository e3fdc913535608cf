/**
 * Time as every part of the daemon sees it: milliseconds and one-shot timers. The IKE engine
 * (retransmits, SA lifetimes, cookie rotation), the in-memory network and the in-memory SADB
 * (SA lifetimes) all take a {@link Clock}, so tests drive time by hand (test/helpers/manual-clock.ts)
 * instead of sleeping, and the daemon uses {@link systemClock}, whose timers never keep the process
 * alive on their own.
 */

declare const timerBrand: unique symbol;

/** An opaque timer handle; only the clock that made it can clear it. */
export type TimerHandle = { readonly [timerBrand]: true };

/** Milliseconds now, and one-shot timers. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * Node's timers wait at most 2^31-1 ms (about 24.8 days) and fire at once beyond it; a longer
 * delay is cut to this, and the owner re-arms when it fires early (the SADB's deadline heap does).
 */
export const MAX_TIMER_DELAY = 0x7fffffff;

/** Wall-clock time and unref'ed Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY));
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimer(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};
