/**
 * `use_http`: fetching a CRL from a certificate's http:// distribution point, directly or through
 * the `proxy` (an HTTP proxy given as `http://host:port`; the request then carries the absolute
 * URI, RFC 9112 §3.2.2). Bounded: one fetch at a time per URL, `timeoutMs` for the whole transfer,
 * at most MAX_CRL_BYTES, no redirects. Results are cached per URL until the CRL's nextUpdate
 * (at least `minTtlMs`, at most `maxTtlMs`); failures are cached for `failTtlMs`, so a peer whose
 * certificate names a dead server cannot make every negotiation wait. Only CRLs reached through a
 * certificate whose signature already verified are fetched (chain.ts checks signatures first), so
 * the URLs are CA-authored, not peer-chosen. https:// is not fetched.
 */
import http from "node:http";
import { refClock } from "../clock.js";
import { MAX_CRL_BYTES, parseCrl, type Crl } from "./crl.js";
import { derObjects } from "./pem.js";
import type { CrlSource } from "./revocation.js";

/** Fetcher settings. */
export interface CrlFetchOptions {
  /** `proxy` from ike.config, `http://host[:port]`. */
  readonly proxy?: string;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly minTtlMs?: number;
  readonly maxTtlMs?: number;
  readonly failTtlMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
  /** Told about each fetch outcome (the daemon logs it). */
  readonly onResult?: (url: string, outcome: { ok: true; bytes: number } | { ok: false; reason: string }) => void;
}

/** Parses the `proxy` value; a string result says why it is unusable. */
export function parseProxy(value: string): { host: string; port: number } | string {
  let u: URL;
  try {
    u = new URL(value.includes("://") ? value : `http://${value}`);
  } catch {
    return `'${value}' is not a URL`;
  }
  if (u.protocol !== "http:") return `only http:// proxies are supported, not ${u.protocol}`;
  if (u.username || u.password) return "proxy credentials are not supported";
  if (u.pathname !== "/" || u.search) return "the proxy URL must name only a host and port";
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : 8080 };
}

type Entry = { until: number; crl?: Crl; pending?: Promise<Crl | undefined> };

/** See the file comment. */
export class CrlFetcher implements CrlSource {
  readonly #o: Required<Omit<CrlFetchOptions, "proxy" | "onResult">> & Pick<CrlFetchOptions, "onResult">;
  readonly #proxy: { host: string; port: number } | undefined;
  readonly #cache = new Map<string, Entry>();

  constructor(options: CrlFetchOptions = {}) {
    this.#o = {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxBytes: Math.min(options.maxBytes ?? MAX_CRL_BYTES, MAX_CRL_BYTES),
      minTtlMs: options.minTtlMs ?? 60_000,
      maxTtlMs: options.maxTtlMs ?? 24 * 3600_000,
      failTtlMs: options.failTtlMs ?? 60_000,
      now: options.now ?? Date.now,
      ...(options.onResult ? { onResult: options.onResult } : {}),
    };
    const p = options.proxy === undefined ? undefined : parseProxy(options.proxy);
    if (typeof p === "string") throw new TypeError(`proxy: ${p}`);
    this.#proxy = p;
  }

  /** The CRL at `url` (cached), or undefined when it cannot be had. Never rejects. */
  fetch(url: string): Promise<Crl | undefined> {
    const now = this.#o.now();
    const hit = this.#cache.get(url);
    if (hit?.pending) return hit.pending;
    if (hit && hit.until > now) return Promise.resolve(hit.crl);
    const pending = this.#get(url).then(
      (crl) => {
        const ttl = crl ? Math.min(Math.max((crl.nextUpdate ?? 0) - now, this.#o.minTtlMs), this.#o.maxTtlMs) : this.#o.failTtlMs;
        this.#cache.set(url, crl ? { until: now + ttl, crl } : { until: now + ttl });
        return crl;
      },
    );
    this.#cache.set(url, { until: 0, pending });
    return pending;
  }

  #get(url: string): Promise<Crl | undefined> {
    const report = this.#o.onResult;
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        report?.(url, { ok: false, reason: "bad URL" });
        return resolve(undefined);
      }
      if (target.protocol !== "http:") {
        report?.(url, { ok: false, reason: "only http:// distribution points are fetched" });
        return resolve(undefined);
      }
      const via = this.#proxy;
      const req = http.request({
        host: via?.host ?? target.hostname.replace(/^\[|\]$/g, ""),
        port: via?.port ?? (target.port ? Number(target.port) : 80),
        path: via ? target.href : `${target.pathname}${target.search}`,
        headers: { Host: target.host, Accept: "application/pkix-crl, */*" },
        agent: false,
      });
      let done = false;
      const finish = (crl: Crl | undefined, reason?: string, bytes = 0) => {
        if (done) return;
        done = true;
        refClock.clearTimer(timer);
        req.destroy();
        report?.(url, crl ? { ok: true, bytes } : { ok: false, reason: reason ?? "failed" });
        resolve(crl);
      };
      const timer = refClock.setTimer(() => finish(undefined, `no complete answer within ${this.#o.timeoutMs} ms`), this.#o.timeoutMs);
      req.on("error", (err: NodeJS.ErrnoException) => finish(undefined, err.code ?? err.message));
      req.on("response", (res) => {
        if (res.statusCode !== 200) return finish(undefined, `HTTP status ${res.statusCode}`);
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > this.#o.maxBytes) return finish(undefined, `CRL of ${declared} bytes is larger than ${this.#o.maxBytes}`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > this.#o.maxBytes) return finish(undefined, `CRL larger than ${this.#o.maxBytes} bytes`);
          chunks.push(c);
        });
        res.on("error", (err) => finish(undefined, err.message));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const objs = derObjects(body, "crl");
          if (typeof objs === "string" || objs.length !== 1) return finish(undefined, typeof objs === "string" ? objs : "not one CRL");
          const r = parseCrl(objs[0]!);
          finish(r.ok ? r.value : undefined, r.ok ? undefined : r.error.message, body.length);
        });
      });
      req.end();
    });
  }
}
