/**
 * How much traffic one IPsec SA carried, as the kernel counts it (`SADB_EXT_LIFETIME_CURRENT`,
 * XFRM's `curlft`): the one place the engine reads those counters (Dead Peer Detection's inbound
 * traffic, the user-space idle lifetime of idle-sas.ts).
 *
 * Only the kernel's "no such SA" (ESRCH, and ENOENT, which Linux answers as often: see
 * src/kernel/errors.ts) means the SA is gone. Any other error (a timeout, ENOBUFS, a busy socket)
 * says nothing about the SA: the caller skips this look and asks again at the next one.
 */
import type { Kernel, SaProto } from "../kernel/kernel.js";
import type { IkeLog } from "./log.js";

/** Bytes plus packets the kernel counted on the SA; `gone`: the kernel has no such SA; `unknown`: it could not say. */
export type SaUse = number | "gone" | "unknown";

/** The use of one SA; an error other than "no such SA" is logged and read as `unknown`. */
export async function saUse(kernel: Kernel, log: IkeLog, src: string, dst: string, proto: SaProto, spi: number): Promise<SaUse> {
  try {
    const info = await kernel.get(src, dst, proto, spi);
    return info.counters.bytes + info.counters.packets;
  } catch (err) {
    if ((err as { code?: unknown }).code === "IKE_ERR_KERNEL_ESRCH") return "gone";
    log.warn({ src, dst, proto, spi: spi.toString(16).padStart(8, "0"), err: (err as Error).message }, "kernel could not report an IPsec SA's traffic: this look is skipped");
    return "unknown";
  }
}
