/**
 * Requests to the kernel over one NETLINK_XFRM socket, and their answers: every request carries a
 * fresh `nlmsg_seq` and NLM_F_REQUEST; the answer with that sequence number from the kernel to this
 * socket's port settles it:
 *
 *   "ack"    NLM_F_ACK; NLMSG_ERROR with errno 0 resolves, any other errno rejects
 *   "reply"  one message (GETSA, ALLOCSPI: NEWSA), or NLMSG_ERROR rejecting
 *   "dump"   NLM_F_DUMP; NLM_F_MULTI parts until NLMSG_DONE
 *
 * Request bytes are wiped after sending (NEWSA/UPDSA carry keys); received datagrams are wiped after
 * they are decoded, once their parts have been turned into values the caller owns.
 */
import type { Logger } from "../../log/logger.js";
import { errnoError, kernelError } from "../errors.js";
import { KernelSocket, type KernelSocketOptions } from "../kernel-socket.js";
import { PendingRequests } from "../pending.js";
import { NlFlag, splitMessages } from "../wire/netlink.js";
import { xfrmMsgName } from "./constants.js";
import { decodeXfrm, encodeXfrm, type XfrmBody, type XfrmMessage } from "./message.js";
import type { XfrmAttrs } from "./attributes.js";

/** How a request is answered. */
export type Expect = "ack" | "reply" | "dump";

/** What a reply handler makes of an answer before its datagram is wiped. */
export type Take<T> = (m: XfrmMessage) => T;

interface Answer {
  kind: Expect;
  take: Take<unknown>;
}

/** Default deadline of a request, and of a whole dump. */
export const REQUEST_TIMEOUT_MS = 5000;
export const DUMP_TIMEOUT_MS = 30000;

/** One request socket and its outstanding requests. */
export class XfrmChannel {
  readonly #socket: KernelSocket;
  readonly #pending = new PendingRequests<unknown, unknown>((process.pid << 12) >>> 0);
  readonly #expect = new Map<number, Answer>();
  readonly #log: Logger | undefined;
  readonly #timeoutMs: number;
  readonly portId: number;

  constructor(options: KernelSocketOptions & { log?: Logger; timeoutMs?: number }) {
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#socket = KernelSocket.open("xfrm", (d, e) => this.#receive(d, e), options);
    this.portId = this.#socket.portId;
  }

  /**
   * Sends one request and waits for its answer; `take` turns each reply message (or dump part) into
   * a value while its bytes are still there. Rejects with the kernel's errno as a KernelError.
   */
  request<T>(type: number, body: XfrmBody, attrs: XfrmAttrs, expect: "ack", what: string): Promise<void>;
  request<T>(type: number, body: XfrmBody, attrs: XfrmAttrs, expect: "reply", what: string, take: Take<T>): Promise<T>;
  request<T>(type: number, body: XfrmBody, attrs: XfrmAttrs, expect: "dump", what: string, take: Take<T>): Promise<T[]>;
  request<T>(type: number, body: XfrmBody, attrs: XfrmAttrs, expect: Expect, what: string, take: Take<T> = () => undefined as T): Promise<unknown> {
    const seq = this.#pending.nextSeq();
    const flags = NlFlag.Request | (expect === "ack" ? NlFlag.Ack : expect === "dump" ? NlFlag.Dump : 0);
    // The kernel copies nlmsg_pid into the notices a request causes: ours are recognised by it.
    const bytes = encodeXfrm({ type, flags, seq, pid: this.portId, body, attrs });
    const done = this.#pending.add(seq, what, expect === "dump" ? DUMP_TIMEOUT_MS : this.#timeoutMs);
    this.#expect.set(seq, { kind: expect, take });
    void done.finally(() => this.#expect.delete(seq)).catch(() => undefined);
    this.#log?.debug("pfkey", "xfrm request", { msg: xfrmMsgName(type), seq, what });
    try {
      this.#socket.send(bytes);
    } catch (err) {
      this.#pending.get(seq)?.reject(err as never);
    } finally {
      bytes.fill(0);
    }
    return done;
  }

  #receive(datagram: Buffer | null, err: Error | null): void {
    if (datagram === null) {
      this.#log?.warn("xfrm request socket error", { code: (err as { code?: string })?.code, error: err?.message });
      return;
    }
    try {
      const msgs = splitMessages(datagram);
      if (!msgs.ok) return void this.#log?.debug("pfkey", "xfrm answer dropped", { ...msgs.error });
      for (const m of msgs.value) {
        const pending = this.#pending.get(m.seq);
        const answer = this.#expect.get(m.seq);
        if (pending === undefined || answer === undefined || m.pid !== this.portId) {
          this.#log?.debug("pfkey", "xfrm answer to no request", { msg: xfrmMsgName(m.type), seq: m.seq });
          continue;
        }
        const d = decodeXfrm(m, m.body.byteOffset - datagram.byteOffset);
        if (!d.ok) {
          this.#log?.debug("pfkey", "xfrm answer does not parse", { ...d.error, seq: m.seq });
          pending.reject(kernelError("IKE_ERR_KERNEL_EIO", `${pending.what}: answer does not parse (${d.error.code}: ${d.error.message})`));
          continue;
        }
        this.#settle(d.value, answer, pending);
      }
    } finally {
      datagram.fill(0);
    }
  }

  #settle(m: XfrmMessage, answer: Answer, pending: NonNullable<ReturnType<PendingRequests<unknown, unknown>["get"]>>): void {
    const b = m.body;
    if (b.kind === "error") {
      if (b.errno !== 0) pending.reject(errnoError(b.errno, pending.what));
      else if (answer.kind === "ack") pending.resolve(undefined);
      else pending.reject(kernelError("IKE_ERR_KERNEL_EIO", `${pending.what}: ACK where an answer was expected`));
      return;
    }
    if (answer.kind === "dump") {
      if (b.kind === "done") {
        if (b.errno !== 0) pending.reject(errnoError(b.errno, pending.what));
        else pending.resolve(pending.parts.slice());
        return;
      }
      pending.parts.push(answer.take(m));
      return;
    }
    if (answer.kind === "reply") pending.resolve(answer.take(m));
    else pending.reject(kernelError("IKE_ERR_KERNEL_EIO", `${pending.what}: ${xfrmMsgName(m.type)} where an ACK was expected`));
  }

  /** Fails what is outstanding and closes the socket. */
  close(): void {
    this.#pending.rejectAll(kernelError("IKE_ERR_KERNEL_ESHUTDOWN", "kernel backend closed"));
    this.#socket.close();
  }
}
