/**
 * Anti-amplification: until an exchange's peer has shown that it receives what we send to its
 * address (by returning our responder cookie, RFC 2408 section 2.5.3), we send that address at most
 * {@link AMPLIFICATION_FACTOR} times the bytes it sent us, retransmissions included, so a spoofed
 * first message cannot turn us into a reflector (RFC 9000 section 8.1 uses the same bound for the
 * same reason). Answers to an unverified address that would break the bound are not sent; the
 * initiator, if it is real, retransmits, which raises its own budget.
 *
 * The accounting is per source address, in a bounded table (the oldest account goes first).
 * Losing an entry only makes us stricter: its address starts again from nothing received.
 */
import { FifoTable } from "../fifo-table.js";

/** How many bytes we may send an unverified address per byte it sent us. */
export const AMPLIFICATION_FACTOR = 3;

/** Addresses tracked at once (~100 bytes each). */
export const DEFAULT_AMPLIFICATION_ADDRESSES = 16_384;

interface Account {
  received: number;
  sent: number;
}

/** Bytes in and out per unverified address. */
export class AmplificationLimit {
  /** Oldest account first out. */
  private readonly accounts: FifoTable<Account>;

  constructor(
    capacity = DEFAULT_AMPLIFICATION_ADDRESSES,
    private readonly factor = AMPLIFICATION_FACTOR,
  ) {
    this.accounts = new FifoTable(capacity);
  }

  /** Addresses tracked. */
  get size(): number {
    return this.accounts.size;
  }

  /** `bytes` arrived from `address` for an exchange whose peer is not verified. */
  received(address: string, bytes: number): void {
    let a = this.accounts.get(address);
    if (a === undefined) this.accounts.add(address, (a = { received: 0, sent: 0 }));
    a.received += bytes;
  }

  /** Whether `bytes` may go to unverified `address` now; if so they are counted as sent. */
  allow(address: string, bytes: number): boolean {
    const a = this.accounts.get(address);
    if (a === undefined || a.sent + bytes > this.factor * a.received) return false;
    a.sent += bytes;
    return true;
  }
}
