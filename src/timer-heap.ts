/**
 * A binary min-heap of deadline owners, indexed: each owner carries its own due time and its
 * position in the heap, so a deadline is moved or removed in place in O(log n), with no entry
 * objects and no stale entries. Two users, each arming one clock timer for the root instead of one
 * `setTimeout` per deadline (100k SAs would mean 200k timers): the in-memory SADB keeps one slot
 * per SA (its earliest deadline, src/kernel/deadlines.ts), and the ISAKMP SAs' timer queue
 * (timer-queue.ts) one per armed timer, ordered on a tie by arming order (its own `before`).
 */

/** Something with a place in the heap. `heapIndex` is -1 while it has none; only the heap writes it. */
export interface HeapOwner {
  dueAt: number;
  heapIndex: number;
}

/** Min-heap of owners ordered by `dueAt` (or by `before`, which must order by `dueAt` first). */
export class TimerHeap<T extends HeapOwner> {
  #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean = (a, b) => a.dueAt < b.dueAt) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Earliest owner without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Puts `owner` in the heap due at `at`, or moves it there if it is in already. */
  set(owner: T, at: number): void {
    const a = this.#items;
    const i = owner.heapIndex;
    if (i >= 0 && a[i] !== owner) throw new Error("heap owner's index does not match the heap");
    owner.dueAt = at;
    if (i < 0) {
      a.push(owner);
      this.#siftUp(a.length - 1, owner);
      return;
    }
    this.#siftUp(i, owner);
    if (owner.heapIndex === i) this.#siftDown(i, owner);
  }

  /** Whether `owner` is in this heap. */
  has(owner: T): boolean {
    return owner.heapIndex >= 0 && this.#items[owner.heapIndex] === owner;
  }

  /** Takes `owner` out of the heap; nothing happens if it is not in. */
  remove(owner: T): void {
    const a = this.#items;
    const i = owner.heapIndex;
    if (i < 0) return;
    if (a[i] !== owner) throw new Error("heap owner's index does not match the heap");
    owner.heapIndex = -1;
    const last = a.pop()!;
    if (last === owner) return;
    this.#siftUp(i, last);
    if (last.heapIndex === i) this.#siftDown(i, last);
  }

  /** Takes every owner out. */
  clear(): void {
    for (const o of this.#items) o.heapIndex = -1;
    this.#items = [];
  }

  #siftUp(start: number, owner: T): void {
    const a = this.#items;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p]!;
      if (!this.#before(owner, parent)) break;
      a[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    a[i] = owner;
    owner.heapIndex = i;
  }

  #siftDown(start: number, owner: T): void {
    const a = this.#items;
    const n = a.length;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#before(a[c + 1]!, a[c]!)) c++;
      const child = a[c]!;
      if (!this.#before(child, owner)) break;
      a[i] = child;
      child.heapIndex = i;
      i = c;
    }
    a[i] = owner;
    owner.heapIndex = i;
  }
}
