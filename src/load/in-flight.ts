/**
 * ikeload's negotiations in flight, by ISAKMP SA, without a long-lived `Map` or `Set`.
 *
 * At half of a responder's peak rate only a few negotiations are in flight, so a table of them goes
 * empty after nearly every negotiation, and V8 (Node 20) re-allocates a long-lived `Map`'s or
 * `Set`'s hash table in old space each time one does: ~150 B (Map) and ~120 B (Set) per
 * negotiation, which the generator's full GCs then collect (bench/handshake/README.md, "where
 * in.iked's old space per negotiation is allocated", and "2026-12-07 (late)"). Here the look-up is
 * a `WeakMap` (no old-space table re-allocated when it empties) and the entries are also linked in
 * a list, for the run's end, which gives up on those still in flight.
 */
import type { IsakmpSa } from "../ike/isakmp-sa.js";

interface Link<T> {
  readonly sa: IsakmpSa;
  readonly value: T;
  prev: Link<T> | undefined;
  next: Link<T> | undefined;
}

/** Values by ISAKMP SA, in insertion order. */
export class InFlight<T> {
  readonly #bySa = new WeakMap<IsakmpSa, Link<T>>();
  #head: Link<T> | undefined;
  #size = 0;

  /** How many are in flight. */
  get size(): number {
    return this.#size;
  }

  get(sa: IsakmpSa): T | undefined {
    return this.#bySa.get(sa)?.value;
  }

  /** Add `sa` (replacing what it had). */
  set(sa: IsakmpSa, value: T): void {
    this.delete(sa);
    const link: Link<T> = { sa, value, prev: undefined, next: this.#head };
    if (this.#head !== undefined) this.#head.prev = link;
    this.#head = link;
    this.#bySa.set(sa, link);
    this.#size++;
  }

  /** Remove `sa`; false when it was not in flight. */
  delete(sa: IsakmpSa): boolean {
    const link = this.#bySa.get(sa);
    if (link === undefined) return false;
    this.#bySa.delete(sa);
    if (link.prev !== undefined) link.prev.next = link.next;
    else this.#head = link.next;
    if (link.next !== undefined) link.next.prev = link.prev;
    this.#size--;
    return true;
  }

  /** Remove every entry and return the SAs, oldest first. */
  drain(): IsakmpSa[] {
    const out: IsakmpSa[] = [];
    for (let l = this.#head; l !== undefined; l = l.next) {
      out.push(l.sa);
      this.#bySa.delete(l.sa);
    }
    this.#head = undefined;
    this.#size = 0;
    return out.reverse();
  }
}
