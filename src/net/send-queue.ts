/**
 * A bounded send queue in front of one UDP socket. IKE replies are small, but a flood of requests can
 * produce replies faster than the socket drains; beyond the bound we drop (and count), because an
 * unbounded queue is a memory exhaustion attack and IKE retransmits anyway.
 */

/** Sends one datagram and calls `done` when the socket has taken it (Node's dgram send callback). */
export type RawSend = (datagram: Buffer, port: number, address: string, done: (err: Error | null) => void) => void;

/** Bounds of a {@link SendQueue}. */
export interface SendQueueLimits {
  /** Datagrams handed to the socket and not yet confirmed. */
  readonly maxInFlight: number;
  /** Datagrams waiting behind those. */
  readonly maxQueued: number;
  /** Bytes waiting (queued, not in flight). */
  readonly maxQueuedBytes: number;
}

/** Defaults: enough for a burst of replies to a few hundred peers. */
export const DEFAULT_SEND_LIMITS: SendQueueLimits = { maxInFlight: 64, maxQueued: 1024, maxQueuedBytes: 4 * 1024 * 1024 };

/** Counters of a {@link SendQueue}. */
export interface SendQueueStats {
  sent: number;
  dropped: number;
  errors: number;
}

interface Pending {
  readonly datagram: Buffer;
  readonly port: number;
  readonly address: string;
}

/** FIFO of datagrams for one socket, with at most `maxInFlight` handed to it at a time. */
export class SendQueue {
  readonly stats: SendQueueStats = { sent: 0, dropped: 0, errors: 0 };
  private readonly queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly raw: RawSend,
    private readonly limits: SendQueueLimits = DEFAULT_SEND_LIMITS,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** Number of datagrams waiting (not counting those in flight). */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Queue a datagram; false when dropped because the queue is full or closed. */
  push(datagram: Buffer, port: number, address: string): boolean {
    if (this.closed) return false;
    if (this.inFlight < this.limits.maxInFlight && this.length === 0) {
      this.transmit({ datagram, port, address });
      return true;
    }
    if (this.length >= this.limits.maxQueued || this.queuedBytes + datagram.length > this.limits.maxQueuedBytes) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push({ datagram, port, address });
    this.queuedBytes += datagram.length;
    return true;
  }

  /** Drop everything waiting; later pushes are refused. */
  close(): void {
    this.closed = true;
    this.stats.dropped += this.length;
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }

  private transmit(p: Pending): void {
    this.inFlight++;
    this.raw(p.datagram, p.port, p.address, (err) => {
      this.inFlight--;
      if (err) {
        this.stats.errors++;
        this.onError(err);
      } else {
        this.stats.sent++;
      }
      this.drain();
    });
  }

  private drain(): void {
    while (!this.closed && this.inFlight < this.limits.maxInFlight && this.head < this.queue.length) {
      const p = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      this.queuedBytes -= p.datagram.length;
      this.transmit(p);
    }
    // Compact once the consumed prefix dominates, so the array does not grow without bound.
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
