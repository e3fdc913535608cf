/**
 * `ldap_server` (ike-config.md §3: "LDAP servers queried for certificates"): certificates and CRLs
 * from an LDAP directory (RFC 4511, through ldapts), in the directory schema of RFC 4523/RFC 2587:
 *   - a CA's certificate (`cACertificate;binary`) at the entry named by the CA's DN, when a path needs
 *     an issuer neither the store nor the peer's CERT payloads hold (chain.ts);
 *   - a CA's CRLs (`certificateRevocationList;binary`, `authorityRevocationList;binary`) at the same
 *     entry, when no current CRL from it is held (revocation.ts);
 *   - an end entity's certificates (`userCertificate;binary`) at the entry of its DN, for a peer
 *     that identifies itself by DN and sends no CERT payload (stage 2).
 * What comes back is untrusted: certificates join a path only if it validates to a cert_root, and a
 * CRL counts only if its issuer's signature on it verifies.
 *
 * Only the configured servers are asked, in order, anonymously: a certificate's ldap:// URLs (its
 * host is the CA's choice) are not followed. Each look-up is bounded: `timeoutMs` for connecting
 * and answering, `maxBytes` read from the connection (the socket is cut beyond it), at most
 * `maxEntries` entries and values each no larger than a certificate or CRL may be. Answers, empty
 * ones included, are cached per entry for `ttlMs` (failures for `failTtlMs`), and one look-up per
 * entry runs at a time, so a slow or dead directory cannot make every negotiation wait.
 *
 * The DNs asked about come from peers that have not yet proved who they are (the issuer of a CERT
 * payload, an ID_DER_ASN1_DN), so what they can make us do is bounded too: the cache holds at most
 * `maxCached` entries and `maxCachedBytes` of values (the oldest go first; expired ones go as soon
 * as nothing older is live), at most `maxInFlight` look-ups run at once, and new look-ups start at
 * most `lookupsPerSecond` on average with bursts of `lookupBurst` (a token bucket). A look-up
 * refused by those bounds answers nothing (a path then lacks its issuer or CRL: the negotiation
 * fails closed), is not cached, and is told to `onRefused`.
 */
import net from "node:net";
import { Client } from "ldapts";
import { refClock } from "../clock.js";
import type { LdapServer } from "../config/types.js";
import { FifoTable } from "../fifo-table.js";
import { MAX_CERT_BYTES, parseCertificate, type Certificate } from "./certificate.js";
import { MAX_CRL_BYTES, parseCrl, type Crl } from "./crl.js";
import { namesEqual, type DistinguishedName } from "./name.js";
import { ATTRIBUTE_NAMES } from "./oids.js";

/** Directory settings. */
export interface LdapOptions {
  readonly servers: readonly LdapServer[];
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly maxEntries?: number;
  readonly ttlMs?: number;
  readonly failTtlMs?: number;
  /** Most cached answers (default 1024). */
  readonly maxCached?: number;
  /** Most bytes of cached values (default 16 MiB). */
  readonly maxCachedBytes?: number;
  /** Most look-ups running at once (default 4). */
  readonly maxInFlight?: number;
  /** New look-ups started per second on average (default 1). */
  readonly lookupsPerSecond?: number;
  /** New look-ups that may start at once after a quiet time (default 32). */
  readonly lookupBurst?: number;
  readonly now?: () => number;
  /** Told about each query's outcome (the daemon logs it). */
  readonly onResult?: (what: string, outcome: { ok: true; values: number } | { ok: false; reason: string }) => void;
  /** Told about each look-up refused by the bounds above (the daemon logs it). */
  readonly onRefused?: (what: string, reason: string) => void;
}

/** Where path validation finds missing issuers and CRLs (LdapDirectory, or a test double). */
export interface CertDirectory {
  caCertificates(subject: DistinguishedName): Promise<Certificate[]>;
  crls(issuer: DistinguishedName): Promise<Crl[]>;
}

/** Attribute types LDAP servers know by name (RFC 4519); others go as dotted OIDs. */
const LDAP_NAMES = new Set(["CN", "L", "ST", "O", "OU", "C", "STREET", "DC", "UID"]);

function escapeValue(v: string): string {
  // RFC 4514 §2.4: escape the specials, a leading space or '#', a trailing space, and NUL.
  let s = v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, "\\00");
  if (/^[ #]/.test(s)) s = `\\${s}`;
  if (s.length > 1 && s.endsWith(" ")) s = `${s.slice(0, -1)}\\ `;
  return s;
}

/** A name as an LDAP DN string (RFC 4514): the most specific RDN first, the reverse of DER order. */
export function ldapDn(name: DistinguishedName): string {
  return [...name.rdns].reverse().map((rdn) => rdn.map((a) => {
    const short = ATTRIBUTE_NAMES.get(a.type);
    return `${short !== undefined && LDAP_NAMES.has(short.toUpperCase()) ? short : a.type}=${escapeValue(a.value)}`;
  }).join("+")).join(",");
}

/** A cached answer (`until` its expiry), or a look-up under way (`until` Infinity). */
type Entry = { until: number; values?: Buffer[]; pending?: Promise<Buffer[]> };

/** What an entry counts against `maxCachedBytes`: its values (the rest is small and bounded by `maxCached`). */
function entryBytes(e: Entry): number {
  return e.values?.reduce((n, v) => n + v.length, 0) ?? 0;
}

/** See the file comment. */
export class LdapDirectory implements CertDirectory {
  readonly #servers: readonly LdapServer[];
  readonly #o: Required<Omit<LdapOptions, "servers" | "onResult" | "onRefused">> & Pick<LdapOptions, "onResult" | "onRefused">;
  readonly #cache: FifoTable<Entry>;
  #inFlight = 0;
  #tokens: number;
  #refilledAt: number;
  /** Look-ups refused by the bounds, since this directory was made. */
  refused = 0;

  constructor(options: LdapOptions) {
    this.#servers = options.servers;
    this.#o = {
      timeoutMs: options.timeoutMs ?? 5_000,
      maxBytes: options.maxBytes ?? 1024 * 1024,
      maxEntries: options.maxEntries ?? 16,
      ttlMs: options.ttlMs ?? 15 * 60_000,
      failTtlMs: options.failTtlMs ?? 60_000,
      maxCached: options.maxCached ?? 1024,
      maxCachedBytes: options.maxCachedBytes ?? 16 * 1024 * 1024,
      maxInFlight: options.maxInFlight ?? 4,
      lookupsPerSecond: options.lookupsPerSecond ?? 1,
      lookupBurst: options.lookupBurst ?? 32,
      now: options.now ?? Date.now,
      ...(options.onResult ? { onResult: options.onResult } : {}),
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    };
    this.#cache = new FifoTable(this.#o.maxCached, this.#o.maxCachedBytes, entryBytes);
    this.#tokens = this.#o.lookupBurst;
    this.#refilledAt = this.#o.now();
  }

  /** Cached answers and look-ups under way. */
  get cached(): number {
    return this.#cache.size;
  }

  /** Bytes of cached values. */
  get cachedBytes(): number {
    return this.#cache.weight;
  }

  /** Look-ups running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** CA certificates published at `subject`'s entry (those that parse and carry that subject). */
  async caCertificates(subject: DistinguishedName): Promise<Certificate[]> {
    return this.#certs(subject, ["cACertificate"]);
  }

  /** End-entity certificates published at `subject`'s entry. */
  async userCertificates(subject: DistinguishedName): Promise<Certificate[]> {
    return this.#certs(subject, ["userCertificate"]);
  }

  /** CRLs published at `issuer`'s entry (those that parse). */
  async crls(issuer: DistinguishedName): Promise<Crl[]> {
    const values = await this.#lookup(ldapDn(issuer), ["certificateRevocationList", "authorityRevocationList"], MAX_CRL_BYTES);
    return values.map((v) => parseCrl(v)).flatMap((r) => (r.ok ? [r.value] : []));
  }

  async #certs(subject: DistinguishedName, attrs: string[]): Promise<Certificate[]> {
    const values = await this.#lookup(ldapDn(subject), attrs, MAX_CERT_BYTES);
    return values.map((v) => parseCertificate(v)).flatMap((r) => (r.ok && namesEqual(r.value.subject, subject) ? [r.value] : []));
  }

  /** The values of `attrs` at `dn` (cached); never rejects. */
  #lookup(dn: string, attrs: string[], maxValue: number): Promise<Buffer[]> {
    const key = `${attrs.join(",")}|${dn}`;
    const now = this.#o.now();
    this.#dropExpired(now);
    const hit = this.#cache.get(key);
    if (hit?.pending) return hit.pending;
    if (hit && hit.until > now) return Promise.resolve(hit.values ?? []);
    const refusal = this.#admit(now);
    if (refusal !== undefined) {
      this.refused++;
      this.#o.onRefused?.(`${attrs.join(",")} of "${dn}"`, refusal);
      return Promise.resolve([]);
    }
    this.#inFlight++;
    const pending = this.#query(dn, attrs, maxValue).finally(() => this.#inFlight--).then((values) => {
      const ttl = values === undefined ? this.#o.failTtlMs : this.#o.ttlMs;
      this.#cache.add(key, { until: this.#o.now() + ttl, values: values ?? [] });
      return values ?? [];
    });
    this.#cache.add(key, { until: Infinity, pending });
    return pending;
  }

  /** Why a new look-up may not start now, or undefined (then it takes a token). */
  #admit(now: number): string | undefined {
    const o = this.#o;
    if (this.#inFlight >= o.maxInFlight) return `${this.#inFlight} look-ups already running (at most ${o.maxInFlight})`;
    this.#tokens = Math.min(o.lookupBurst, this.#tokens + (Math.max(0, now - this.#refilledAt) / 1000) * o.lookupsPerSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) return `more than ${o.lookupBurst} look-ups at once or ${o.lookupsPerSecond} a second`;
    this.#tokens--;
    return undefined;
  }

  /** Drop expired answers from the oldest on, up to the first live one or a look-up under way. */
  #dropExpired(now: number): void {
    for (let e = this.#cache.oldest(); e !== undefined && e.until <= now; e = this.#cache.oldest()) this.#cache.shift();
  }

  /** Asks each server in turn; the first that answers (an empty answer too) decides. */
  async #query(dn: string, attrs: string[], maxValue: number): Promise<Buffer[] | undefined> {
    const what = `${attrs.join(",")} of "${dn}"`;
    let reason = "no ldap_server";
    for (const server of this.#servers) {
      const r = await this.#queryOne(server, dn, attrs.map((a) => `${a};binary`), maxValue);
      if (Array.isArray(r)) {
        this.#o.onResult?.(what, { ok: true, values: r.length });
        return r;
      }
      reason = `${server.host}:${server.port}: ${r}`;
    }
    this.#o.onResult?.(what, { ok: false, reason });
    return undefined;
  }

  async #queryOne(server: LdapServer, dn: string, attributes: string[], maxValue: number): Promise<Buffer[] | string> {
    let socket: net.Socket | undefined;
    let received = 0;
    let cut: string | undefined;
    const maxBytes = this.#o.maxBytes;
    const client = new Client({
      url: `ldap://${server.host.includes(":") ? `[${server.host}]` : server.host}:${server.port}`,
      timeout: this.#o.timeoutMs,
      connectTimeout: this.#o.timeoutMs,
      // Our own socket, so the bytes a server sends are counted and a flood is cut off.
      createConnection: ((port: number, host: string) => {
        socket = net.connect(port, host);
        socket.on("data", (d: Buffer) => {
          received += d.length;
          if (received > maxBytes && cut === undefined) {
            cut = `answer larger than ${maxBytes} bytes`;
            socket!.destroy(new Error(cut));
          }
        });
        return socket;
      }) as typeof net.connect,
    });
    const timer = refClock.setTimer(() => {
      cut ??= `no complete answer within ${this.#o.timeoutMs} ms`;
      socket?.destroy(new Error(cut));
    }, this.#o.timeoutMs);
    try {
      const res = await client.search(dn, {
        scope: "base", attributes, explicitBufferAttributes: attributes,
        sizeLimit: this.#o.maxEntries, timeLimit: Math.max(1, Math.ceil(this.#o.timeoutMs / 1000)),
      });
      const out: Buffer[] = [];
      for (const entry of res.searchEntries.slice(0, this.#o.maxEntries)) {
        for (const [type, v] of Object.entries(entry)) {
          if (!attributes.some((a) => a.toLowerCase() === type.toLowerCase())) continue;
          for (const b of Array.isArray(v) ? v : [v]) if (Buffer.isBuffer(b) && b.length <= maxValue) out.push(Buffer.from(b));
        }
      }
      return out;
    } catch (err) {
      // RFC 4511 noSuchObject (32): the directory has no such entry, a definite (empty) answer.
      if ((err as { code?: number }).code === 32) return [];
      return cut ?? (err as Error).message.split("\n")[0] ?? "LDAP error";
    } finally {
      refClock.clearTimer(timer);
      socket?.destroy();
      await client.unbind().catch(() => undefined);
    }
  }
}
