/**
 * Client side of the admin socket, used by `ikeadm` (and tests): connect, send typed requests,
 * await the matching reply.
 */
import net from "node:net";
import { encodeFrame, FrameDecoder } from "./frame.js";
import { AdminError, MESSAGE_VERSION, type AdminErrorBody, type AdminRequest, type ReplyEnvelope } from "./messages.js";

/** Reply of one request: the result, or the daemon's error. */
export type AdminReply = { ok: true; result: unknown } | { ok: false; error: AdminErrorBody };

/** A connection to the daemon's admin socket. */
export class AdminClient {
  readonly #sock: net.Socket;
  readonly #decoder = new FrameDecoder();
  readonly #waiting = new Map<number, (r: AdminReply) => void>();
  #nextId = 1;
  #closedError: AdminErrorBody | undefined;

  private constructor(sock: net.Socket) {
    this.#sock = sock;
    sock.on("data", (chunk: Buffer) => {
      for (const item of this.#decoder.push(chunk)) {
        if (!item.ok) {
          this.#failAll({ code: AdminError.REQ_INVALID, message: `bad reply from daemon: ${item.error.message}` });
          sock.destroy();
          return;
        }
        const env = item.value as ReplyEnvelope;
        const cb = this.#waiting.get(env.id);
        if (!cb) continue;
        this.#waiting.delete(env.id);
        cb(env.ok ? { ok: true, result: env.result } : { ok: false, error: env.error });
      }
    });
    sock.on("close", () => {
      // A reply cut off by the close (keys at privilege keymat) is zeroed.
      this.#decoder.close();
      this.#failAll({ code: AdminError.SYS_ERR, errno: "ECONNRESET", message: "connection to in.iked closed" });
    });
    sock.on("error", () => {
      // 'close' follows and fails the outstanding requests.
    });
  }

  /** Connect to the socket at `path`; rejects with the system error when nobody listens. */
  static connect(path: string): Promise<AdminClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(path);
      sock.once("connect", () => {
        sock.removeListener("error", reject);
        resolve(new AdminClient(sock));
      });
      sock.once("error", reject);
    });
  }

  /** Send one request and wait for its reply. */
  request(req: AdminRequest): Promise<AdminReply> {
    if (this.#closedError) return Promise.resolve({ ok: false, error: this.#closedError });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      const frame = encodeFrame({ v: MESSAGE_VERSION, id, req });
      // Once the socket has taken it, the request (a token PIN) is wiped, as the daemon does its replies.
      this.#sock.write(frame, () => frame.fill(0));
    });
  }

  /** Close the connection. */
  close(): void {
    this.#sock.end();
  }

  #failAll(error: AdminErrorBody): void {
    this.#closedError ??= error;
    for (const cb of this.#waiting.values()) cb({ ok: false, error });
    this.#waiting.clear();
  }
}
