/**
 * What the kernel codecs (PF_KEY and XFRM netlink) say about bytes they refuse: a value, never an
 * exception (STYLE §3.3). Kernel messages are hostile until parsed like any peer's: the backend logs
 * a refused message under the `pfkey` debug category and drops it.
 */
import { err, ok, type Result } from "../../codec/result.js";

export { err, ok, type Result };

/** Stable codes of refused kernel messages. */
export type KernelDecodeCode =
  /** A header, structure, extension or attribute runs past the bytes there are. */
  | "IKE_ERR_KMSG_TRUNCATED"
  /** A length field is too small, misaligned or disagrees with its content. */
  | "IKE_ERR_KMSG_LENGTH"
  /** PF_KEY version other than 2, or a reserved field that must be zero is not. */
  | "IKE_ERR_KMSG_VERSION"
  /** A message type this codec does not know. */
  | "IKE_ERR_KMSG_TYPE"
  /** An extension or attribute is unknown where that is not allowed, repeated, or of the wrong size. */
  | "IKE_ERR_KMSG_EXTENSION"
  /** A field holds a value that cannot be (unknown address family, unterminated name, key past its end). */
  | "IKE_ERR_KMSG_VALUE"
  /** An extension or attribute the message type needs is missing. */
  | "IKE_ERR_KMSG_MISSING";

/** A refused kernel message: the code, where in the datagram, and what was wrong (no key bytes). */
export interface KernelDecodeError {
  readonly code: KernelDecodeCode;
  readonly offset: number;
  readonly message: string;
}

/** Builds an error result. */
export function refuse(code: KernelDecodeCode, offset: number, message: string): { readonly ok: false; readonly error: KernelDecodeError } {
  return err({ code, offset, message });
}
