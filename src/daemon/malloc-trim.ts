/**
 * Free malloc memory back to the kernel after V8's full collections (issue 14 goal 5: memory of
 * held SAs). The Buffers, OpenSSL contexts and V8 blocks of a burst of negotiations are freed
 * after a full GC; glibc's free() only shrinks an arena from its top, so the ranges between the
 * long-lived small allocations of held SAs stay resident. bench/handshake/memory.ts measured it:
 * at 6,000 held pairs 26 of the main arena's 32 MB were free, ~2.9 KB per held pair, and
 * `malloc_trim(0)` gave back 21 MB of RSS. So after each full (mark-compact) GC, once the sweeper
 * has freed what it found (a short delay), the addon's `mallocTrim` runs; at most one is pending at
 * a time. Without the native addon, or without glibc, nothing runs.
 */
import type { Clock, TimerHandle } from "../clock.js";
import { observeGc } from "./gc-observer.js";

/** How long after a full GC the trim runs (V8 frees ArrayBuffer memory on a task after it). */
export const TRIM_DELAY_MS = 1000;

/** What the trimmer works with; `observeFullGc` is for tests (default: a `gc` PerformanceObserver). */
export interface MallocTrimOptions {
  readonly clock: Clock;
  /** glibc malloc_trim(0) through the native addon. */
  readonly trim: () => boolean;
  readonly observeFullGc?: (onFullGc: () => void) => () => void;
}

/** Watches full GCs and trims malloc's arenas after each. */
export class MallocTrimmer {
  #pending: TimerHandle | undefined;
  #stopObserving: (() => void) | undefined;
  #trims = 0;

  constructor(private readonly o: MallocTrimOptions) {}

  /** Trims run so far. */
  get trims(): number {
    return this.#trims;
  }

  start(): void {
    if (this.#stopObserving !== undefined) return;
    this.#stopObserving = (this.o.observeFullGc ?? ((fn) => observeGc("full", fn)))(() => this.#afterFullGc());
  }

  stop(): void {
    this.#stopObserving?.();
    this.#stopObserving = undefined;
    if (this.#pending !== undefined) this.o.clock.clearTimer(this.#pending);
    this.#pending = undefined;
  }

  #afterFullGc(): void {
    if (this.#pending !== undefined) return;
    this.#pending = this.o.clock.setTimer(() => {
      this.#pending = undefined;
      this.#trims++;
      this.o.trim();
    }, TRIM_DELAY_MS);
  }
}
