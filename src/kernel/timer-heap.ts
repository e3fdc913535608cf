/**
 * A binary min-heap of deadlines. The in-memory SADB keeps every SA lifetime here and arms one
 * clock timer for the root, instead of one `setTimeout` per SA (100k SAs would mean 200k timers).
 * Entries are never removed from the middle: each carries the generation of its SA, and a popped
 * entry whose generation is stale is simply dropped ("lazy deletion").
 */

/** One deadline. `gen` must match the owner's current generation for the entry to count. */
export interface HeapEntry<T> {
  at: number;
  owner: T;
  gen: number;
  kind: number;
}

/** Min-heap ordered by `at`. */
export class TimerHeap<T> {
  #items: HeapEntry<T>[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Earliest entry without removing it. */
  peek(): HeapEntry<T> | undefined {
    return this.#items[0];
  }

  push(entry: HeapEntry<T>): void {
    const a = this.#items;
    a.push(entry);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= entry.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = entry;
  }

  pop(): HeapEntry<T> | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    this.#siftDown(0, last);
    return top;
  }

  /** Drops every entry `keep` rejects (stale generations) and rebuilds the heap in O(n). */
  compact(keep: (e: HeapEntry<T>) => boolean): void {
    this.#items = this.#items.filter(keep);
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#siftDown(i, this.#items[i]!);
  }

  clear(): void {
    this.#items = [];
  }

  #siftDown(start: number, entry: HeapEntry<T>): void {
    const a = this.#items;
    const n = a.length;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1]!.at < a[c]!.at) c++;
      if (a[c]!.at >= entry.at) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = entry;
  }
}
