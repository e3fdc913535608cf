/**
 * How much traffic one IPsec SA carried, as the kernel counts it (`SADB_EXT_LIFETIME_CURRENT`,
 * XFRM's `curlft`): the one place the engine reads those counters (Dead Peer Detection's inbound
 * traffic, the user-space idle lifetime of idle-sas.ts).
 */
import type { Kernel, SaProto } from "../kernel/kernel.js";

/** Bytes plus packets the kernel counted on the SA, or undefined when it no longer has it (or cannot say). */
export async function saUse(kernel: Kernel, src: string, dst: string, proto: SaProto, spi: number): Promise<number | undefined> {
  try {
    const info = await kernel.get(src, dst, proto, spi);
    return info.counters.bytes + info.counters.packets;
  } catch {
    return undefined;
  }
}
