/**
 * The message IDs an ISAKMP SA has used (RFC 2408 section 3.1: each Phase 2 exchange, Quick Mode
 * or Informational, has its own random message ID). A message with an ID the SA already used, for
 * an exchange that is over, is a replay: a retransmission of a live exchange's request is answered
 * from that exchange's reply cache before this is asked, so only finished exchanges land here.
 *
 * Every ID is remembered for the SA's whole life, not a recent window: a QM1 replayed after its ID
 * had left a window would decrypt and verify again, and the responder installs its outbound SA
 * before it sends QM2 (phase2/quick-mode.ts), so the replay would put in a fresh outbound SA the
 * real peer does not have, which the kernel prefers: traffic to the peer black-holed. The set is
 * kept sorted, made at the first use (an SA that never runs a Phase 2 exchange pays nothing): the
 * first ID as a plain number in the set itself (a held SA has usually used one: no array, where the
 * array of one was 56 bytes and a typed array with its buffer ~260), then up to {@link SMALL} IDs
 * in a plain array of exactly their number, beyond that in a typed array that doubles
 * as it fills, up to {@link MESSAGE_ID_LIMIT} IDs; an SA that has used that many accepts no more
 * exchanges (isakmp-sa.ts ends its lifetime then, and a new Phase 1 takes over).
 */

/** Most message IDs one ISAKMP SA remembers (4 bytes each: 256 KiB at most, reached by very few). */
export const MESSAGE_ID_LIMIT = 65_536;

/** Most IDs kept in a plain array; the typed array starts at twice this. */
const SMALL = 16;

/** The used message IDs of one ISAKMP SA. */
export class MessageIdSet {
  /**
   * Sorted: the one ID itself while there is one, a plain array while {@link SMALL} or fewer (each
   * insert makes a new one), then a typed one.
   */
  private ids: number | number[] | Uint32Array | undefined;
  private count = 0;

  constructor(private readonly limit = MESSAGE_ID_LIMIT) {}

  /** Whether `messageId` was used. */
  has(messageId: number): boolean {
    return this.find(messageId >>> 0) >= 0;
  }

  /** Remember `messageId`; true when it is remembered (now or before), false when the set is full. */
  add(messageId: number): boolean {
    const mid = messageId >>> 0;
    const at = this.find(mid);
    if (at >= 0) return true;
    if (this.count >= this.limit) return false;
    const pos = -at - 1;
    const ids = this.ids;
    if (ids === undefined) {
      this.ids = mid;
      this.count = 1;
      return true;
    }
    if (typeof ids === "number" || Array.isArray(ids)) {
      const small = typeof ids === "number" ? [ids] : ids;
      if (this.count < SMALL) {
        // A new array of exactly the new size (push or splice would leave spare capacity).
        this.ids = small.slice(0, pos).concat(mid, small.slice(pos));
        this.count++;
        return true;
      }
      const typed = new Uint32Array(Math.min(SMALL * 2, this.limit));
      typed.set(small);
      this.ids = typed;
    }
    let typed = this.ids as Uint32Array;
    if (this.count === typed.length) {
      const grown = new Uint32Array(Math.min(typed.length * 2, this.limit));
      grown.set(typed);
      typed = this.ids = grown;
    }
    typed.copyWithin(pos + 1, pos, this.count);
    typed[pos] = mid;
    this.count++;
    return true;
  }

  /** IDs remembered. */
  get size(): number {
    return this.count;
  }

  /** How the IDs are kept (for tests and memory checks): none yet, the one ID itself, a plain array, a typed one. */
  get storage(): "none" | "one" | "array" | "typed" {
    const ids = this.ids;
    return ids === undefined ? "none" : typeof ids === "number" ? "one" : Array.isArray(ids) ? "array" : "typed";
  }

  /** The index of `mid`, or -(insertion point) - 1 when it is absent (binary search). */
  private find(mid: number): number {
    const ids = this.ids;
    if (typeof ids === "number") return ids === mid ? 0 : ids < mid ? -2 : -1;
    let lo = 0;
    let hi = this.count - 1;
    while (ids !== undefined && lo <= hi) {
      const m = (lo + hi) >>> 1;
      const v = ids[m]!;
      if (v === mid) return m;
      if (v < mid) lo = m + 1;
      else hi = m - 1;
    }
    return -lo - 1;
  }
}
