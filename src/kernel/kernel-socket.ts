/**
 * A kernel key-management socket (native addon) as the backends use it: one datagram in, one
 * callback out, and the errors the addon reports mapped to kernel error codes. The backends own the
 * message formats; this only moves bytes.
 */
import { loadNative, type KernelSocketHandle, type KernelSocketKind, type NativeAddon, type NativeSocketError } from "../../native/index.js";
import { InvariantError, KernelError } from "../errors.js";
import { codeOfErrno, kernelError } from "./errors.js";

/** Where a backend opens its sockets. */
export interface KernelSocketOptions {
  /** Network namespace path (`/run/netns/NAME`); default: the process's own. */
  netns?: string;
  /** The addon to use (tests); default: the built one. */
  native?: NativeAddon;
}

/** Receives every datagram, or an error from the addon (overrun, foreign sender ...). */
export type DatagramListener = (datagram: Buffer | null, err: NativeSocketError | null) => void;

/** One open kernel socket. */
export class KernelSocket {
  readonly kind: KernelSocketKind;
  readonly #native: NativeAddon;
  readonly #handle: KernelSocketHandle;
  #closed = false;

  private constructor(kind: KernelSocketKind, native: NativeAddon, handle: KernelSocketHandle) {
    this.kind = kind;
    this.#native = native;
    this.#handle = handle;
  }

  /**
   * Opens a socket. Fails with IKE_ERR_KERNEL_EAFNOSUPPORT when this kernel has no such interface,
   * IKE_ERR_KERNEL_EPERM without the rights, IKE_ERR_KERNEL_EIO when the addon is not built.
   */
  static open(kind: KernelSocketKind, listener: DatagramListener, options: KernelSocketOptions & { groups?: number[]; rcvbuf?: number } = {}): KernelSocket {
    let native: NativeAddon;
    try {
      native = options.native ?? loadNative();
    } catch (err) {
      throw new KernelError("IKE_ERR_KERNEL_EIO", (err as Error).message, { cause: err });
    }
    const opts: { groups?: number[]; netns?: string; rcvbuf?: number } = {};
    if (options.groups !== undefined) opts.groups = options.groups;
    if (options.netns !== undefined) opts.netns = options.netns;
    if (options.rcvbuf !== undefined) opts.rcvbuf = options.rcvbuf;
    try {
      const handle = native.openKernelSocket(kind, (err, msg) => onDatagram(kind, listener, msg, err), opts);
      return new KernelSocket(kind, native, handle);
    } catch (err) {
      throw nativeError(err, `open ${kind} socket`);
    }
  }

  /** The netlink port id (the `nlmsg_pid` of the kernel's answers to us); 0 for PF_KEY. */
  get portId(): number {
    return this.#native.kernelSocketPortId(this.#handle);
  }

  /** Sends one message; throws a KernelError (ENOBUFS, ESHUTDOWN ...). */
  send(msg: Uint8Array): void {
    if (this.#closed) throw kernelError("IKE_ERR_KERNEL_ESHUTDOWN", `${this.kind} socket closed`);
    try {
      this.#native.kernelSocketSend(this.#handle, msg);
    } catch (err) {
      throw nativeError(err, `send to ${this.kind}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.kernelSocketClose(this.#handle);
  }
}

/** An addon error as a KernelError with the errno's code. */
export function nativeError(err: unknown, what: string): KernelError {
  const e = err as NativeSocketError;
  if (typeof e?.errno === "number") {
    const code = e.errno === 97 || (e.errno === 93 && e.syscall === "socket") ? "IKE_ERR_KERNEL_EAFNOSUPPORT" : codeOfErrno(e.errno);
    return new KernelError(code, `${what}: ${e.message}`, { cause: err });
  }
  return new KernelError("IKE_ERR_KERNEL_EIO", `${what}: ${e?.message ?? String(err)}`, { cause: err });
}

/**
 * Hands the addon's callback to the listener. A socket the addon gave up for good
 * (`IKE_ERR_NATIVE_SOCKET_STOPPED`, native/src/ksock.c) would leave the daemon deaf to the kernel
 * (no events, and with PF_KEY or the XFRM request socket no answers) while it looks healthy: after
 * the listener has heard it (logged as lost events), an InvariantError reaches the process's
 * uncaught-exception handler, where the daemon's crash policy stops it cleanly (exit 70, in.iked(8)),
 * so that the service manager restarts it with fresh sockets.
 */
function onDatagram(kind: KernelSocketKind, listener: DatagramListener, msg: Buffer | null, err: NativeSocketError | null): void {
  listener(msg, err);
  if (err?.code === "IKE_ERR_NATIVE_SOCKET_STOPPED") throw new InvariantError(`${kind} kernel socket stopped for good: ${err.message}`);
}
