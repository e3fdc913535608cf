/**
 * Opening the real kernel's key-management interface: `--kernel xfrm`, `pfkey` or `auto` (XFRM
 * netlink where the kernel has it, else PF_KEY). When neither opens, the error says why for each;
 * nothing here ever falls back to the in-memory SADB, which only `--kernel memory` asks for.
 */
import { KernelError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { KernelSocketOptions } from "./kernel-socket.js";
import { PfkeyKernel } from "./pfkey/pfkey-kernel.js";
import { XfrmKernel } from "./xfrm/xfrm-kernel.js";

/** Which backend to open. */
export type KernelKind = "xfrm" | "pfkey" | "auto";

/** A real-kernel backend. */
export type RealKernel = XfrmKernel | PfkeyKernel;

/** Settings passed to the backend. */
export interface OpenKernelOptions extends KernelSocketOptions {
  log?: Logger;
  timeoutMs?: number;
}

/** Opens a backend; throws a KernelError naming each interface's failure. */
export async function openKernel(kind: KernelKind, options: OpenKernelOptions = {}): Promise<RealKernel> {
  switch (kind) {
    case "xfrm":
      return XfrmKernel.open(options);
    case "pfkey":
      return new PfkeyKernel(options);
    case "auto": {
      let xfrmError: KernelError;
      try {
        return await XfrmKernel.open(options);
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        xfrmError = err;
      }
      try {
        const k = new PfkeyKernel(options);
        options.log?.info("XFRM netlink unavailable; using PF_KEY", { reason: xfrmError.message });
        return k;
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        throw new KernelError(xfrmError.code, `no kernel key-management interface: XFRM netlink: ${xfrmError.message}; PF_KEY: ${err.message}`, { cause: err });
      }
    }
    default: {
      const never: never = kind;
      throw new KernelError("IKE_ERR_KERNEL_EINVAL", `unknown kernel backend ${String(never)}`);
    }
  }
}
