/**
 * The IKE port's steered pair read and written in batches (issue 11): the native addon watches
 * both sockets and reads them with recvmmsg(2) into two buffers made here once, calling back once
 * per batch (native/src/udp-batch.c); replies queue here and leave with sendmmsg(2) once the
 * current batch (or whatever else queued them: a timer, a pool result) has run. Per datagram
 * this saves what dgram spends crossing between libuv and JS: a callback, an address object and a
 * turn of the tick queue per datagram read, a send request, a lookup tick and a completion
 * callback per datagram sent.
 *
 * Same semantics as the dgram path: every datagram is handed on as its own Buffer with the
 * sender's address text and port as dgram gives them, in the order the kernel queued them, socket
 * 1 (responder cookie set) read before socket 0 on every wakeup; sends leave from socket 0 in the
 * order queued, bounded as a {@link SendQueue} is (beyond the bound: dropped and counted), `sent`
 * counted when the socket took the datagram, `errors` per datagram the socket refused.
 */
import os from "node:os";
import type { NativeAddon, UdpBatchHandle } from "../../native/index.js";
import type { SendQueueLimits, SendQueueStats } from "./send-queue.js";

/** The addon's batch calls. */
export type BatchIo = Pick<NativeAddon, "udpBatchOpen" | "udpBatchSend" | "udpBatchWantWritable" | "udpBatchPort" | "udpBatchClose">;

/** Datagrams per recvmmsg call. */
export const BATCH_SLOTS = 32;
/** Room per datagram: any UDP payload (at most 65,527 bytes over IPv6) fits whole. */
export const BATCH_SLOT_SIZE = 65536;
/** Bytes of `meta` per datagram (udp-batch.c). */
const META = 96;
/** Datagrams per sendmmsg call (the addon's bound). */
const SEND_MAX = 64;
const EAGAIN = os.constants.errno.EAGAIN;

/** Where recvmmsg writes; one per transport (a thread delivers one batch at a time). */
export class BatchBuffers {
  readonly data: Buffer;
  readonly meta: Buffer;
  readonly words: Uint32Array;

  constructor(
    readonly slots = BATCH_SLOTS,
    readonly slotSize = BATCH_SLOT_SIZE,
  ) {
    // Not pooled, so 4-byte aligned; pages the kernel never writes are never touched.
    this.data = Buffer.allocUnsafeSlow(slots * slotSize);
    this.meta = Buffer.allocUnsafeSlow(slots * META);
    this.words = new Uint32Array(this.meta.buffer, this.meta.byteOffset, (slots * META) / 4);
  }
}

/** An Error as Node's own socket errors look: `code` the errno's name, `errno` negative, `syscall`. */
export function errnoError(errno: number, syscall: string): Error {
  const name = Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  return Object.assign(new Error(`${syscall} ${name}`), { code: name, errno: -errno, syscall });
}

/** Receives each datagram of a batch. */
export interface BatchReceiver {
  datagram(msg: Buffer, address: string, port: number, verified: boolean): void;
  /** A datagram cut short or without a source address (cannot happen with 64 KiB slots on an inet socket). */
  unusable(verified: boolean): void;
  error(err: Error): void;
}

/** The send side: a FIFO flushed with sendmmsg once the code that queued has run. */
export class BatchSendQueue {
  readonly stats: SendQueueStats = { sent: 0, dropped: 0, errors: 0 };
  private datagrams: Buffer[] = [];
  private ports: number[] = [];
  private addresses: string[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private blocked = false;
  private closed = false;

  constructor(
    private readonly io: BatchIo,
    private readonly handle: UdpBatchHandle,
    private readonly limits: SendQueueLimits,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Datagrams waiting. */
  get length(): number {
    return this.datagrams.length;
  }

  /** Queue a datagram; false when dropped because the queue is full or closed. */
  push(datagram: Buffer, port: number, address: string): boolean {
    if (this.closed) return false;
    // The dgram queue holds maxInFlight handed to the socket plus maxQueued behind them.
    if (this.length >= this.limits.maxInFlight + this.limits.maxQueued || this.queuedBytes + datagram.length > this.limits.maxQueuedBytes) {
      this.stats.dropped++;
      return false;
    }
    this.datagrams.push(datagram);
    this.ports.push(port);
    this.addresses.push(address);
    this.queuedBytes += datagram.length;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return true;
  }

  /** The socket takes datagrams again (after EAGAIN). */
  writable(): void {
    this.blocked = false;
    this.flush();
  }

  /** Drop everything waiting; later pushes are refused. */
  close(): void {
    this.closed = true;
    this.stats.dropped += this.length;
    this.consume(this.length);
  }

  private flush(): void {
    this.scheduled = false;
    while (!this.closed && !this.blocked && this.length > 0) {
      const r = this.io.udpBatchSend(this.handle, 0, this.datagrams, this.ports, this.addresses, Math.min(SEND_MAX, this.length));
      if (r > 0) {
        this.stats.sent += r;
        this.consume(r);
      } else if (-r === EAGAIN) {
        this.blocked = true;
        this.io.udpBatchWantWritable(this.handle, 0);
      } else {
        // This datagram alone failed (its address); the ones behind it go on.
        this.stats.errors++;
        this.consume(1);
        this.onError(errnoError(-r, "sendmmsg"));
      }
    }
  }

  private consume(n: number): void {
    for (let i = 0; i < n; i++) this.queuedBytes -= this.datagrams[i]!.length;
    if (n === this.length) {
      this.datagrams = [];
      this.ports = [];
      this.addresses = [];
    } else {
      this.datagrams.splice(0, n);
      this.ports.splice(0, n);
      this.addresses.splice(0, n);
    }
  }
}

/** One pair (or one socket) read and written in batches. */
export class BatchPort {
  readonly queue: BatchSendQueue;
  readonly port: number;
  private readonly handle: UdpBatchHandle;
  private closed = false;

  /** Takes over `fds` (throws, leaving them the caller's, where the addon cannot). */
  constructor(
    private readonly io: BatchIo,
    fds: readonly number[],
    buffers: BatchBuffers,
    receiver: BatchReceiver,
    limits: SendQueueLimits,
    onSendError: (err: Error) => void,
  ) {
    const { data, meta, words, slotSize } = buffers;
    const onEvent = (sock: number, count: number, errno: number): void => {
      if (count === -1) return this.queue.writable();
      if (errno !== 0) return receiver.error(errnoError(errno, "recvmmsg"));
      const verified = sock === 1;
      for (let i = 0; i < count && !this.closed; i++) {
        const w = (i * META) / 4;
        if (words[w + 1] !== 0) {
          receiver.unusable(verified);
          continue;
        }
        const at = i * META + 16;
        const address = meta.toString("latin1", at, at + words[w + 3]!);
        const start = i * slotSize;
        // Our own copy: the slot is overwritten by the next batch.
        receiver.datagram(Buffer.from(data.subarray(start, start + words[w]!)), address, words[w + 2]!, verified);
      }
    };
    this.handle = io.udpBatchOpen([...fds], data, meta, buffers.slots, slotSize, onEvent);
    this.port = io.udpBatchPort(this.handle);
    this.queue = new BatchSendQueue(io, this.handle, limits, onSendError);
  }

  /** Stop reading, drop what waits to be sent, close the sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.io.udpBatchClose(this.handle);
  }
}
