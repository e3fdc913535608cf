/**
 * Many one-shot deadlines behind one clock timer: the ISAKMP SAs' timers (lifetime, soft rekey,
 * Phase 1 expire, DPD, idle watch, Quick Mode linger, NAT-T keepalive) wait here instead of in a
 * Node `Timeout` each (issue 14 goal 5: 100,000 held SAs; a Timeout with its wrapper closure and
 * a per-SA Map of them cost ~0.5 KB per SA).
 *
 * An indexed min-heap (timer-heap.ts) ordered by deadline, then by arming order (two timers due
 * at the same millisecond fire in the order they were armed, as Node's and the ManualClock's do).
 * Each entry knows its place in the heap, so cancelling or re-arming removes it at once: nothing
 * stale stays behind, and a cancelled entry pins nothing. One clock timer is armed for the root; it fires every
 * entry due by now, then is armed again for the new root (a wait beyond the clock's
 * longest, 2^31-1 ms, is cut to it and armed again when it fires). Deadlines are exact: an entry
 * fires at its own millisecond, not rounded to a slot, so there is no granularity beyond the
 * clock's. Deadlines are kept on the clock's monotonic time where it has one (the system clock:
 * `performance.now()`), as Node's own timers are, so a wall-clock step moves no deadline; a
 * ManualClock's `now()` serves otherwise.
 *
 * {@link timerQueueOf} gives the one queue of a clock: the daemon's engines share one clock timer,
 * a test's ManualClock gets a queue of its own.
 */
import { checkedDelay, MAX_TIMER_DELAY, type Clock, type TimerHandle } from "./clock.js";
import { TimerHeap, type HeapOwner } from "./timer-heap.js";

/** Something waiting in a {@link TimerQueue}; the queue sets its fields. */
export abstract class QueuedTimer implements HeapOwner {
  /** Deadline on the queue's time (ms). */
  dueAt = 0;
  /** Index in the heap, -1 when not queued. */
  heapIndex = -1;
  /** Arming order, for deadlines that tie. */
  seq = 0;

  /** Whether the timer waits in a queue now. */
  get queued(): boolean {
    return this.heapIndex >= 0;
  }

  /** Runs when the deadline has come (after the timer left the queue). */
  abstract fire(): void;
}

/** Earlier deadline first; on a tie, the one armed first. */
function before(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

/** Deadlines behind one clock timer. */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #heap = new TimerHeap<QueuedTimer>(before);
  #seq = 0;
  #handle: TimerHandle | undefined;
  /** The deadline the clock timer is armed for (Infinity when none is). */
  #armedFor = Infinity;
  /** Inside {@link #fire}: it arms the clock timer once, when done. */
  #firing = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The time deadlines are kept on: the clock's monotonic time, else its `now()`. */
  #now(): number {
    const c = this.#clock;
    return c.monotonic !== undefined ? c.monotonic() : c.now();
  }

  /** Timers waiting. */
  get size(): number {
    return this.#heap.size;
  }

  /** Whether a clock timer is armed. */
  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /**
   * Queue `t` to fire `delayMs` from now; a queued `t` is moved. A NaN or negative delay is an
   * {@link InvariantError} (clock.ts), thrown before anything changes.
   */
  add(t: QueuedTimer, delayMs: number): void {
    const at = this.#now() + checkedDelay(delayMs);
    t.seq = this.#seq++;
    this.#heap.set(t, at);
    this.#arm();
  }

  /** Take `t` out of the queue (nothing when it is not queued here). */
  remove(t: QueuedTimer): void {
    if (!this.#heap.has(t)) return;
    this.#heap.remove(t);
    this.#arm();
  }

  /** Arm, move or disarm the clock timer for the root. An early wake-up finds nothing due and re-arms. */
  #arm(): void {
    if (this.#firing) return;
    const root = this.#heap.peek();
    if (root === undefined) {
      if (this.#handle !== undefined) this.#clock.clearTimer(this.#handle);
      this.#handle = undefined;
      this.#armedFor = Infinity;
      return;
    }
    if (this.#handle !== undefined && this.#armedFor <= root.dueAt) return;
    if (this.#handle !== undefined) this.#clock.clearTimer(this.#handle);
    this.#armedFor = root.dueAt;
    // A deadline already past fires on the next turn; one beyond the longest wait re-arms in #fire.
    this.#handle = this.#clock.setTimer(() => this.#fire(), Math.min(Math.max(0, root.dueAt - this.#now()), MAX_TIMER_DELAY));
  }

  #fire(): void {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    this.#firing = true;
    try {
      const now = this.#now();
      // Timers armed by a firing one with no delay are due now too, and fire in this loop.
      for (let t = this.#heap.peek(); t !== undefined && t.dueAt <= now; t = this.#heap.peek()) {
        this.#heap.remove(t);
        t.fire();
      }
    } finally {
      this.#firing = false;
      this.#arm();
    }
  }
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The one {@link TimerQueue} of `clock`, made at first use. */
export function timerQueueOf(clock: Clock): TimerQueue {
  let q = queues.get(clock);
  if (q === undefined) queues.set(clock, (q = new TimerQueue(clock)));
  return q;
}
