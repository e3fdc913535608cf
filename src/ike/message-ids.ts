/**
 * The message IDs an ISAKMP SA has used (RFC 2408 section 3.1: each Phase 2 exchange, Quick Mode
 * or Informational, has its own random message ID). A message with an ID the SA already used, for
 * an exchange that is over, is a replay: a retransmission of a live exchange's request is answered
 * from that exchange's reply cache before this is asked, so only finished exchanges land here.
 *
 * Bounded: the last {@link MESSAGE_ID_WINDOW} IDs, oldest forgotten first, in one typed array made
 * at the first use (an SA that never runs a Phase 2 exchange pays nothing). An ID older than the
 * window is accepted again; a replayed QM1 that old costs a GETSPI and a QM2 that goes unanswered
 * (QM3's HASH(3) covers our fresh Nr, which the replayer cannot have), a replayed Informational
 * acts on SAs that are long gone.
 */

/** How many message IDs an ISAKMP SA remembers (1 KiB per SA once used). */
export const MESSAGE_ID_WINDOW = 256;

/** The used message IDs of one ISAKMP SA. */
export class MessageIdWindow {
  private ids: Uint32Array | undefined;
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = MESSAGE_ID_WINDOW) {}

  /** Whether `messageId` was used (within the window). */
  has(messageId: number): boolean {
    const ids = this.ids;
    if (ids === undefined) return false;
    const mid = messageId >>> 0;
    for (let i = 0; i < this.count; i++) if (ids[i] === mid) return true;
    return false;
  }

  /** Remember `messageId` (once; the oldest goes when the window is full). */
  add(messageId: number): void {
    if (this.has(messageId)) return;
    const ids = (this.ids ??= new Uint32Array(this.capacity));
    ids[this.next] = messageId >>> 0;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** IDs remembered. */
  get size(): number {
    return this.count;
  }
}
