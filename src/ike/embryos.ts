/**
 * Embryonic Main Mode exchanges: MM1s we answered with MM2 whose sender has not yet shown that it
 * receives our packets (RFC 2408 section 2.5.3, anti-clogging: that proof is MM3 returning our
 * responder cookie). Until then a responder keeps no ISAKMP SA, no timer and no per-peer count, only
 * one compact record here, because MM3 does not repeat what HASH_I and HASH_R need from MM1 (SAi_b)
 * and a retransmitted MM1 must get the very same MM2.
 *
 * The table is one for all addresses (a flood spoofed from a peer's own address competes with
 * everyone's, never with that peer alone), bounded in entries and in the bytes of the messages they
 * hold (the oldest go first until both bounds hold: an MM1 may carry any number of proposals, VIDs
 * and notifies up to a 64 KiB datagram, so a count alone would not bound the memory) and in time
 * (an entry lives for seconds: an honest initiator sends MM3 one round trip and one DH computation
 * after MM2). A single clock timer, armed only while the table holds entries,
 * drops the expired ones. An evicted or expired entry costs an honest initiator nothing more than a
 * lost MM2 would: its retransmitted MM1 rebuilds the identical record (the responder cookie and
 * the choice are pure functions of MM1).
 */
import type { NattVersion } from "./natt.js";
import type { Clock, TimerHandle } from "../clock.js";
import { FifoTable } from "../fifo-table.js";
import type { P1Choice } from "./phase1/proposal.js";
import type { Endpoint } from "./transport.js";

/** One answered MM1, waiting for its MM3. */
export interface Embryo {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The ike.config rule label MM1 was answered under (the rule is looked up again at MM3). */
  readonly rule: string;
  readonly choice: P1Choice;
  /** MM1 as received (our copy): a retransmission is recognised byte for byte. */
  readonly mm1: Buffer;
  /** SAi_b: a view into `mm1`. */
  readonly saiB: Buffer;
  /** The MM2 we sent, sent again for a retransmitted MM1. */
  readonly mm2: Buffer;
  /** When it was made, on the engine clock. */
  readonly bornAt: number;
  /** The NAT-T version MM2 chose (RFC 3947 section 3.1), if any. */
  readonly natt?: NattVersion;
  /** MM1 carried the DPD vendor ID (RFC 3706). */
  readonly peerDpd: boolean;
}

/** Bounds of an {@link EmbryoTable}. */
export interface EmbryoLimits {
  /** Most entries held (default 8192). */
  readonly capacity: number;
  /** How long an entry waits for its MM3, ms (default 10 s). */
  readonly lifetimeMs: number;
  /** Most bytes of messages held, MM1 and MM2 of every entry together (default {@link DEFAULT_EMBRYO_BYTES}). */
  readonly bytes?: number;
}

/** The default bound on the messages' bytes: 4 MiB, room for 8192 entries whose MM1 and MM2 are 512 bytes together. */
export const DEFAULT_EMBRYO_BYTES = 4 * 1024 * 1024;

/**
 * The defaults. Besides its messages an entry costs ~1.6 KiB: 8192 MM1s of 200 bytes (MM2 84)
 * answered from as many addresses held 16.8 MiB, their amplification.ts address accounts (~0.2 KiB
 * each) included. So the table holds at most about 8192 x 1.6 KiB + 4 MiB = 17 MiB whatever the
 * MM1s' size; a flood of 64 KiB MM1s keeps 63 entries, ~5 MiB with 3000 address accounts.
 */
export const DEFAULT_EMBRYO_LIMITS: EmbryoLimits = { capacity: 8192, lifetimeMs: 10_000, bytes: DEFAULT_EMBRYO_BYTES };

/** What an entry counts against the table's byte bound: the messages it holds (`saiB` is a view into `mm1`). */
export function embryoBytes(e: Embryo): number {
  return e.mm1.length + e.mm2.length;
}

/** The key of an embryonic exchange: its cookie pair (the responder cookie binds the peer's address). */
export function embryoKey(icookie: Buffer, rcookie: Buffer): string {
  return icookie.toString("latin1") + rcookie.toString("latin1");
}

/** The embryonic exchanges of one engine. */
export class EmbryoTable {
  private readonly entries: FifoTable<Embryo>;
  private timer: TimerHandle | undefined;
  /** Entries dropped to make room, since the engine started. */
  evicted = 0;

  constructor(
    private readonly clock: Clock,
    readonly limits: EmbryoLimits = DEFAULT_EMBRYO_LIMITS,
  ) {
    this.entries = new FifoTable(limits.capacity, limits.bytes ?? DEFAULT_EMBRYO_BYTES, embryoBytes);
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes of messages held ({@link embryoBytes} of every entry), at most `limits.bytes`. */
  get bytes(): number {
    return this.entries.weight;
  }

  /** The live entry under `key`, or undefined (an expired one is dropped on the way). */
  get(key: string): Embryo | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.clock.now() - e.bornAt < this.limits.lifetimeMs) return e;
    this.delete(key);
    return undefined;
  }

  /** Hold `e` under `key`, evicting the oldest entries when the table is full (in entries or bytes). */
  put(key: string, e: Embryo): void {
    this.evicted += this.entries.add(key, e);
    if (this.timer === undefined) this.arm();
  }

  /** Forget `key` (its MM3 came, or its record can no longer be used). */
  delete(key: string): void {
    this.entries.delete(key);
    if (this.entries.size === 0) this.disarm();
  }

  /** Forget everything and stop the timer (engine closed). */
  clear(): void {
    this.entries.clear();
    this.disarm();
  }

  private arm(): void {
    const oldest = this.entries.oldest();
    if (oldest === undefined) return;
    const wait = Math.max(0, oldest.bornAt + this.limits.lifetimeMs - this.clock.now());
    this.timer = this.clock.setTimer(() => this.sweep(), wait);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Drop the expired entries (the oldest first: insertion order is age order), re-arm for the next. */
  private sweep(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let e = this.entries.oldest(); e !== undefined && now - e.bornAt >= this.limits.lifetimeMs; e = this.entries.oldest()) this.entries.shift();
    if (this.entries.size > 0) this.arm();
  }
}
