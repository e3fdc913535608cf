/**
 * Option, request and report shapes of the in-memory SADB (`MemoryKernel`), apart so memory.ts stays
 * about the SADB's behaviour.
 */
import type { Clock } from "../clock.js";
import type { KeyAllocator } from "./secure-keys.js";

/** Settings of the in-memory SADB. */
export interface MemoryKernelOptions {
  /** Time source and timers; `ManualClock` in tests. */
  clock?: Clock;
  /** Key storage; defaults to a private `SecureKeyStore` (destroyed by `close()`). */
  keys?: KeyAllocator;
  /** Life of a larval SA that is never updated, like Linux `xfrm_acq_expires` (default 30 s). */
  larvalSeconds?: number;
  /** How long an ACQUIRE stays pending, suppressing duplicates for the same flow (default 30 s). */
  acquireSeconds?: number;
  /** Most SAs held at once; beyond it GETSPI/ADD fail with ENOBUFS (default 1,000,000). */
  maxSas?: number;
  /**
   * Whether it keeps idle lifetimes itself (default true). False makes it a Linux kernel in this
   * respect: `idleSeconds` is stored but never expires anything, and `enforcesIdle` is false, so
   * the engine's own idle watch runs (its tests).
   */
  idleLifetimes?: boolean;
}

/** Entry counts of the in-memory SADB's internal tables (`debugSizes()`), for leak checks. */
export interface MemoryKernelSizes {
  /** SAs by (proto, spi, dst). */
  sas: number;
  /** Distinct reqids (other than 0) of the SAs held, and the SAs that have one. */
  reqids: number;
  reqidSas: number;
  /** SAs in the deadline heap (one entry each, at its earliest deadline), and whether its clock timer is armed. */
  deadlines: number;
  timerArmed: boolean;
  /** Pending ACQUIREs by flow and by sequence number. */
  acquiresByFlow: number;
  acquiresBySeq: number;
  /** Protocols registered (bounded by the three protocols). */
  registered: number;
}

/** Traffic to account against an SA (`account()`). */
export interface Traffic {
  bytes: number;
  packets?: number;
  allocations?: number;
}
