/**
 * A map with a bound on its entries where the oldest entry goes first: the shape of every table a
 * flood fills (embryonic exchanges, per-address byte accounts). A plain `Map` keeps insertion order,
 * but finding its oldest entry after many deletions walks over the holes they left (V8 compacts
 * only on rehash), which made eviction the most expensive step of answering an MM1; here the
 * insertion order is a separate queue, so eviction and expiry cost O(1) each.
 */

/** Entries by key, oldest first out. */
export class FifoTable<V> {
  private readonly map = new Map<string, V>();
  /** Insertion order; an item whose key now maps to another value (or none) is stale and skipped. */
  private keys: string[] = [];
  private values: V[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  /** Live entries. */
  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Hold `value` under `key` as the newest entry; the oldest ones go past the capacity. Returns how many went. */
  add(key: string, value: V): number {
    this.map.set(key, value);
    this.keys.push(key);
    this.values.push(value);
    let evicted = 0;
    while (this.map.size > this.capacity && this.head < this.keys.length) {
      if (this.pop()) evicted++;
    }
    this.skipStale();
    return evicted;
  }

  /** Forget `key`. */
  delete(key: string): void {
    this.map.delete(key);
    this.skipStale();
  }

  /** The oldest live entry. */
  oldest(): V | undefined {
    this.skipStale();
    return this.head < this.values.length ? this.values[this.head] : undefined;
  }

  /** Drop the oldest live entry. */
  shift(): void {
    this.skipStale();
    if (this.head < this.keys.length) this.pop();
  }

  clear(): void {
    this.map.clear();
    this.keys = [];
    this.values = [];
    this.head = 0;
  }

  /** Remove the queue's head; true when it was a live entry. */
  private pop(): boolean {
    const k = this.keys[this.head]!;
    const v = this.values[this.head]!;
    this.head++;
    const live = this.map.get(k) === v;
    if (live) this.map.delete(k);
    this.compact();
    return live;
  }

  private skipStale(): void {
    while (this.head < this.keys.length && this.map.get(this.keys[this.head]!) !== this.values[this.head]) this.head++;
    this.compact();
  }

  /** Keep the queue's dead prefix from growing without bound. */
  private compact(): void {
    if (this.head === this.keys.length) {
      this.keys = [];
      this.values = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}
