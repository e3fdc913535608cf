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
  /** The kernel refused the caller's rights (not root, no CAP_NET_ADMIN). */
  IKE_ERR_KERNEL_EPERM: 1,
  /** The kernel ran out of memory for the request. */
  IKE_ERR_KERNEL_ENOMEM: 12,
  /** The kernel is busy with another request of this socket (a dump in progress). */
  IKE_ERR_KERNEL_EBUSY: 16,
  /** The kernel interface does not exist here (no AF_KEY, no NETLINK_XFRM). */
  IKE_ERR_KERNEL_EAFNOSUPPORT: 97,
  /** The kernel did not answer in time. */
  IKE_ERR_KERNEL_ETIMEDOUT: 110,
  /** Any other kernel errno, or an answer that does not parse; the message names it. */
  IKE_ERR_KERNEL_EIO: 5,
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

/** The code for an errno a kernel returned (netlink `nlmsgerr`, PF_KEY `sadb_msg_errno`). */
export function codeOfErrno(errno: number): KernelErrorCode {
  switch (errno) {
    case 2: // ENOENT: Linux answers it for an unknown SA or policy as often as ESRCH
    case 3:
      return "IKE_ERR_KERNEL_ESRCH";
    case 17:
      return "IKE_ERR_KERNEL_EEXIST";
    case 22:
      return "IKE_ERR_KERNEL_EINVAL";
    case 105:
      return "IKE_ERR_KERNEL_ENOBUFS";
    case 38: // ENOSYS: XFRM's "no such algorithm"
    case 93:
    case 94: // ESOCKTNOSUPPORT
    case 96: // EPFNOSUPPORT
      return "IKE_ERR_KERNEL_EPROTONOSUPPORT";
    case 1:
    case 13: // EACCES
      return "IKE_ERR_KERNEL_EPERM";
    case 12:
      return "IKE_ERR_KERNEL_ENOMEM";
    case 16:
      return "IKE_ERR_KERNEL_EBUSY";
    case 97:
      return "IKE_ERR_KERNEL_EAFNOSUPPORT";
    case 110:
      return "IKE_ERR_KERNEL_ETIMEDOUT";
    default:
      return "IKE_ERR_KERNEL_EIO";
  }
}

/** A `KernelError` for an errno the kernel returned to `what` (e.g. "XFRM_MSG_NEWSA esp 0x1000 to 192.0.2.2"). */
export function errnoError(errno: number, what: string): KernelError {
  return kernelError(codeOfErrno(errno), `${what}: kernel answered errno ${errno}${ERRNO_NAMES[errno] !== undefined ? ` (${ERRNO_NAMES[errno]})` : ""}`);
}

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 12: "ENOMEM", 13: "EACCES", 16: "EBUSY", 17: "EEXIST", 22: "EINVAL",
  38: "ENOSYS", 93: "EPROTONOSUPPORT", 94: "ESOCKTNOSUPPORT", 96: "EPFNOSUPPORT", 97: "EAFNOSUPPORT",
  105: "ENOBUFS", 110: "ETIMEDOUT",
};
