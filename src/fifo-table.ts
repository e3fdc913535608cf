/**
 * A map with a bound on its entries where the oldest entry goes first: the shape of every table a
 * flood fills (embryonic exchanges, per-address byte accounts, the ldap_server cache). A plain
 * `Map` keeps insertion order, but finding its oldest entry after many deletions walks over the
 * holes they left (V8 compacts only on rehash), which made eviction the most expensive step of
 * answering an MM1; here the insertion order is a separate queue, so eviction and expiry cost O(1)
 * each.
 *
 * A table whose entries differ in size can also be bounded by their total weight (bytes, say): the
 * oldest entries go first until both bounds hold.
 */

/** Entries by key, oldest first out. */
export class FifoTable<V> {
  /** The live entries, each with the number of its place in the queue and its weight (weighed once). */
  private readonly map = new Map<string, { readonly value: V; readonly seq: number; readonly weight: number }>();
  /**
   * Insertion order, as keys and place numbers; a place whose key now maps to another place (or to
   * nothing) is stale and skipped. The queue holds no values, so an entry that was deleted, evicted
   * or replaced is garbage at once, not when the queue's head passes it.
   */
  private keys: string[] = [];
  private seqs: number[] = [];
  private head = 0;
  private nextSeq = 0;
  private total = 0;

  /**
   * @param capacity most entries held
   * @param maxWeight most total weight held (`weigh` of every live entry); an entry heavier than
   *   this alone is not held at all, and pushes nothing out
   * @param weigh an entry's weight (none: every entry weighs 0), taken once when the entry is added:
   *   a value must not change its weight while held (replace it with `add` instead)
   */
  constructor(
    readonly capacity: number,
    readonly maxWeight = Infinity,
    private readonly weigh: (value: V) => number = () => 0,
  ) {}

  /** Live entries. */
  get size(): number {
    return this.map.size;
  }

  /** The total weight of the live entries. */
  get weight(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /**
   * Hold `value` under `key` as the newest entry; the oldest ones go past the capacity. Returns how
   * many went. A value heavier than the whole weight bound is not held (and what `key` held goes):
   * it would push every other entry out and then itself.
   */
  add(key: string, value: V): number {
    const weight = this.weigh(value);
    if (weight > this.maxWeight) {
      this.delete(key);
      return 0;
    }
    const old = this.map.get(key);
    if (old !== undefined) this.total -= old.weight;
    const seq = this.nextSeq++;
    this.map.set(key, { value, seq, weight });
    this.total += weight;
    this.keys.push(key);
    this.seqs.push(seq);
    let evicted = 0;
    while ((this.map.size > this.capacity || this.total > this.maxWeight) && this.head < this.keys.length) {
      if (this.pop()) evicted++;
    }
    this.skipStale();
    return evicted;
  }

  /** Forget `key`. */
  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.total -= old.weight;
    this.map.delete(key);
    this.skipStale();
  }

  /** The oldest live entry. */
  oldest(): V | undefined {
    this.skipStale();
    return this.head < this.keys.length ? this.map.get(this.keys[this.head]!)!.value : undefined;
  }

  /** Drop the oldest live entry. */
  shift(): void {
    this.skipStale();
    if (this.head < this.keys.length) this.pop();
  }

  clear(): void {
    this.total = 0;
    this.map.clear();
    this.keys = [];
    this.seqs = [];
    this.head = 0;
  }

  /** Remove the queue's head; true when it was a live entry. */
  private pop(): boolean {
    const k = this.keys[this.head]!;
    const e = this.map.get(k);
    const live = e !== undefined && e.seq === this.seqs[this.head];
    this.head++;
    if (live) {
      this.map.delete(k);
      this.total -= e.weight;
    }
    this.compact();
    return live;
  }

  private skipStale(): void {
    while (this.head < this.keys.length && this.map.get(this.keys[this.head]!)?.seq !== this.seqs[this.head]) this.head++;
    this.compact();
  }

  /** Keep the queue's dead prefix from growing without bound. */
  private compact(): void {
    if (this.head === this.keys.length) {
      this.keys = [];
      this.seqs = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }
}
