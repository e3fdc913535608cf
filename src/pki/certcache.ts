/**
 * The certificate cache (ikeadm.md §3.9 `dump certcache`, `flush certcache`): peer certificates
 * that passed path validation, keyed by the SHA-256 hash of their DER (`Certificate.fingerprint`),
 * so a peer that presents the same certificate again (a rekey, a second SA) costs a hash look-up
 * instead of a path validation, and so a peer that sends no CERT payload can still be found.
 *
 * Stage 2 (the exchanges) fills it: after `validatePath` succeeds, `add(path, usage)`; before
 * validating a CERT payload, `get(fingerprint, usage)`. Bounded: at most `maxEntries` (the least
 * recently used goes first) and each entry expires `ttlMs` after it was validated or when a
 * certificate on its path expires, whichever is first, so a revocation published after the
 * validation (a new CRL) is seen within `ttlMs`. Anything that changes what validates — a new
 * store, new cert_root/cert_trust/ignore_crls, `ikeadm flush certcache` — calls `flush()`.
 *
 * Cache ids (`CERTIFICATE CACHE ID`) are handed out here for the daemon's store certificates too,
 * so `dump certcache` numbers every certificate it shows from one sequence; an id stays the same
 * while its certificate stays known.
 */
import type { Certificate } from "./certificate.js";
import type { CertUsage, ValidatedPath } from "./chain.js";

/** Cache settings. */
export interface CertCacheOptions {
  /** Most entries held. Default 512. */
  readonly maxEntries?: number;
  /** Longest time an entry is trusted without validating again, ms. Default 15 minutes. */
  readonly ttlMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** A validated peer certificate. */
export interface CachedCert {
  /** CERTIFICATE CACHE ID. */
  readonly id: number;
  readonly fingerprint: string;
  readonly path: ValidatedPath;
  /** What the validation allowed the certificate for (signature and/or encryption). */
  readonly usages: ReadonlySet<CertUsage>;
  readonly validatedAt: number;
  readonly expiresAt: number;
}

/** See the file comment. */
export class CertCache {
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  /** Map order is recency: the first entry is the least recently used. */
  readonly #entries = new Map<string, CachedCert>();
  readonly #ids = new Map<string, number>();
  /** Fingerprints whose ids outlive their entries (the store's certificates). */
  #pinned = new Set<string>();
  #nextId = 1;

  constructor(o: CertCacheOptions = {}) {
    this.#max = Math.max(1, o.maxEntries ?? 512);
    this.#ttl = Math.max(0, o.ttlMs ?? 15 * 60_000);
    this.#now = o.now ?? Date.now;
  }

  /** The cache id of a certificate (allocated on first use). */
  idFor(fingerprint: string): number {
    let id = this.#ids.get(fingerprint);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(fingerprint, id);
    }
    return id;
  }

  /** The store's certificates: their ids stay while they are in the store. */
  pin(fingerprints: Iterable<string>): void {
    this.#pinned = new Set(fingerprints);
    this.#pruneIds();
  }

  /** Remembers a validated path for `usage`; returns the entry (merged with one already held). */
  add(path: ValidatedPath, usage: CertUsage): CachedCert {
    const now = this.#now();
    const fp = path.leaf.fingerprint;
    const old = this.#live(fp, now);
    const usages = new Set(old?.usages ?? []);
    usages.add(usage);
    const expiresAt = Math.min(now + this.#ttl, ...path.path.map((c) => c.notAfter));
    const entry: CachedCert = Object.freeze({ id: this.idFor(fp), fingerprint: fp, path, usages, validatedAt: now, expiresAt });
    this.#entries.delete(fp);
    this.#entries.set(fp, entry);
    while (this.#entries.size > this.#max) this.#drop(this.#entries.keys().next().value as string);
    return entry;
  }

  /** A live entry for this certificate that was validated for `usage`, or undefined. */
  get(fingerprint: string, usage: CertUsage): CachedCert | undefined {
    const e = this.#live(fingerprint, this.#now());
    if (!e?.usages.has(usage)) return undefined;
    this.#entries.delete(fingerprint);
    this.#entries.set(fingerprint, e);
    return e;
  }

  /** Live entries whose leaf satisfies `match` (a peer that sent no CERT payload, by its ID). */
  find(match: (leaf: Certificate) => boolean): CachedCert[] {
    return this.entries().filter((e) => match(e.path.leaf));
  }

  /** Live entries, least recently used first. */
  entries(): CachedCert[] {
    const now = this.#now();
    for (const [fp, e] of [...this.#entries]) if (e.expiresAt <= now) this.#drop(fp);
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.entries().length;
  }

  /** Drops every entry; returns how many. Pinned (store) certificates keep their ids. */
  flush(): number {
    const n = this.#entries.size;
    this.#entries.clear();
    this.#pruneIds();
    return n;
  }

  #pruneIds(): void {
    for (const fp of [...this.#ids.keys()]) if (!this.#pinned.has(fp) && !this.#entries.has(fp)) this.#ids.delete(fp);
  }

  #live(fp: string, now: number): CachedCert | undefined {
    const e = this.#entries.get(fp);
    if (e !== undefined && e.expiresAt <= now) {
      this.#drop(fp);
      return undefined;
    }
    return e;
  }

  #drop(fp: string): void {
    this.#entries.delete(fp);
    if (!this.#pinned.has(fp)) this.#ids.delete(fp);
  }
}
