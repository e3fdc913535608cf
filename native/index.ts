/**
 * Loader for the iked native addon (native/build/Release/iked_native.node).
 *
 * The addon holds the few calls Node.js lacks. If it is missing, `loadNative()` throws an error that
 * names the build command; callers that can run without it (tests, the CLI) use `tryLoadNative()`.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/**
 * An OpenSSL key held by the addon (an N-API external, type-tagged). It belongs to the thread that
 * loaded it and cannot be posted to another worker; the garbage collector frees it.
 */
export interface NativeKeyHandle {
  readonly __nativeKey: unique symbol;
}

/** What `keyInfo()` reports about a handle. */
export interface NativeKeyInfo {
  readonly type: "rsa" | "dsa" | "other";
  /** Modulus (RSA) or prime p (DSA) length in bits. */
  readonly bits: number;
  /** Maximum signature/ciphertext length in bytes as OpenSSL reports it. */
  readonly bytes: number;
}

/**
 * A kernel key-management socket held by the addon (an N-API external, type-tagged): PF_KEY v2,
 * NETLINK_XFRM or NETLINK_ROUTE, read through libuv's poll on the loop of the thread that opened it.
 * It belongs to that thread; close it with `kernelSocketClose` (the garbage collector or the
 * thread's exit closes it too).
 */
export interface KernelSocketHandle {
  readonly __kernelSocket: unique symbol;
}

/** An OpenSSL digest (EVP_MD) fetched once by name (`mdFetch`); the garbage collector frees it. */
export interface NativeDigestHandle {
  readonly __nativeDigest: unique symbol;
}

/** An OpenSSL cipher (EVP_CIPHER) fetched once by name (`cipherFetch`); the garbage collector frees it. */
export interface NativeCipherHandle {
  readonly __nativeCipher: unique symbol;
}

/** Which kernel interface a socket speaks. */
export type KernelSocketKind = "pfkey" | "xfrm" | "route";

/** Options of `openKernelSocket`. */
export interface KernelSocketOptions {
  /** Netlink multicast groups to join (group numbers, e.g. XFRMNLGRP_ACQUIRE = 1); not for PF_KEY. */
  groups?: number[];
  /** Open the socket inside the network namespace at this path (`/run/netns/NAME`). */
  netns?: string;
  /** Receive buffer in bytes (SO_RCVBUFFORCE, else SO_RCVBUF as far as allowed). */
  rcvbuf?: number;
}

/**
 * Called once per datagram read (`err` null, `msg` the whole datagram), or with an error and a null
 * message: `IKE_ERR_NATIVE_OVERRUN` (the kernel dropped messages: ENOBUFS), `IKE_ERR_NATIVE_TRUNCATED`,
 * `IKE_ERR_NATIVE_FOREIGN_SENDER` (a netlink datagram from a process, not the kernel: dropped),
 * `IKE_ERR_NATIVE_SOCKET` (events may be lost; reading goes on), or `IKE_ERR_NATIVE_SOCKET_STOPPED`
 * (the socket failed for good: its descriptor is no longer a socket, or POLLERR kept coming with
 * nothing to read; nothing more is read from it).
 */
export type KernelSocketListener = (err: NativeSocketError | null, msg: Buffer | null) => void;

/** An Error from a system call of the addon. */
export interface NativeSocketError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
}

/** The sockets of `udpBatchOpen`, held by the addon (an N-API external, type-tagged). */
export interface UdpBatchHandle {
  readonly __udpBatch: unique symbol;
}

/**
 * Called once per batch read: `count` datagrams of socket `sock` (0 or 1) are in the open's
 * `data`/`meta` (errno 0), valid until this returns; `count` -1: `sock` takes datagrams again after
 * `udpBatchSend` returned -EAGAIN; `count` 0 with an errno: recvmmsg failed (reading goes on).
 */
export type UdpBatchListener = (sock: number, count: number, errno: number) => void;

/** Options of `udpSocket`. */
export interface UdpSocketOptions {
  /** Per-socket IPsec bypass for both directions (default true). */
  bypass?: boolean;
  /** UDP_ENCAP_ESPINUDP: the kernel takes ESP-in-UDP (RFC 3948) off this socket (NAT-T port). */
  espInUdp?: boolean;
  /** SO_REUSEADDR before bind. */
  reuseAddr?: boolean;
  /** Make the socket inside the network namespace at this path. */
  netns?: string;
}

/**
 * Functions the addon exports. Key and argument errors throw an Error whose `code` is a stable
 * `IKE_ERR_*` string; src/crypto/pubkey.ts turns them into values.
 */
export interface NativeAddon {
  /** PR_SET_DUMPABLE 0 and RLIMIT_CORE 0; true on success. */
  disableCoreDumps(): boolean;
  /**
   * glibc `malloc_trim(0)`: the free pages inside malloc's arenas go back to the kernel. True when
   * memory was given back; false when none was, or when this is not glibc.
   */
  mallocTrim(): boolean;
  /**
   * A memory-reducing GC of the calling thread's V8 isolate (native/src/v8-heap.cc): `critical`
   * false starts one incrementally (MemoryPressureNotification kModerate), true runs one or two now,
   * atomically (kCritical). False when the thread has no isolate.
   */
  heapReduce(critical: boolean): boolean;
  /** PKCS#8 (or traditional) private key DER to a handle. */
  loadPrivateKey(der: Uint8Array): NativeKeyHandle;
  /** SubjectPublicKeyInfo DER to a handle. */
  loadPublicKey(der: Uint8Array): NativeKeyHandle;
  keyInfo(key: NativeKeyHandle): NativeKeyInfo;
  /** DSA signature over `digest` as given (no hashing), as r|s each padded to the length of q. */
  dsaSign(key: NativeKeyHandle, digest: Uint8Array): Buffer;
  /** True when r|s is a valid DSA signature over the raw `digest`. */
  dsaVerify(key: NativeKeyHandle, digest: Uint8Array, rs: Uint8Array): boolean;
  /**
   * RSA PKCS#1 v1.5 type-2 decryption with implicit rejection: a ciphertext with bad padding yields a
   * deterministic pseudo-random message instead of an error (see native/src/rsa-decrypt.c).
   */
  rsaDecryptPkcs1(key: NativeKeyHandle, ciphertext: Uint8Array): Buffer;
  /**
   * Opens a non-blocking kernel socket watched by the thread's event loop; `onEvent` gets every
   * datagram. Netlink sockets are bound (the kernel picks the port id) and send error ACKs without
   * the request's payload (NETLINK_CAP_ACK). Throws `IKE_ERR_NATIVE_SOCKET` with `errno`/`syscall`
   * (EAFNOSUPPORT when the kernel lacks AF_KEY, EPROTONOSUPPORT when it lacks NETLINK_XFRM).
   */
  openKernelSocket(kind: KernelSocketKind, onEvent: KernelSocketListener, options?: KernelSocketOptions): KernelSocketHandle;
  /** Sends one message to the kernel; throws `IKE_ERR_NATIVE_SOCKET` (e.g. ENOBUFS) or `IKE_ERR_NATIVE_CLOSED`. */
  kernelSocketSend(socket: KernelSocketHandle, msg: Uint8Array): void;
  /** The netlink port id of the socket (what the kernel puts in `nlmsg_pid` of replies); 0 for PF_KEY. */
  kernelSocketPortId(socket: KernelSocketHandle): number;
  /** Stops reading and closes the socket; calling it again does nothing. */
  kernelSocketClose(socket: KernelSocketHandle): void;
  /**
   * A bound UDP socket for IKE (IPv6 sockets are v6-only), with the IPsec bypass policy unless
   * `bypass: false`; returns its descriptor for `dgram.createSocket(type).bind({ fd })`.
   */
  udpSocket(family: 4 | 6, address: string, port: number, options?: UdpSocketOptions): number;
  /**
   * The IKE port's two sockets, one SO_REUSEPORT group on `address`:`port` (0: a free port, the
   * same for both) steered by a classic BPF program: datagrams whose ISAKMP responder cookie is
   * non-zero arrive on the second, all others on the first (native/src/udp-bypass.c). `espInUdp`
   * is ignored. Throws `IKE_ERR_NATIVE_SOCKET` (e.g. ENOPROTOOPT on a kernel without
   * SO_ATTACH_REUSEPORT_CBPF), closing what it made.
   */
  udpSocketPair(family: 4 | 6, address: string, port: number, options?: UdpSocketOptions): [number, number];
  /** Sets the per-socket IPsec bypass (IP_XFRM_POLICY / IPV6_XFRM_POLICY "allow", in and out) on `fd`. */
  setXfrmBypass(fd: number, family: 4 | 6): void;
  /**
   * SO_REUSEADDR off on `fd`: libuv sets it on a descriptor dgram adopts, which would let any local
   * socket with SO_REUSEADDR bind the same address and port and take its datagrams.
   */
  clearReuseAddr(fd: number): void;
  /**
   * Takes over `fds` (one or two bound UDP sockets of one family, e.g. `udpSocketPair`'s; closed by
   * `udpBatchClose`; still the caller's if this throws) and reads them with recvmmsg into `data` (`slots`
   * x `slotSize` bytes) and `meta` (`slots` x 96 bytes), socket 1 before socket 0 on every wakeup
   * (native/src/udp-batch.c for the layout of `meta`).
   */
  udpBatchOpen(fds: number[], data: Buffer, meta: Buffer, slots: number, slotSize: number, onEvent: UdpBatchListener): UdpBatchHandle;
  /**
   * sendmmsg of `datagrams[0..count)` (count <= 64) from socket `sock` to `addresses[i]`:`ports[i]`:
   * how many the socket took (>= 1), or -errno of the first when none (-EAGAIN: full; -EINVAL:
   * not an address of the socket's family).
   */
  udpBatchSend(handle: UdpBatchHandle, sock: number, datagrams: Buffer[], ports: number[], addresses: string[], count: number): number;
  /** Calls the listener with count -1 once socket `sock` is writable. */
  udpBatchWantWritable(handle: UdpBatchHandle, sock: number): void;
  /** The port socket 0 is bound to. */
  udpBatchPort(handle: UdpBatchHandle): number;
  /** Stops reading and closes the sockets; calling it again does nothing. */
  udpBatchClose(handle: UdpBatchHandle): void;
  /** The digest OpenSSL knows as `name`; throws `IKE_ERR_NATIVE_ALG` when it has none. */
  mdFetch(name: string): NativeDigestHandle;
  /** The cipher OpenSSL knows as `name` (DES, Blowfish: legacy provider); throws `IKE_ERR_NATIVE_ALG` when it has none. */
  cipherFetch(name: string): NativeCipherHandle;
  /** hash(part0 | part1 | ...), at most 16 parts (native/src/digest.c). */
  digest(md: NativeDigestHandle, parts: readonly Uint8Array[]): Buffer;
  /** HMAC (RFC 2104) under `key` of part0 | part1 | ..., at most 16 parts; the key's copies are cleansed. */
  hmac(md: NativeDigestHandle, key: Uint8Array, parts: readonly Uint8Array[]): Buffer;
  /** CBC over whole blocks without padding; the context (key schedule) is freed, cleansed, before it returns. */
  cbc(cipher: NativeCipherHandle, encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Resolved both from the source tree (native/) and the build tree (dist/native/). */
const candidates = [
  path.resolve(here, "build/Release/iked_native.node"),
  path.resolve(here, "../../native/build/Release/iked_native.node"),
];

let cached: NativeAddon | undefined;

/** Load the addon or throw an error naming the build command. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(`iked native addon not found; build it with 'npm run build:native' (${errors.join("; ")})`);
}

/** The addon, or undefined when it is not built. */
export function tryLoadNative(): NativeAddon | undefined {
  try {
    return loadNative();
  } catch {
    // Absence is reported by loadNative() to callers that require the addon.
    return undefined;
  }
}
