/**
 * Time as the engine sees it. Retransmit, expiry and cookie-rotation timers all go through a
 * {@link Clock}, so tests drive time by hand ({@link ManualClock}) instead of sleeping, and the
 * daemon uses {@link systemClock} whose timers do not keep the process alive on their own.
 */

/** An opaque timer handle. */
export interface TimerHandle {
  readonly id: number;
}

/** Milliseconds and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

let nextId = 1;
const live = new Map<number, NodeJS.Timeout>();

/** Wall-clock time and unref'ed Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = nextId++;
    const t = setTimeout(() => {
      live.delete(id);
      fn();
    }, ms);
    t.unref();
    live.set(id, t);
    return { id };
  },
  clearTimeout(handle) {
    const t = live.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      live.delete(handle.id);
    }
  },
};

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to; timers fire in due order inside {@link advance}. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.seq++;
    this.pending.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle.id);
  }

  /** Number of timers not yet fired or cleared. */
  get timerCount(): number {
    return this.pending.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due (in order, including new ones). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values()) {
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.id < next.id))) next = p;
      }
      if (next === undefined) break;
      this.pending.delete(next.id);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
