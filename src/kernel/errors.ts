/**
 * Kernel error codes. Each mirrors the errno a PF_KEY kernel returns in `sadb_msg_errno` for the same
 * failure (RFC 2367 §1.8), so a PF_KEY or XFRM backend maps its errno straight to one of these.
 */
import { KernelError } from "../errors.js";

/** Stable `IKE_ERR_KERNEL_*` codes with the errno each one mirrors. */
export const KernelErrno = {
  /** No such SA (DELETE/GET/UPDATE of an unknown SPI). */
  IKE_ERR_KERNEL_ESRCH: 3,
  /** The SA already exists (ADD of a used SPI). */
  IKE_ERR_KERNEL_EEXIST: 17,
  /** Malformed or inconsistent request (bad SPI, key length, lifetimes, addresses). */
  IKE_ERR_KERNEL_EINVAL: 22,
  /** No free SPI left in the requested range, or the SADB is full. */
  IKE_ERR_KERNEL_ENOBUFS: 105,
  /** Unsupported algorithm or protocol. */
  IKE_ERR_KERNEL_EPROTONOSUPPORT: 93,
  /** The backend is closed. */
  IKE_ERR_KERNEL_ESHUTDOWN: 108,
} as const;

/** One of the kernel error codes. */
export type KernelErrorCode = keyof typeof KernelErrno;

/** Builds a `KernelError` with one of the codes above. Messages name SAs, never keys. */
export function kernelError(code: KernelErrorCode, message: string): KernelError {
  return new KernelError(code, message);
}

/** Whether a string is one of the kernel error codes (for messages crossing a channel). */
export function isKernelErrorCode(code: string): code is KernelErrorCode {
  return Object.hasOwn(KernelErrno, code);
}
