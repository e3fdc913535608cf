/**
 * The share of Diffie-Hellman work that exchanges with unverified peers may take. An Aggressive
 * Mode responder computes g^xy for AM2 before the initiator has shown it receives our packets
 * (RFC 2409 section 5.4: AM2 carries our KE and HASH_R), so a spoofed AM1 flood costs modular
 * exponentiations. Each such exchange holds one slot from AM1's admission until its first step
 * (the DH computation) is done or the exchange dies; AM1s beyond the slots are dropped unanswered
 * (a real initiator retransmits). With the slots at most half the pool's worker threads, the other
 * half keeps serving verified peers (Main Mode's MM3 from cookie-verified addresses, Quick Mode
 * PFS). The daemon sizes it from the pool and ike.config's `unverified_dh_share`.
 */

/** Slots when the engine is given none (the daemon always gives its own). */
export const DEFAULT_UNVERIFIED_DH_SLOTS = 8;

/** ike.config `unverified_dh_share` default: half the pool, in percent. */
export const DEFAULT_UNVERIFIED_DH_SHARE = 50;

/** The slots `sharePercent` of a pool with `threads` workers (0: inline, one at a time) allows; at least 1. */
export function unverifiedDhSlots(threads: number, sharePercent: number): number {
  return Math.max(1, Math.floor((Math.max(1, threads) * sharePercent) / 100));
}

/** DH computations in flight for unverified peers, bounded. */
export class DhBudget {
  private used = 0;
  /** AM1s dropped because every slot was taken, since the engine started. */
  refused = 0;

  constructor(private slots: number = DEFAULT_UNVERIFIED_DH_SLOTS) {}

  /** Slots taken now. */
  get inUse(): number {
    return this.used;
  }

  /** How many slots there are. */
  get capacity(): number {
    return this.slots;
  }

  /** Change the number of slots (a reload); slots already taken stay taken until released. */
  resize(slots: number): void {
    this.slots = Math.max(1, Math.floor(slots));
  }

  /** Take a slot: its release function (idempotent), or undefined when none is free. */
  take(): (() => void) | undefined {
    if (this.used >= this.slots) {
      this.refused++;
      return undefined;
    }
    this.used++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.used--;
    };
  }
}
