/**
 * What the kernel tells the daemon unasked, handed to the IKE engine — wiring only:
 *
 *   ACQUIRE        the service's handler (IkeEngine.acquire, the one ACQUIRE path); when it starts
 *                  nothing, or the negotiation it started fails, the kernel gets the negative
 *                  answer where the interface has one (PF_KEY), so it stops holding the traffic
 *   EXPIRE         IkeEngine.expire: soft rekeys what we initiated, hard sends a Delete to the peer
 *   DELETE, FLUSH  by someone else: IkeEngine.kernelRemoved forgets those SAs and tells the peers
 *
 * Each event gets one log line (category `pfkey` at debug level, the engine's decisions at info).
 */
import type { AcquireEvent, DeleteEvent, ExpireEvent, FlushEvent, Kernel } from "../kernel/kernel.js";
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

/**
 * Connects the kernel's events to the engine; `acquire` is the service's ACQUIRE handler. Returns
 * the function that disconnects them.
 */
export function wireKernelEvents(kernel: Kernel, engine: IkeEngine, log: Logger, acquire: (ev: AcquireEvent) => void): () => void {
  const onExpire = (ev: ExpireEvent): void => {
    const what = engine.expire(ev);
    const fields = { kind: ev.kind, reason: ev.reason, proto: ev.sa.proto, spi: ev.sa.spi.toString(16), src: ev.sa.src, dst: ev.sa.dst, outcome: what };
    if (what === "ignored") log.debug("pfkey", "EXPIRE", fields);
    else log.info(what === "rekeying" ? "soft EXPIRE: renegotiating the IPsec SAs" : "hard EXPIRE: Delete sent to the peer", fields);
  };
  const onRemoved = (ev: DeleteEvent | FlushEvent): void => {
    const pairs = engine.kernelRemoved(ev);
    const fields = ev.type === "flush" ? { proto: ev.proto ?? "all", pairs } : { proto: ev.proto, spi: ev.spi.toString(16), src: ev.src, dst: ev.dst, pairs };
    if (pairs > 0) log.info(ev.type === "flush" ? "SAs flushed from the kernel by someone else: peers told" : "SA deleted from the kernel by someone else: peer told", fields);
    else log.debug("pfkey", `kernel ${ev.type} of SAs that are not ours`, fields);
  };
  const onFailed = (_sa: IsakmpSa, reason: string, request?: QuickModeRequest): void => {
    if (request?.seq !== undefined) rejectAcquire(kernel, log, request.seq, reason);
  };
  kernel.on("acquire", acquire);
  kernel.on("expire", onExpire);
  kernel.on("delete", onRemoved);
  kernel.on("flush", onRemoved);
  engine.on("phase2-failed", onFailed);
  return () => {
    kernel.off("acquire", acquire);
    kernel.off("expire", onExpire);
    kernel.off("delete", onRemoved);
    kernel.off("flush", onRemoved);
    engine.off("phase2-failed", onFailed);
  };
}
