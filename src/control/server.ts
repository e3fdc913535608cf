/**
 * The admin socket server (the Linux stand-in for the original's door at /var/run/ike_door).
 *
 * A Unix stream socket, created with mode 0600 so only its owner (root, for a system daemon)
 * can connect: Linux checks write permission on the socket inode at connect(2). That is the
 * caller check. Node cannot read SO_PEERCRED, so the daemon cannot learn the caller's uid/gid or
 * tell two local root processes apart; it cannot grant per-user rights (the original's RBAC
 * authorisations) either. A stale socket file (nobody accepting) is unlinked at start; a live one
 * means another daemon and is refused.
 *
 * Each connection carries frames (frame.ts) in both directions; every request is shape-checked
 * (messages.ts) before the handler sees it. A malformed frame gets one error reply and the
 * connection is closed; the daemon and other connections are unaffected.
 */
import fs from "node:fs";
import net from "node:net";
import { controlRequest } from "../log/channels.js";
import type { Logger } from "../log/logger.js";
import { encodeFrame, FrameDecoder, type FrameItem } from "./frame.js";
import {
  AdminError,
  adminErrorName,
  MESSAGE_VERSION,
  validateRequest,
  type AdminErrorBody,
  type AdminRequest,
  type ReplyEnvelope,
} from "./messages.js";

/** Decoded requests queued on one connection before it is paused. */
const MAX_PENDING_PER_CONNECTION = 32;
/** Reply bytes a client may leave unread before it is disconnected. */
const MAX_UNREAD_REPLY_BYTES = 8 * 1024 * 1024;

/** What a handler returns: a result for the client, or a door-style error. */
export type HandlerResult = { ok: true; result: unknown } | { ok: false; error: AdminErrorBody };

/** Answers one validated request. Must not throw; a throw is answered as SYS_ERR and logged. */
export type AdminHandler = (req: AdminRequest) => Promise<HandlerResult> | HandlerResult;

/** Server options. */
export interface ControlServerOptions {
  path: string;
  handler: AdminHandler;
  log: Logger;
  /** Socket file mode; 0600 unless the administrator chose otherwise. */
  mode?: number;
  /** Concurrent connections accepted; more are closed at once. */
  maxConnections?: number;
  /** A connection idle this long (ms) is closed. */
  idleTimeoutMs?: number;
}

/** Whether something accepts connections at `path`. */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const done = (live: boolean) => {
      s.destroy();
      resolve(live);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** The running admin socket. */
export class ControlServer {
  readonly #opts: Required<ControlServerOptions>;
  readonly #server: net.Server;
  /** Open connections, oldest first, with their count of requests not yet answered. */
  readonly #sockets = new Map<net.Socket, { pending: number }>();

  private constructor(opts: Required<ControlServerOptions>) {
    this.#opts = opts;
    this.#server = net.createServer((s) => this.#accept(s));
  }

  /**
   * Bind the socket: refuse when another process serves it, unlink a stale file, then listen and
   * set the mode before the path is announced anywhere.
   */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const opts: Required<ControlServerOptions> = {
      mode: 0o600,
      maxConnections: 16,
      idleTimeoutMs: 5 * 60_000,
      ...options,
    };
    if (fs.existsSync(opts.path)) {
      if (await socketIsLive(opts.path)) {
        throw Object.assign(new Error(`admin socket ${opts.path} is served by another process`), { code: "IKE_ERR_SOCKET_BUSY" });
      }
      fs.unlinkSync(opts.path);
    }
    const srv = new ControlServer(opts);
    // umask 077 for the bind, so the socket never exists with looser permissions, even briefly.
    const oldMask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        srv.#server.once("error", reject);
        srv.#server.listen(opts.path, () => {
          srv.#server.off("error", reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(opts.path, opts.mode);
    srv.#server.on("error", (err) => opts.log.error("admin socket error", { err: err.message }));
    return srv;
  }

  /** Socket path. */
  get path(): string {
    return this.#opts.path;
  }

  /** Stop accepting, close connections and unlink the socket file. */
  async close(): Promise<void> {
    for (const s of this.#sockets.keys()) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      fs.unlinkSync(this.#opts.path);
    } catch {
      // Already gone (net.Server may unlink it itself): nothing to clean.
    }
  }

  #accept(sock: net.Socket): void {
    const log = this.#opts.log;
    if (this.#sockets.size >= this.#opts.maxConnections && !this.#evictIdle()) {
      log.warn("admin connection refused: too many connections", { limit: this.#opts.maxConnections });
      sock.destroy();
      return;
    }
    const state = { pending: 0 };
    this.#sockets.set(sock, state);
    const decoder = new FrameDecoder();
    sock.on("close", () => {
      this.#sockets.delete(sock);
      // A request cut off by the close (or the idle timeout) may hold a PIN: zeroed, not left to the GC.
      decoder.close();
    });
    sock.on("error", (err) => log.debug("door", "admin connection error", { err: err.message }));
    sock.setTimeout(this.#opts.idleTimeoutMs, () => sock.destroy());
    // Requests on one connection are answered in order, one at a time. A client that pipelines
    // faster than it is answered is paused (bounded memory), and one that stops reading its
    // replies is dropped.
    let queue: Promise<void> = Promise.resolve();
    sock.on("data", (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) {
        state.pending++;
        if (state.pending >= MAX_PENDING_PER_CONNECTION) sock.pause();
        queue = queue.then(async () => {
          await this.#serve(sock, item);
          state.pending--;
          if (state.pending < MAX_PENDING_PER_CONNECTION && sock.isPaused() && !sock.destroyed) sock.resume();
        });
      }
    });
  }

  /**
   * At the connection limit, make room by closing the oldest connection with no request in
   * progress: connections that only sit open (or dribble a partial frame) must not lock the
   * administrator out until the idle timeout. Returns false when every connection is busy.
   */
  #evictIdle(): boolean {
    for (const [sock, state] of this.#sockets) {
      if (state.pending > 0) continue;
      this.#opts.log.warn("admin connection limit reached: closing the oldest idle connection", { limit: this.#opts.maxConnections });
      this.#sockets.delete(sock);
      sock.destroy();
      return true;
    }
    return false;
  }

  async #serve(sock: net.Socket, item: FrameItem): Promise<void> {
    const log = this.#opts.log;
    if (sock.destroyed) return;
    if (!item.ok) {
      log.warn("bad admin frame", { code: item.error.code, offset: item.error.offset });
      this.#reply(sock, { v: MESSAGE_VERSION, id: 0, ok: false, error: { code: AdminError.REQ_INVALID, message: `${item.error.code}: ${item.error.message} (byte ${item.error.offset})` } });
      sock.end();
      return;
    }
    const checked = validateRequest(item.value);
    if (!checked.ok) {
      log.debug("door", "admin request refused", { code: adminErrorName(checked.code), why: checked.message });
      controlRequest.publish({ cmd: undefined, ok: false, error: checked.code });
      this.#reply(sock, { v: MESSAGE_VERSION, id: checked.id, ok: false, error: { code: checked.code, message: checked.message } });
      return;
    }
    const { id, req } = checked.envelope;
    let res: HandlerResult;
    try {
      res = await this.#opts.handler(req);
    } catch (err) {
      log.error("admin handler failed", { cmd: req.cmd, err: (err as Error).message });
      res = { ok: false, error: { code: AdminError.SYS_ERR, message: "internal error; see the daemon log" } };
    }
    log.debug("door", "admin request", { cmd: req.cmd, ok: res.ok, ...(res.ok ? {} : { error: adminErrorName(res.error.code) }) });
    controlRequest.publish({ cmd: req.cmd, ok: res.ok, ...(res.ok ? {} : { error: res.error.code }) });
    this.#reply(sock, res.ok ? { v: MESSAGE_VERSION, id, ok: true, result: res.result } : { v: MESSAGE_VERSION, id, ok: false, error: res.error });
  }

  #reply(sock: net.Socket, env: ReplyEnvelope): void {
    if (sock.destroyed || !sock.writable) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(env);
    } catch (err) {
      frame = encodeFrame({ v: MESSAGE_VERSION, id: env.id, ok: false, error: { code: AdminError.NO_MEM, message: (err as Error).message } });
    }
    // Once the socket has taken the frame, wipe it (at privilege keymat a reply can carry keys).
    sock.write(frame, () => frame.fill(0));
    if (sock.writableLength > MAX_UNREAD_REPLY_BYTES) {
      this.#opts.log.warn("admin client does not read its replies; connection dropped", { buffered: sock.writableLength });
      sock.destroy();
    }
  }
}
