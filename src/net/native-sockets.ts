/**
 * The native addon's part of a {@link UdpTransport}: the IKE port's steered pair (`openPair`,
 * native/src/udp-bypass.c), read with recvmmsg and written with sendmmsg (`batch`,
 * src/net/udp-batch.ts), and SO_REUSEADDR cleared on a descriptor dgram adopted (`adopted`).
 * `bypass` adds the per-socket IPsec bypass policy, which only a real kernel has.
 *
 * The daemon (src/daemon/kernel-backend.ts) and ikeload (src/load/runner.ts) open their sockets
 * alike through it; without the addon ({@link tryNativeSocketOptions}) dgram's own sockets serve.
 */
import net from "node:net";
import { loadNative, type NativeAddon } from "../../native/index.js";
import type { UdpTransportOptions } from "./udp-transport.js";

/** What the addon adds to {@link UdpTransportOptions}. */
export type NativeSocketOptions = Pick<UdpTransportOptions, "openPair" | "adopted" | "batch">;

/** The pair, the batch reader and the SO_REUSEADDR fix from `native`. */
export function nativeSocketOptions(native: NativeAddon, bypass: boolean): NativeSocketOptions {
  return {
    batch: native,
    openPair: (address, port, reuseAddr) => native.udpSocketPair(net.isIPv6(address) ? 6 : 4, address, port, { bypass, reuseAddr }),
    // SO_REUSEADDR only on privileged ports, so no local user can bind our address and port
    // (src/net/udp-transport.ts).
    adopted: (fd) => native.clearReuseAddr(fd),
  };
}

/** {@link nativeSocketOptions} without a bypass, or none when the addon is not built. */
export function tryNativeSocketOptions(): NativeSocketOptions {
  try {
    return nativeSocketOptions(loadNative(), false);
  } catch {
    return {}; // no addon: dgram's own sockets, one per port
  }
}
