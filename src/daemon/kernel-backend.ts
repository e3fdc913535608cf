/**
 * The daemon's kernel (`--kernel`), opened at start-up — wiring only:
 *
 * - `xfrm`, `pfkey`, `auto` (XFRM netlink where the kernel has it, else PF_KEY): the real kernel's
 *   key-management interface, through src/kernel/open.ts. If it cannot be opened, start-up fails
 *   and says why; there is never a silent fallback to the in-memory SADB. Its IKE sockets are made
 *   by the native addon with a per-socket IPsec bypass, so no policy catches IKE itself, and with
 *   ESP-in-UDP decapsulation on the NAT-T port (RFC 3948).
 * - `memory`: the in-memory SADB, only when asked for (tests, `npm start`, hosts without IPsec).
 *   Its IKE port still gets the native addon's steered pair when the addon loads (no bypass
 *   policy: there is no IPsec to bypass), else dgram's plain sockets.
 *
 * Either way the IKE port (not NAT-T) gets two sockets where the kernel allows: datagrams with a
 * responder cookie on a socket of their own, so an MM1 flood cannot crowd them out
 * (src/net/udp-transport.ts, native/src/udp-bypass.c), read and written in batches by the addon
 * (recvmmsg/sendmmsg, src/net/udp-batch.ts, native/src/udp-batch.c).
 */
import net from "node:net";
import { loadNative } from "../../native/index.js";
import { KernelError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import { MemoryKernel } from "../kernel/memory.js";
import { openKernel } from "../kernel/open.js";
import type { Logger } from "../log/logger.js";
import { nativeSocketOptions, tryNativeSocketOptions } from "../net/native-sockets.js";
import type { BatchIo } from "../net/udp-batch.js";
import type { KernelBackend } from "./options.js";

/** The backend actually in use, as `--help`, `ikeadm get stats` and `dump sadb` name it. */
export type BackendName = "xfrm" | "pfkey" | "memory";

/** An opened kernel, its name, and how its IKE sockets are made. */
export interface DaemonKernel {
  readonly kernel: Kernel;
  readonly name: BackendName;
  /** Makes a bound IKE (or, with `natt`, NAT-T) socket; absent for the in-memory SADB. */
  readonly openSocket?: (address: string, port: number, natt: boolean, reuseAddr: boolean) => number;
  /** Clears SO_REUSEADDR on a descriptor from `openSocket` once dgram has adopted it (UdpTransport's `adopted`). */
  readonly adopted?: (fd: number) => void;
  /** Makes the IKE port's steered pair (UdpTransport's `openPair`); absent without the native addon. */
  readonly openPair?: (address: string, port: number, reuseAddr: boolean) => readonly [number, number];
  /** Reads and writes the pair in batches (UdpTransport's `batch`); absent without the native addon. */
  readonly batch?: BatchIo;
}

/** Why the kernel could not be opened; `perm`: a missing right (run as root / CAP_NET_ADMIN). */
export type OpenFailure = { ok: false; message: string; perm: boolean };

/** Opens the kernel `--kernel` names. */
export async function openDaemonKernel(kind: KernelBackend, log: Logger): Promise<({ ok: true } & DaemonKernel) | OpenFailure> {
  if (kind === "memory") {
    // No addon (not built): dgram's own sockets, one per port; UdpTransport says nothing then.
    return { ok: true, kernel: new MemoryKernel(), name: "memory", ...tryNativeSocketOptions() };
  }
  let native: ReturnType<typeof loadNative>;
  try {
    native = loadNative();
  } catch (err) {
    return { ok: false, message: `--kernel ${kind} needs the native addon: ${(err as Error).message}`, perm: false };
  }
  try {
    const kernel = await openKernel(kind, { log });
    const openSocket = (address: string, port: number, natt: boolean, reuseAddr: boolean): number =>
      native.udpSocket(net.isIPv6(address) ? 6 : 4, address, port, { bypass: true, espInUdp: natt, reuseAddr });
    return { ok: true, kernel, name: kernel.kind, openSocket, ...nativeSocketOptions(native, true) };
  } catch (err) {
    const code = err instanceof KernelError ? err.code : (err as { code?: string }).code;
    return {
      ok: false,
      message: `cannot open the kernel's IPsec key-management interface (--kernel ${kind}): ${(err as Error).message}` +
        "; run as root on a kernel with XFRM or PF_KEY (modules xfrm_user or af_key), or start with --kernel memory to negotiate without protecting traffic",
      perm: code === "IKE_ERR_KERNEL_EPERM",
    };
  }
}

