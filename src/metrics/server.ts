/**
 * The HTTP endpoint Prometheus scrapes (extension): `GET /metrics` answers with the registry's
 * text; every other request gets a 404 of a few bytes, decided from the request line alone, before
 * any metric is collected. Bounded, because whoever reaches the port may be hostile:
 *
 * - request head at most 4 KiB, read within 5 s; a whole request within 10 s; idle keep-alive
 *   connections closed after 5 s;
 * - at most {@link MAX_CONNECTIONS} connections (Node refuses further ones at accept);
 * - one collection at a time: scrapes that arrive during one share its result;
 * - a request body is never read; a non-scrape request closes its connection.
 *
 * It binds exactly the address it is given (the default, 127.0.0.1, is chosen by the caller), or
 * a Unix socket (mode 0660; a stale socket file is replaced, a live one refused).
 */
import fs from "node:fs";
import http from "node:http";
import { socketIsLive } from "../control/server.js";
import { formatMetricsSetting, type MetricsEndpoint } from "../config/metrics-address.js";
import type { Logger } from "../log/logger.js";

/** Most simultaneous connections. */
export const MAX_CONNECTIONS = 8;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_MS = 5_000;
const MAX_HEADER_BYTES = 4096;

/** What the server serves. */
export interface MetricsServerOptions {
  readonly endpoint: MetricsEndpoint;
  /** Collect every metric as text (prom-client's `registry.metrics()`). */
  readonly collect: () => Promise<string>;
  readonly contentType: string;
  readonly log?: Logger;
}

/** A listening endpoint. */
export class MetricsServer {
  readonly #server: http.Server;
  readonly #opts: MetricsServerOptions;
  #inFlight: Promise<string> | undefined;

  private constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.#server = http.createServer(
      { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_MS },
      (req, res) => this.#handle(req, res),
    );
    this.#server.maxConnections = MAX_CONNECTIONS;
    // An idle socket (no request at all) is closed too, not only a slow one.
    this.#server.setTimeout(REQUEST_TIMEOUT_MS, (s) => s.destroy());
  }

  /** Bind and listen; rejects with the system's error (EADDRINUSE, EADDRNOTAVAIL, EACCES ...). */
  static async listen(opts: MetricsServerOptions): Promise<MetricsServer> {
    const srv = new MetricsServer(opts);
    const e = opts.endpoint;
    if (e.kind === "unix" && fs.existsSync(e.path)) {
      if (!fs.lstatSync(e.path).isSocket()) throw Object.assign(new Error(`${e.path} exists and is not a socket`), { code: "EEXIST" });
      if (await socketIsLive(e.path)) throw Object.assign(new Error(`${e.path} is served by another process`), { code: "EADDRINUSE" });
      fs.unlinkSync(e.path);
    }
    // umask 117 for a Unix socket's bind (mode 0660: owner and group read and write), so it never
    // exists with looser permissions, even briefly.
    const oldMask = e.kind === "unix" ? process.umask(0o117) : undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        srv.#server.once("error", reject);
        const done = () => {
          srv.#server.off("error", reject);
          resolve();
        };
        if (e.kind === "unix") srv.#server.listen(e.path, done);
        else srv.#server.listen({ host: e.host, port: e.port, ipv6Only: e.host.includes(":") }, done);
      });
    } finally {
      if (oldMask !== undefined) process.umask(oldMask);
    }
    srv.#server.on("error", (err) => opts.log?.warn("metrics endpoint error", { err: err.message }));
    return srv;
  }

  /** Where it listens, as written in logs (`127.0.0.1:9712`, `unix:/run/x`); the real port for port 0. */
  get where(): string {
    const e = this.#opts.endpoint;
    const a = this.#server.address();
    if (e.kind === "unix" || a === null || typeof a === "string") return formatMetricsSetting(e);
    return formatMetricsSetting({ ...e, port: a.port });
  }

  /** The bound TCP port (undefined for a Unix socket). */
  get port(): number | undefined {
    const a = this.#server.address();
    return a !== null && typeof a === "object" ? a.port : undefined;
  }

  /** Stop listening and close every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method !== "GET" || path !== "/metrics") {
      // Decided from the request line: no collection, no body read, a few bytes back.
      res.writeHead(404, { "content-type": "text/plain", "content-length": "10", connection: "close" });
      res.end("not found\n");
      return;
    }
    this.#scrape().then(
      (body) => {
        res.writeHead(200, { "content-type": this.#opts.contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
        res.end(body);
      },
      (err: unknown) => {
        this.#opts.log?.warn("metrics collection failed", { err: (err as Error).message });
        res.writeHead(500, { "content-type": "text/plain", connection: "close" });
        res.end("metrics collection failed\n");
      },
    );
  }

  /** One collection at a time; concurrent scrapes share it. */
  #scrape(): Promise<string> {
    this.#inFlight ??= this.#opts.collect().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }
}
