/**
 * Requests a kernel backend has sent and not yet had answered, by sequence number (netlink
 * `nlmsg_seq`, PF_KEY `sadb_msg_seq`). Each has a deadline: a kernel that does not answer fails the
 * request with ETIMEDOUT instead of leaving the caller waiting for ever. Multi-part answers (dumps)
 * collect their parts in the entry until the last one arrives.
 */
import { refClock, type TimerHandle } from "../clock.js";
import { kernelError } from "./errors.js";
import type { KernelError } from "../errors.js";

/** One outstanding request. */
export interface Pending<T, P> {
  readonly seq: number;
  /** What was asked, for messages. */
  readonly what: string;
  /** Parts of a multi-part answer received so far. */
  readonly parts: P[];
  resolve(value: T): void;
  reject(err: KernelError): void;
}

/** The table of outstanding requests of one backend. */
export class PendingRequests<T, P> {
  readonly #map = new Map<number, Pending<T, P> & { timer: TimerHandle }>();
  #nextSeq: number;

  /** `firstSeq` lets two backends in one process (or a restart) use distinct numbers. */
  constructor(firstSeq = 1) {
    this.#nextSeq = firstSeq >>> 0 || 1;
  }

  get size(): number {
    return this.#map.size;
  }

  /** A fresh sequence number (never 0: the kernel's own messages carry 0). */
  nextSeq(): number {
    const seq = this.#nextSeq;
    this.#nextSeq = (this.#nextSeq + 1) >>> 0 || 1;
    return seq;
  }

  /** Registers a request sent with `seq`; the promise settles with its answer or its deadline. */
  add(seq: number, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = refClock.setTimer(() => {
        this.#map.delete(seq);
        reject(kernelError("IKE_ERR_KERNEL_ETIMEDOUT", `${what}: no answer from the kernel in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        refClock.clearTimer(timer);
        this.#map.delete(seq);
      };
      this.#map.set(seq, {
        seq,
        what,
        parts: [],
        timer,
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
    });
  }

  get(seq: number): Pending<T, P> | undefined {
    return this.#map.get(seq);
  }

  /** Fails every outstanding request (the backend is closing). */
  rejectAll(err: KernelError): void {
    for (const p of [...this.#map.values()]) p.reject(err);
  }
}
