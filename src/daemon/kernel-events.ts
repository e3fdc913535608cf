/**
 * What the kernel tells the daemon unasked, handed to the IKE engine — wiring only:
 *
 *   ACQUIRE        the service's handler (IkeEngine.acquire, the one ACQUIRE path); when it starts
 *                  nothing, or the negotiation it started fails, the kernel gets the negative
 *                  answer where the interface has one (PF_KEY), so it stops holding the traffic
 *   EXPIRE         IkeEngine.expire: soft rekeys what we initiated, hard sends a Delete to the peer
 *   DELETE, FLUSH  by someone else: IkeEngine.kernelRemoved forgets those SAs and tells the peers
 *   lost events    (the event socket overran or failed) a resync (src/kernel/resync.ts): the SAs the
 *                  kernel dropped go the DELETE way, those past their soft lifetime the EXPIRE way;
 *                  a resync whose dump fails is tried again on the daemon's clock (1 s, doubling
 *                  up to a minute, until one succeeds)
 *
 * A backend that loses events without a "lost" event (`losesEventsSilently`: Linux PF_KEY drops
 * notices for a full receive queue and tells no one) also gets the resync every
 * {@link PERIODIC_RESYNC_MS}, skipped while one runs. A minute: a lost soft EXPIRE then delays the
 * rekey by at most that, well inside the soft-to-hard margin (10 % of the lifetime by default,
 * 6 minutes of an hour), and the peer of a pair whose DELETE or hard EXPIRE was lost is told
 * within a minute; the price is one SADB_DUMP a minute (one message per SA).
 *
 * Each event gets one log line (category `pfkey` at debug level, the engine's decisions at info);
 * each resync one at info (a warning when its dump failed), a periodic one that repaired nothing
 * (no pair missing, no rekey started) one at debug level.
 */
import { systemClock, type Clock, type TimerHandle } from "../clock.js";
import type { AcquireEvent, DeleteEvent, ExpireEvent, FlushEvent, Kernel, LostEvent } from "../kernel/kernel.js";
import { KernelResync, type ResyncReport } from "../kernel/resync.js";
import type { IkeEngine } from "../ike/engine.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { QuickModeRequest } from "../ike/phase2/quick-mode.js";
import type { Logger } from "../log/logger.js";

/** Sends PF_KEY's negative answer to ACQUIRE `seq`, where the kernel has one. */
export function rejectAcquire(kernel: Kernel, log: Logger, seq: number, why: string): void {
  if (kernel.rejectAcquire === undefined || seq <= 0) return;
  kernel.rejectAcquire(seq).then(
    () => log.debug("pfkey", "ACQUIRE answered negatively", { seq, why }),
    (err: Error) => log.debug("pfkey", "negative ACQUIRE answer failed", { seq, err: err.message }),
  );
}

/** How often a backend that loses events silently (PF_KEY) is resynced (see the file comment). */
export const PERIODIC_RESYNC_MS = 60_000;

/** The one log line of a resync. */
function logResync(log: Logger, r: ResyncReport): void {
  const fields = { causes: r.causes.join(","), kernelSas: r.kernelSas, heldPairs: r.held, missing: r.missing, removed: r.removed, softExpired: r.softExpired, rekeyed: r.rekeyed };
  const periodic = r.causes.every((c) => c === "periodic");
  if (r.error !== undefined) {
    const retry = r.retryMs !== undefined ? { retryInSeconds: r.retryMs / 1000 } : {};
    log.warn(`${periodic ? "periodic check of the kernel's SAs" : "kernel events lost"}: resync failed, the SA table is not reconciled yet; retrying`, { ...fields, error: r.error, ...retry });
  }
  else if (!periodic) log.info("kernel events lost: SA table resynchronised with the kernel", fields);
  // Only what the check repaired shows a loss: an SA past its soft lifetime whose rekey already
  // ran (the kernel's soft EXPIRE came; it stays in the dump until its hard lifetime) is no loss.
  else if (r.missing + r.rekeyed > 0) log.info("kernel events lost (found by the periodic check): SA table resynchronised with the kernel", fields);
  else log.debug("pfkey", "periodic check of the kernel's SAs: nothing lost", fields);
}

/** Options of {@link wireKernelEvents}. */
export interface KernelEventsOptions {
  /** The clock of the kernel's counters, for a resync's soft lifetimes (default Date.now). */
  readonly now?: () => number;
  /** Arms the periodic resync's timer and a failed resync's retry (default the system clock). */
  readonly clock?: Clock;
}

/**
 * Connects the kernel's events to the engine; `acquire` is the service's ACQUIRE handler. Returns
 * the function that disconnects them (and stops the periodic resync and a waiting retry).
 */
export function wireKernelEvents(kernel: Kernel, engine: IkeEngine, log: Logger, acquire: (ev: AcquireEvent) => void, opts: KernelEventsOptions = {}): () => void {
  const onExpire = (ev: ExpireEvent, via = "EXPIRE"): string => {
    const what = engine.expire(ev);
    const fields = { kind: ev.kind, reason: ev.reason, proto: ev.sa.proto, spi: ev.sa.spi.toString(16), src: ev.sa.src, dst: ev.sa.dst, outcome: what };
    if (what === "ignored") log.debug("pfkey", via, fields);
    else log.info(what === "rekeying" ? `soft ${via}: renegotiating the IPsec SAs` : `hard ${via}: Delete sent to the peer`, fields);
    return what;
  };
  const onRemoved = (ev: DeleteEvent | FlushEvent, via = "by someone else"): number => {
    const pairs = engine.kernelRemoved(ev);
    const fields = ev.type === "flush" ? { proto: ev.proto ?? "all", pairs } : { proto: ev.proto, spi: ev.spi.toString(16), src: ev.src, dst: ev.dst, pairs };
    if (pairs > 0) log.info(ev.type === "flush" ? `SAs flushed from the kernel ${via}: peers told` : `SA deleted from the kernel ${via}: peer told`, fields);
    else log.debug("pfkey", `kernel ${ev.type} of SAs that are not ours`, fields);
    return pairs;
  };
  const clock = opts.clock ?? systemClock;
  const resync = new KernelResync({
    kernel,
    held: () => engine.heldIpsecSas(),
    removed: (ev) => onRemoved(ev, "(found by a resync)"),
    softExpired: (ev) => onExpire(ev, "lifetime passed (found by a resync)") === "rekeying",
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    done: (r) => logResync(log, r),
    clock,
  });
  let timer: TimerHandle | undefined;
  const periodic = (): void => {
    timer = clock.setTimer(() => {
      // A resync under way (lost events, or the last check still dumping) covers this one.
      resync.requestIfIdle("periodic");
      periodic();
    }, PERIODIC_RESYNC_MS);
  };
  if (kernel.losesEventsSilently === true) periodic();
  const onLost = (ev: LostEvent): void => resync.request(ev.cause);
  const onFailed = (_sa: IsakmpSa, reason: string, request?: QuickModeRequest): void => {
    if (request?.seq !== undefined) rejectAcquire(kernel, log, request.seq, reason);
  };
  kernel.on("acquire", acquire);
  kernel.on("expire", onExpire);
  kernel.on("delete", onRemoved);
  kernel.on("flush", onRemoved);
  kernel.on("lost", onLost);
  engine.on("phase2-failed", onFailed);
  return () => {
    kernel.off("acquire", acquire);
    kernel.off("expire", onExpire);
    kernel.off("delete", onRemoved);
    kernel.off("flush", onRemoved);
    kernel.off("lost", onLost);
    if (timer !== undefined) clock.clearTimer(timer);
    timer = undefined;
    resync.close();
    engine.off("phase2-failed", onFailed);
  };
}
