/**
 * SA deadlines for the in-memory SADB: a `TimerHeap` holding each owner once, at its earliest
 * deadline, plus one clock timer armed for the root. The owner works out which deadline that is;
 * when it falls due `due` runs and sets the owner's next one (or leaves it out of the heap).
 */
import type { Clock, TimerHandle } from "../clock.js";
import { InvariantError } from "../errors.js";
import { TimerHeap, type HeapOwner } from "../timer-heap.js";

/** Deadlines with a single armed timer. `due` runs for each owner whose time has come, out of the heap. */
export class Deadlines<T extends HeapOwner> {
  readonly #heap = new TimerHeap<T>();
  readonly #clock: Clock;
  readonly #due: (owner: T) => void;
  #timer: TimerHandle | null = null;
  #armedAt = Infinity;
  #closed = false;

  constructor(clock: Clock, due: (owner: T) => void) {
    this.#clock = clock;
    this.#due = due;
  }

  /** Owners held (each has exactly one entry). */
  get size(): number {
    return this.#heap.size;
  }

  /** Sets `owner`'s next deadline to `at`, replacing the one it had; Infinity removes it. */
  set(owner: T, at: number): void {
    // A NaN deadline would never be armed (every comparison is false): the SA would live forever.
    if (Number.isNaN(at)) throw new InvariantError("SADB deadline is NaN");
    if (this.#closed) return;
    if (at === Infinity) return this.remove(owner);
    this.#heap.set(owner, at);
    if (at < this.#armedAt) this.#arm(at);
  }

  /**
   * Forgets `owner`'s deadline, if it has one. The timer stays armed (it re-arms for the root of the
   * moment when it fires) unless the heap is now empty.
   */
  remove(owner: T): void {
    this.#heap.remove(owner);
    if (this.#heap.size === 0 && this.#timer !== null) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = null;
      this.#armedAt = Infinity;
    }
  }

  /** Whether a clock timer is armed. */
  get armed(): boolean {
    return this.#timer !== null;
  }

  /** Disarms the timer and forgets every deadline; later `set` calls are ignored. */
  close(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#armedAt = Infinity;
    this.#heap.clear();
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
    for (let o = this.#heap.peek(); o !== undefined && o.dueAt <= now && !this.#closed; o = this.#heap.peek()) {
      this.#heap.remove(o);
      this.#due(o);
    }
    const next = this.#heap.peek();
    if (next !== undefined && !this.#closed) this.#arm(next.dueAt);
  }
}
