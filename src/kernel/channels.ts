/**
 * Kernel events on `node:diagnostics_channel` (naming as in src/log/channels.ts), so tests and tools
 * can watch ACQUIRE and EXPIRE without holding the `Kernel` object, and the metrics can count
 * resyncs (resync.ts) without holding the daemon's wiring. Messages carry no key bytes.
 */
import diagnostics from "node:diagnostics_channel";

/** Every ACQUIRE a backend raises (`AcquireEvent`). */
export const kernelAcquire = diagnostics.channel("iked:kernel:acquire");
/** Every soft or hard EXPIRE a backend raises (`ExpireEvent`). */
export const kernelExpire = diagnostics.channel("iked:kernel:expire");
/** Every finished resync after lost events: `{ kernel, report }` (`ResyncPublished`, resync.ts). */
export const kernelResync = diagnostics.channel("iked:kernel:resync");
