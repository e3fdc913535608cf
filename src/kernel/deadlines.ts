/**
 * SA deadlines for the in-memory SADB: a `TimerHeap` plus one clock timer armed for the earliest
 * entry. Owners carry a generation counter; bumping it voids every deadline scheduled before, so a
 * deleted or rescheduled SA needs no heap surgery.
 */
import type { Clock, TimerHandle } from "../clock.js";
import { InvariantError } from "../errors.js";
import { TimerHeap, type HeapEntry } from "./timer-heap.js";

/** Something deadlines can belong to. */
export interface DeadlineOwner {
  gen: number;
}

/** Deadlines with a single armed timer. `due` runs for each live entry whose time has come. */
export class Deadlines<T extends DeadlineOwner> {
  readonly #heap = new TimerHeap<T>();
  readonly #clock: Clock;
  readonly #due: (entry: HeapEntry<T>) => void;
  /** How many live owners there are, to decide when stale entries are worth compacting away. */
  readonly #liveOwners: () => number;
  #timer: TimerHandle | null = null;
  #armedAt = Infinity;
  #closed = false;

  constructor(clock: Clock, due: (entry: HeapEntry<T>) => void, liveOwners: () => number) {
    this.#clock = clock;
    this.#due = due;
    this.#liveOwners = liveOwners;
  }

  /** Entries held, live or stale. */
  get size(): number {
    return this.#heap.size;
  }

  schedule(owner: T, kind: number, at: number): void {
    // A NaN deadline would never be armed (every comparison is false): the SA would live forever.
    if (Number.isNaN(at)) throw new InvariantError(`SADB deadline of kind ${kind} is NaN`);
    if (this.#closed) return;
    this.#heap.push({ at, owner, gen: owner.gen, kind });
    // Stale entries (deleted or rescheduled owners) are dropped in bulk once they outnumber live ones.
    if (this.#heap.size > 4 * this.#liveOwners() + 1024) this.#heap.compact((e) => e.gen === e.owner.gen);
    if (at < this.#armedAt) this.#arm(at);
  }

  /** Whether a clock timer is armed. */
  get armed(): boolean {
    return this.#timer !== null;
  }

  /**
   * Disarms the timer and forgets every deadline; later `schedule` calls still work. For an owner
   * table that just became empty: every entry left is stale, and each one pins its dead owner.
   */
  reset(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#armedAt = Infinity;
    this.#heap.clear();
  }

  /** Disarms the timer and forgets every deadline; later `schedule` calls are ignored. */
  close(): void {
    this.reset();
    this.#closed = true;
  }

  #arm(at: number): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#armedAt = at;
    // A deadline already past fires on the next turn; one beyond a clock's longest wait is re-armed by #fire.
    this.#timer = this.#clock.setTimer(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#armedAt = Infinity;
    const now = this.#clock.now();
    for (let e = this.#heap.peek(); e !== undefined && e.at <= now && !this.#closed; e = this.#heap.peek()) {
      this.#heap.pop();
      if (e.gen === e.owner.gen) this.#due(e);
    }
    const next = this.#heap.peek();
    if (next !== undefined && !this.#closed) this.#arm(next.at);
  }
}
