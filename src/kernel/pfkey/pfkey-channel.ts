/**
 * Requests and answers over one PF_KEY socket (Linux af_key), and everything else it hears:
 *
 * - every request carries a fresh `sadb_msg_seq` and `sadb_msg_pid` = this process; the kernel's
 *   answer repeats both and the message type (the answer to ADD, UPDATE, DELETE and X_SPD* is the
 *   notice it sends every PF_KEY socket; errors come back with `sadb_msg_errno` set);
 * - a dump (DUMP, X_SPDDUMP) answers with messages of the dump's type numbered down to `seq` 0, the
 *   last; an empty table answers ENOENT. The kernel runs one dump per socket at a time, so dumps
 *   are queued here;
 * - everything not answering a request of ours goes to `onEvent`: ACQUIRE and EXPIRE (pid 0), what
 *   other processes do (their pid). Our own late answers (after a deadline, FLUSH's second copy) are
 *   dropped. When the socket reports an error, `onLost` hears that events may be missing. Linux
 *   af_key drops a notice for a full receive queue without telling the socket (no ENOBUFS, unlike
 *   netlink), so an overrun itself goes unheard here: the 4 MiB buffer guards against it, and the
 *   daemon's periodic resync (src/daemon/kernel-events.ts) repairs what it still loses.
 *
 * Request bytes are wiped after sending (ADD/UPDATE carry keys); every datagram read is wiped once
 * decoded and handled.
 */
import type { Logger } from "../../log/logger.js";
import { lostEvent } from "../backend-common.js";
import { errnoError, kernelError } from "../errors.js";
import type { LostEvent } from "../kernel.js";
import { KernelSocket, type KernelSocketOptions } from "../kernel-socket.js";
import { PendingRequests } from "../pending.js";
import { sadbMsgName } from "./constants.js";
import { decodePfkey, encodePfkey, type PfkeyMessage } from "./message.js";

/** Default deadline of a request, and of a whole dump. */
export const REQUEST_TIMEOUT_MS = 5000;
export const DUMP_TIMEOUT_MS = 30000;
const ENOENT = 2;

/** Turns an answer into a value while its bytes are still there. */
export type Take<T> = (m: PfkeyMessage) => T;

type Body = Omit<PfkeyMessage, "seq" | "pid" | "errno">;

/** One PF_KEY socket, its outstanding requests and its event feed. */
export class PfkeyChannel {
  readonly #socket: KernelSocket;
  /** Outstanding requests by an internal id; our own sequence numbers start far from the kernel's ACQUIRE numbers. */
  readonly #pending = new PendingRequests<unknown, unknown>(0x40000000);
  /** Ids waiting for an answer of (type, seq), oldest first: the kernel answers in order. */
  readonly #waiting = new Map<string, Array<{ id: number; take: Take<unknown> }>>();
  #dump: { type: number; id: number; seq: number; take: Take<unknown> } | null = null;
  #dumps: Promise<unknown> = Promise.resolve();
  readonly #log: Logger | undefined;
  readonly #timeoutMs: number;
  readonly #onEvent: (m: PfkeyMessage) => void;
  readonly #onLost: (ev: LostEvent) => void;
  /** `sadb_msg_pid` of our requests. */
  readonly pid = process.pid;

  constructor(options: KernelSocketOptions & { log?: Logger; timeoutMs?: number }, onEvent: (m: PfkeyMessage) => void, onLost: (ev: LostEvent) => void) {
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#onEvent = onEvent;
    this.#onLost = onLost;
    this.#socket = KernelSocket.open("pfkey", (d, e) => this.#receive(d, e), { ...options, rcvbuf: 4 << 20 });
  }

  /**
   * Sends one request and resolves with `take` of its answer; rejects with the kernel's errno.
   * `seq` is the sequence number to send when it means something to the kernel (the ACQUIRE a
   * GETSPI or ADD answers); by default a fresh one of ours.
   */
  request<T>(body: Body, what: string, take: Take<T>, seq?: number): Promise<T> {
    const id = this.#pending.nextSeq();
    const wire = seq !== undefined && seq !== 0 ? seq : id;
    const key = `${body.type}/${wire}`;
    const done = this.#pending.add(id, what, this.#timeoutMs) as Promise<T>;
    const queue = this.#waiting.get(key) ?? [];
    queue.push({ id, take });
    this.#waiting.set(key, queue);
    void done
      .finally(() => {
        const q = this.#waiting.get(key)?.filter((w) => w.id !== id) ?? [];
        if (q.length === 0) this.#waiting.delete(key);
        else this.#waiting.set(key, q);
      })
      .catch(() => undefined);
    this.#send({ ...body, seq: wire, pid: this.pid, errno: 0 }, id, what);
    return done;
  }

  /** Sends a message no answer comes to (a negative ACQUIRE). */
  notify(m: Omit<PfkeyMessage, "pid">): void {
    const bytes = encodePfkey({ ...m, pid: this.pid });
    try {
      this.#socket.send(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** Runs a dump (one at a time); resolves with `take` of every part. */
  dump<T>(body: Body, what: string, take: Take<T>): Promise<T[]> {
    const run = (): Promise<T[]> => {
      const id = this.#pending.nextSeq();
      const done = this.#pending.add(id, what, DUMP_TIMEOUT_MS) as Promise<T[]>;
      this.#dump = { type: body.type, id, seq: id, take };
      void done.finally(() => (this.#dump = null)).catch(() => undefined);
      this.#send({ ...body, seq: id, pid: this.pid, errno: 0 }, id, what);
      return done;
    };
    const next = this.#dumps.then(run, run);
    this.#dumps = next.catch(() => undefined);
    return next;
  }

  #send(m: PfkeyMessage, id: number, what: string): void {
    const bytes = encodePfkey(m);
    this.#log?.debug("pfkey", "pfkey request", { msg: sadbMsgName(m.type), seq: m.seq, what });
    try {
      this.#socket.send(bytes);
    } catch (err) {
      this.#pending.get(id)?.reject(err as never);
    } finally {
      bytes.fill(0);
    }
  }

  #receive(datagram: Buffer | null, err: Error | null): void {
    if (datagram === null) {
      const lost = lostEvent(err);
      if (lost === null) return;
      this.#log?.warn(lost.cause === "overrun" ? "kernel events lost: the PF_KEY socket overran" : "kernel events lost: PF_KEY socket error", { detail: lost.detail });
      return this.#onLost(lost);
    }
    try {
      const d = decodePfkey(datagram);
      if (!d.ok) return void this.#log?.debug("pfkey", "PF_KEY message does not parse", { ...d.error });
      const m = d.value;
      if (m.pid !== this.pid) return this.#onEvent(m);
      if (this.#dump !== null && m.type === this.#dump.type && (m.errno === 0 || m.seq === this.#dump.seq)) return this.#dumpPart(m, this.#dump);
      const want = this.#waiting.get(`${m.type}/${m.seq}`)?.[0];
      const pending = want === undefined ? undefined : this.#pending.get(want.id);
      if (want === undefined || pending === undefined) {
        this.#log?.debug("pfkey", "PF_KEY answer to no request", { msg: sadbMsgName(m.type), seq: m.seq });
        return;
      }
      if (m.errno !== 0) pending.reject(errnoError(m.errno, pending.what));
      else pending.resolve(want.take(m));
    } finally {
      datagram.fill(0);
    }
  }

  #dumpPart(m: PfkeyMessage, dump: { id: number; take: Take<unknown> }): void {
    const pending = this.#pending.get(dump.id);
    if (pending === undefined) return;
    if (m.errno !== 0) {
      if (m.errno === ENOENT) pending.resolve([]);
      else pending.reject(errnoError(m.errno, pending.what));
      return;
    }
    pending.parts.push(dump.take(m));
    if (m.seq === 0) pending.resolve(pending.parts.slice());
  }

  /** Fails what is outstanding and closes the socket. */
  close(): void {
    this.#pending.rejectAll(kernelError("IKE_ERR_KERNEL_ESHUTDOWN", "kernel backend closed"));
    this.#socket.close();
  }
}
