/**
 * The certificate side of the running daemon — wiring only: the store the live configuration
 * holds (LiveConfig: snapshot and key bindings, swapped with the rules and keys), the Phase 1
 * credentials built from it (src/pki `PkiCredentials`), the certificate cache, and the login
 * state of PKCS#11 tokens. The admin handler (admin-pki.ts) and the exchanges (through the
 * credentials in the live configuration) read it.
 *
 * - Each load of the store (start-up, SIGHUP, `ikeadm flush certcache`) is a generation whose
 *   private keys the pool holds under ids of their own (`ike.privatekeys/<slot>#<generation>`,
 *   config-load.ts), so a load registers the new keys beside the running ones: a refused load
 *   drops the new keys and nothing changed; an adopted one keeps the previous generation's keys
 *   one more generation (exchanges begun under it still sign) and drops the one before.
 * - The cache is flushed whenever what validates may change: a new store, a configuration swap
 *   (cert_root, cert_trust, ignore_crls ...), `ikeadm flush certcache`.
 * - `ikeadm token login` hands the PIN to one crypto worker (the login holds for the process, so
 *   every worker's session sees the keys); this thread keeps only whether each token is locked.
 */
import { IKE_DEFAULTS } from "../config/defaults.js";
import type { IkeConfig } from "../config/index.js";
import type { CryptoPool } from "../crypto/pool.js";
import type { TaskResult } from "../crypto/tasks.js";
import { CertCache } from "../pki/certcache.js";
import { CrlFetcher, LdapDirectory, PkiCredentials, emptySnapshot, formatName, poolVerifier, trustFor, type PkiDirs } from "../pki/index.js";
import type { Logger } from "../log/logger.js";
import type { CertCacheView } from "../control/results.js";
import { loadPki, type LoadedPki } from "./config-load.js";
import type { LiveConfig } from "./live-config.js";

/**
 * The credentials for `config` over `pki`: chain and CRL signatures checked in `pool`, CRLs fetched
 * for `use_http`, certificates and CRLs looked up in `ldap_server`, validated peers in `cache`.
 */
export function credentialsFor(config: IkeConfig, pki: LoadedPki, pool: CryptoPool, log: Logger, cache: CertCache): PkiCredentials {
  const g = config.globals;
  const fetcher = g.useHttp
    ? new CrlFetcher({
        ...(g.proxy !== undefined ? { proxy: g.proxy } : {}),
        onResult: (url, r) => (r.ok ? log.info("CRL fetched", { url, bytes: r.bytes }) : log.warn("CRL fetch failed", { url, reason: r.reason })),
      })
    : undefined;
  const directory = g.ldapServer.length === 0 ? undefined : new LdapDirectory({
    servers: g.ldapServer,
    onResult: (what, r) => log.debug("cert", "ldap_server look-up", { what, ...(r.ok ? { values: r.values } : { failed: r.reason }) }),
    onRefused: (what, reason) => log.warn("ldap_server look-up refused", { what, reason }),
  });
  return new PkiCredentials({
    snapshot: pki.snapshot,
    bindings: pki.bindings,
    globals: g,
    verifier: poolVerifier(pool),
    cache,
    ...(fetcher !== undefined ? { fetcher } : {}),
    ...(directory !== undefined ? { directory } : {}),
  });
}

/** The private-key generations registered in the pool. */
export class PkiKeyGenerations {
  #generation = 0;
  #kept: LoadedPki[] = [];

  constructor(private readonly pool: Pick<CryptoPool, "removePrivateKey">) {}

  /** The generation number for the next load. */
  next(): number {
    return ++this.#generation;
  }

  /** `pki` is now in use: keep it and the one before it, drop older keys. */
  commit(pki: LoadedPki): void {
    this.#kept.push(pki);
    while (this.#kept.length > 2) this.discard(this.#kept.shift()!);
  }

  /** `pki` will not be used (a refused load): its keys leave the pool. */
  discard(pki: LoadedPki): void {
    for (const k of pki.snapshot.keys) this.pool.removePrivateKey(k.keyId);
  }
}

/** Outcome of a store load. */
export interface PkiLoadResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** What the holder needs of the crypto pool. */
export type PkiPool = Pick<CryptoPool, "addPrivateKey" | "removePrivateKey" | "tokenLogin" | "tokenLogout">;

/** See the file comment. */
export class PkiLive {
  readonly #locked = new Map<string, boolean>();

  constructor(
    readonly dirs: PkiDirs,
    readonly pool: PkiPool,
    readonly config: LiveConfig,
    readonly log: Logger,
    readonly certCache: CertCache,
    readonly keys: PkiKeyGenerations,
  ) {
    config.onChange(() => this.certCache.flush());
  }

  /** The store in use (snapshot and key bindings). */
  get current(): LoadedPki {
    return this.config.current.pki ?? { snapshot: emptySnapshot(this.dirs), bindings: [] };
  }

  /** The PKCS#11 library (`pkcs11_path`, or the documented default). */
  library(): string {
    return this.config.current.config.globals.pkcs11Path ?? IKE_DEFAULTS.pkcs11Path;
  }

  /** A store the live configuration has just taken (start-up, reload): keys kept, tokens, cache. */
  adopted(pki: LoadedPki): void {
    this.keys.commit(pki);
    this.#locked.clear();
    for (const b of pki.bindings) if (b.token) this.#locked.set(b.token.label, b.token.locked);
    this.certCache.pin(pki.snapshot.certs.map((c) => c.cert.fingerprint));
    this.certCache.flush();
    const s = pki.snapshot;
    this.log.info("certificate store loaded", { certificates: s.certs.length, crls: s.crls.length, privateKeys: pki.bindings.length });
  }

  /** `ikeadm flush certcache`: re-reads the store alone; swaps it in only when it has no error. */
  async reload(): Promise<PkiLoadResult> {
    const r = await loadPki(this.dirs, this.pool, { pkcs11Library: this.library(), generation: this.keys.next() });
    for (const w of r.warnings) this.log.warn(w);
    if (!r.ok) {
      for (const e of r.errors) this.log.error(e);
      this.keys.discard(r.value);
      return { ok: false, errors: r.errors, warnings: r.warnings };
    }
    this.config.replace({ pki: r.value });
    this.adopted(r.value);
    return { ok: true, errors: [], warnings: r.warnings };
  }

  /** Tokens the store's keys live on, and whether each is locked. */
  tokens(): ReadonlyMap<string, boolean> {
    return this.#locked;
  }

  /**
   * `ikeadm token login`: logs in to `label` with `pin` (wiped here once sent). Fails without
   * touching the token when no key of the store lives on it (reference: "no objects on device").
   * A token already logged in answers `already` (PKCS#11 does not check the PIN then).
   */
  async tokenLogin(label: string, pin: Buffer): Promise<TaskResult<{ keys: number; already: boolean }>> {
    try {
      const keys = this.#keysOn(label);
      if (keys === 0) return { ok: false, error: { code: "IKE_ERR_TOKEN_NO_OBJECT", message: `no private key in ${this.dirs.privateKeysDir} lives on token "${label}"` } };
      const r = await this.pool.tokenLogin(this.library(), label.trimEnd(), pin);
      if (!r.ok) return r;
      this.#locked.set(label.trimEnd(), false);
      this.log.info(r.value ? "PKCS#11 token logged in" : "PKCS#11 token was logged in already", { token: label.trimEnd(), keys });
      return { ok: true, value: { keys, already: !r.value } };
    } finally {
      pin.fill(0);
    }
  }

  /** `ikeadm token logout`. */
  async tokenLogout(label: string): Promise<TaskResult<number>> {
    const keys = this.#keysOn(label);
    if (keys === 0) return { ok: false, error: { code: "IKE_ERR_TOKEN_NO_OBJECT", message: `no private key in ${this.dirs.privateKeysDir} lives on token "${label}"` } };
    const r = await this.pool.tokenLogout(this.library(), label.trimEnd());
    if (!r.ok) return r;
    this.#locked.set(label.trimEnd(), true);
    this.log.info("PKCS#11 token logged out", { token: label.trimEnd(), keys });
    return { ok: true, value: keys };
  }

  #keysOn(label: string): number {
    return this.current.bindings.filter((b) => b.token?.label === label.trimEnd()).length;
  }

  /**
   * `dump certcache`: the store's certificates (trusted when cert_root or cert_trust selects them;
   * with the state of their private key) and then the validated peer certificates of the cache.
   */
  view(): CertCacheView[] {
    const { snapshot, bindings } = this.current;
    const trust = trustFor(snapshot, this.config.current.config.globals);
    const trusted = new Set([...trust.anchors.roots, ...trust.anchors.trusted].map((c) => c.fingerprint));
    const out: CertCacheView[] = snapshot.certs.map((c) => {
      const key = bindings.find((b) => b.cert?.slot === c.slot);
      const linkage = key === undefined ? 0 : key.token && this.#locked.get(key.token.label) !== false ? 1 : 2;
      return {
        id: this.certCache.idFor(c.cert.fingerprint), subject: c.cert.subjectText, issuer: formatName(c.cert.issuer), trusted: trusted.has(c.cert.fingerprint),
        linkage, slot: c.slot, ...(key?.token ? { token: key.token.label } : {}),
      };
    });
    const inStore = new Set(snapshot.certs.map((c) => c.cert.fingerprint));
    for (const e of this.certCache.entries().filter((x) => !inStore.has(x.fingerprint))) {
      out.push({ id: e.id, subject: e.path.leaf.subjectText, issuer: formatName(e.path.leaf.issuer), trusted: false, linkage: -1 });
    }
    return out.sort((a, b) => a.id - b.id);
  }
}
