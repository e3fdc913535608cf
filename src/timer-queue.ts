/**
 * Many one-shot deadlines behind one clock timer: the ISAKMP SAs' timers (lifetime, soft rekey,
 * Phase 1 expire, DPD, idle watch, Quick Mode linger, NAT-T keepalive) wait here instead of in a
 * Node `Timeout` each (issue 14 goal 5: 100,000 held SAs; a Timeout with its wrapper closure and
 * a per-SA Map of them cost ~0.5 KB per SA).
 *
 * A binary min-heap ordered by deadline, then by arming order (two timers due at the same
 * millisecond fire in the order they were armed, as Node's and the ManualClock's do). Each entry
 * knows its place in the heap, so cancelling or re-arming removes it at once: nothing stale stays
 * behind, and a cancelled entry pins nothing. One clock timer is armed for the root; it fires every
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

/** Something waiting in a {@link TimerQueue}; the queue sets its fields. */
export abstract class QueuedTimer {
  /** Deadline on the queue's clock (ms). */
  at = 0;
  /** Arming order, for deadlines that tie. */
  seq = 0;
  /** Index in the heap, -1 when not queued. */
  slot = -1;

  /** Whether the timer waits in a queue now. */
  get queued(): boolean {
    return this.slot >= 0;
  }

  /** Runs when the deadline has come (after the timer left the queue). */
  abstract fire(): void;
}

/** Deadlines behind one clock timer. */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #heap: QueuedTimer[] = [];
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
    return this.#heap.length;
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
    if (t.slot >= 0) this.#removeAt(t.slot);
    t.at = at;
    t.seq = this.#seq++;
    const h = this.#heap;
    h.push(t);
    this.#up(h.length - 1, t);
    this.#arm();
  }

  /** Take `t` out of the queue (nothing when it is not queued). */
  remove(t: QueuedTimer): void {
    if (t.slot < 0 || this.#heap[t.slot] !== t) return;
    this.#removeAt(t.slot);
    this.#arm();
  }

  /** Arm, move or disarm the clock timer for the root. An early wake-up finds nothing due and re-arms. */
  #arm(): void {
    if (this.#firing) return;
    const root = this.#heap[0];
    if (root === undefined) {
      if (this.#handle !== undefined) this.#clock.clearTimer(this.#handle);
      this.#handle = undefined;
      this.#armedFor = Infinity;
      return;
    }
    if (this.#handle !== undefined && this.#armedFor <= root.at) return;
    if (this.#handle !== undefined) this.#clock.clearTimer(this.#handle);
    this.#armedFor = root.at;
    // A deadline already past fires on the next turn; one beyond the longest wait re-arms in #fire.
    this.#handle = this.#clock.setTimer(() => this.#fire(), Math.min(Math.max(0, root.at - this.#now()), MAX_TIMER_DELAY));
  }

  #fire(): void {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    this.#firing = true;
    try {
      const now = this.#now();
      // Timers armed by a firing one with no delay are due now too, and fire in this loop.
      for (let t = this.#heap[0]; t !== undefined && t.at <= now; t = this.#heap[0]) {
        this.#removeAt(0);
        t.fire();
      }
    } finally {
      this.#firing = false;
      this.#arm();
    }
  }

  /** Take out the entry at `i`, keeping the heap in order. */
  #removeAt(i: number): void {
    const h = this.#heap;
    const gone = h[i]!;
    gone.slot = -1;
    const last = h.pop()!;
    if (last === gone) return;
    // The last entry fills the hole, then moves up or down to where it belongs.
    if (i > 0 && before(last, h[(i - 1) >> 1]!)) this.#up(i, last);
    else this.#down(i, last);
  }

  #up(start: number, t: QueuedTimer): void {
    const h = this.#heap;
    let i = start;
    while (i > 0) {
      const parent = h[(i - 1) >> 1]!;
      if (!before(t, parent)) break;
      h[i] = parent;
      parent.slot = i;
      i = (i - 1) >> 1;
    }
    h[i] = t;
    t.slot = i;
  }

  #down(start: number, t: QueuedTimer): void {
    const h = this.#heap;
    const n = h.length;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(h[c + 1]!, h[c]!)) c++;
      const child = h[c]!;
      if (!before(child, t)) break;
      h[i] = child;
      child.slot = i;
      i = c;
    }
    h[i] = t;
    t.slot = i;
  }
}

/** Earlier deadline first; on a tie, the one armed first. */
function before(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The one {@link TimerQueue} of `clock`, made at first use. */
export function timerQueueOf(clock: Clock): TimerQueue {
  let q = queues.get(clock);
  if (q === undefined) queues.set(clock, (q = new TimerQueue(clock)));
  return q;
}
