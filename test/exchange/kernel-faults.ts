/**
 * A kernel that fails for a while: the next `n` `get` calls of an in-memory kernel throw a
 * transient kernel error (a timeout, ENOBUFS) instead of answering; later calls answer again.
 */
import { kernelError, type KernelErrorCode } from "../../src/kernel/errors.js";
import type { Kernel } from "../../src/kernel/kernel.js";

/** Makes the next `n` `kernel.get` calls fail with `code`; `failed()` counts those that did. */
export function failGets(kernel: Kernel, n: number, code: KernelErrorCode = "IKE_ERR_KERNEL_ETIMEDOUT"): { failed: () => number } {
  const real = kernel.get.bind(kernel);
  let failed = 0;
  (kernel as { get: Kernel["get"] }).get = async (src, dst, proto, spi, options) => {
    if (failed < n) {
      failed++;
      throw kernelError(code, `GET ${proto} ${spi.toString(16)}: the kernel did not answer in time`);
    }
    return real(src, dst, proto, spi, options);
  };
  return { failed: () => failed };
}
