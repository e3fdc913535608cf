/**
 * Kernel messages and errors, counted at the `Kernel` interface (src/kernel/kernel.ts), so every
 * backend (XFRM, PF_KEY, the in-memory SADB) is counted alike and nothing in src/kernel changes:
 *
 * - requests the daemon makes (GETSPI, UPDATE, ADD, DELETE, GET, FLUSH, DUMP, REGISTER, in PF_KEY's
 *   words whatever the backend speaks underneath) and, when one fails, its `IKE_ERR_KERNEL_*` code;
 * - messages the kernel sends unasked (ACQUIRE, EXPIRE soft and hard, DELETE and FLUSH by others);
 * - events lost (the event socket overran or failed), and the resyncs that repaired them or, with
 *   PF_KEY, ran periodically (src/kernel/resync.ts, heard on its diagnostics channel): done or
 *   failed, SAs removed, rekeys.
 *
 * {@link instrumentKernel} wraps the request methods of the kernel object in place (the object, its
 * class and its other members stay as they are, so code holding the backend's own type still works)
 * and listens to its events. Labels are fixed words: never an address or an SPI.
 */
import { kernelResync } from "../kernel/channels.js";
import type { Kernel, LostEvent } from "../kernel/kernel.js";
import type { ResyncPublished } from "../kernel/resync.js";

/** The request methods of `Kernel` and the PF_KEY message each one is. */
const REQUESTS = {
  getSpi: "GETSPI",
  update: "UPDATE",
  add: "ADD",
  delete: "DELETE",
  get: "GET",
  flush: "FLUSH",
  dump: "DUMP",
  register: "REGISTER",
} as const satisfies Partial<Record<keyof Kernel, string>>;

/** Messages the kernel sends unasked. */
export type KernelEventType = "ACQUIRE" | "EXPIRE_SOFT" | "EXPIRE_HARD" | "DELETE" | "FLUSH";

/** Counters of one kernel backend. */
export class KernelCounters {
  /** Requests sent, by message type. */
  readonly sent = new Map<string, number>();
  /** Failed requests, by `type error-code`. */
  readonly errors = new Map<string, { type: string; error: string; count: number }>();
  /** Messages received unasked, by type. */
  readonly received = new Map<KernelEventType, number>();
  /** Lost-event notices, by cause. */
  readonly lost = new Map<LostEvent["cause"], number>();
  /** Resyncs (after lost events, or periodic), and what they did. */
  readonly resyncs = { done: 0, failed: 0, removed: 0, rekeyed: 0 };

  constructor(readonly backend: string) {}

  request(type: string): void {
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1);
  }

  failed(type: string, err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    // Kernel errors carry one of the fixed IKE_ERR_KERNEL_* codes; anything else is one label.
    const error = typeof code === "string" && code.startsWith("IKE_ERR_KERNEL_") ? code.slice("IKE_ERR_KERNEL_".length) : "OTHER";
    const key = `${type} ${error}`;
    const e = this.errors.get(key);
    if (e !== undefined) e.count++;
    else this.errors.set(key, { type, error, count: 1 });
  }

  event(type: KernelEventType): void {
    this.received.set(type, (this.received.get(type) ?? 0) + 1);
  }

  resync(r: ResyncPublished["report"]): void {
    if (r.error !== undefined) this.resyncs.failed++;
    else this.resyncs.done++;
    this.resyncs.removed += r.removed;
    this.resyncs.rekeyed += r.rekeyed;
  }

  /** Plain copy for `ikeadm get stats --json`. */
  toJSON(): {
    backend: string;
    sent: Record<string, number>;
    received: Record<string, number>;
    errors: { type: string; error: string; count: number }[];
    lost: Record<string, number>;
    resyncs: { done: number; failed: number; removed: number; rekeyed: number };
  } {
    return {
      backend: this.backend,
      sent: Object.fromEntries(this.sent),
      received: Object.fromEntries(this.received),
      errors: [...this.errors.values()].map((e) => ({ ...e })),
      lost: Object.fromEntries(this.lost),
      resyncs: { ...this.resyncs },
    };
  }
}

/**
 * Count `kernel`'s requests and events into `counters` from now on. Returns a function that puts
 * the original methods back and stops listening.
 */
export function instrumentKernel(kernel: Kernel, counters: KernelCounters): () => void {
  const k = kernel as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const own = new Map<string, PropertyDescriptor | undefined>();
  for (const [method, type] of Object.entries(REQUESTS)) {
    const original = k[method];
    if (typeof original !== "function") continue;
    own.set(method, Object.getOwnPropertyDescriptor(kernel, method));
    k[method] = function counted(...args: unknown[]): Promise<unknown> {
      counters.request(type);
      let p: Promise<unknown>;
      try {
        p = original.apply(kernel, args);
      } catch (err) {
        counters.failed(type, err);
        throw err;
      }
      return p.catch((err: unknown) => {
        counters.failed(type, err);
        throw err;
      });
    };
  }
  const onAcquire = () => counters.event("ACQUIRE");
  const onExpire = (ev: { kind: "soft" | "hard" }) => counters.event(ev.kind === "soft" ? "EXPIRE_SOFT" : "EXPIRE_HARD");
  const onDelete = () => counters.event("DELETE");
  const onFlush = () => counters.event("FLUSH");
  const onLost = (ev: LostEvent) => counters.lost.set(ev.cause, (counters.lost.get(ev.cause) ?? 0) + 1);
  const onResync = (msg: unknown) => {
    const m = msg as ResyncPublished;
    if (m.kernel === kernel) counters.resync(m.report);
  };
  kernel.on("acquire", onAcquire).on("expire", onExpire).on("delete", onDelete).on("flush", onFlush).on("lost", onLost);
  kernelResync.subscribe(onResync);
  return () => {
    kernel.off("acquire", onAcquire).off("expire", onExpire).off("delete", onDelete).off("flush", onFlush).off("lost", onLost);
    kernelResync.unsubscribe(onResync);
    for (const [method, desc] of own) {
      if (desc === undefined) delete k[method];
      else Object.defineProperty(kernel, method, desc);
    }
  };
}
