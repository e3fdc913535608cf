/**
 * The certificate side of the running daemon: the loaded store snapshot with its private keys
 * registered in the crypto pool, the certificate cache, and the login state of PKCS#11 tokens.
 * The admin handler (admin-pki.ts) and, in stage 2, the exchanges read it.
 *
 * - Loading is all or nothing: a store with an error is not swapped in (at startup the daemon then
 *   runs with an empty store and logs why; `flush certcache` and SIGHUP keep the previous one).
 *   XXX: key files are read by the workers when first used, so a key file changed on disk reaches
 *   a worker that loads it later even while the old snapshot stays.
 * - The cache is flushed whenever what validates may change: a new store, a configuration swap
 *   (cert_root, cert_trust, ignore_crls ...), `ikeadm flush certcache`.
 * - `ikeadm token login` hands the PIN to one crypto worker (the login holds for the process, so
 *   every worker's session sees the keys); this thread keeps only whether each token is locked.
 */
import { IKE_DEFAULTS } from "../config/defaults.js";
import type { IkeConfig } from "../config/index.js";
import type { TaskResult } from "../crypto/tasks.js";
import { CertCache } from "../pki/certcache.js";
import { LdapDirectory, emptySnapshot, formatName, trustFor, type KeyRegistry, type PkiDirs } from "../pki/index.js";
import type { Logger } from "../log/logger.js";
import type { CertCacheView } from "../control/results.js";
import { loadPki, type LoadedPki } from "./config-load.js";

/** What the holder needs of the crypto pool. */
export interface PkiPool extends KeyRegistry {
  tokenLogin(library: string, token: string, pin: Uint8Array): Promise<TaskResult<boolean>>;
  tokenLogout(library: string, token: string): Promise<TaskResult<boolean>>;
  removePrivateKey(keyId: string): boolean;
}

/** The live configuration, as far as the PKI needs it (src/daemon/live-config.ts). */
export interface PkiConfigSource {
  readonly current: { readonly config: IkeConfig };
  onChange(listener: () => void): () => void;
}

/** Outcome of a store load. */
export interface PkiLoadResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** See the file comment. */
export class PkiLive {
  readonly certCache: CertCache;
  #loaded: LoadedPki;
  readonly #locked = new Map<string, boolean>();
  #ldap: { servers: string; dir: LdapDirectory | undefined } | undefined;

  private constructor(
    readonly dirs: PkiDirs,
    readonly pool: PkiPool,
    readonly config: PkiConfigSource,
    readonly log: Logger,
    cache: CertCache,
  ) {
    this.certCache = cache;
    this.#loaded = { snapshot: emptySnapshot(dirs), bindings: [] };
    config.onChange(() => this.certCache.flush());
  }

  /** Loads the store (problems are logged; the daemon runs with an empty store then). */
  static async start(o: { dirs: PkiDirs; pool: PkiPool; config: PkiConfigSource; log: Logger; cache?: CertCache }): Promise<PkiLive> {
    const live = new PkiLive(o.dirs, o.pool, o.config, o.log, o.cache ?? new CertCache());
    const r = await live.reload();
    if (!r.ok) o.log.error("certificate store not loaded: certificates and private keys are unavailable until it loads ('ikeadm flush certcache' retries)", { errors: r.errors.length });
    return live;
  }

  /** The loaded snapshot and key bindings. */
  get current(): LoadedPki {
    return this.#loaded;
  }

  /** The PKCS#11 library (`pkcs11_path`, or the documented default). */
  library(): string {
    return this.config.current.config.globals.pkcs11Path ?? IKE_DEFAULTS.pkcs11Path;
  }

  /** Re-reads the store; swaps it in (and flushes the cache) only when it has no error. */
  async reload(): Promise<PkiLoadResult> {
    const r = await loadPki(this.dirs, this.pool, this.library());
    for (const w of r.warnings) this.log.warn(w);
    if (!r.ok) {
      for (const e of r.errors) this.log.error(e);
      return { ok: false, errors: r.errors, warnings: r.warnings };
    }
    const gone = this.#loaded.bindings.filter((b) => !r.value.bindings.some((n) => n.keyId === b.keyId));
    for (const b of gone) this.pool.removePrivateKey(b.keyId);
    this.#loaded = r.value;
    this.#locked.clear();
    for (const b of r.value.bindings) if (b.token) this.#locked.set(b.token.label, b.token.locked);
    this.certCache.pin(r.value.snapshot.certs.map((c) => c.cert.fingerprint));
    this.certCache.flush();
    // What the directory answered is cached certificates too.
    this.#ldap = undefined;
    const s = r.value.snapshot;
    this.log.info("certificate store loaded", { certificates: s.certs.length, crls: s.crls.length, privateKeys: r.value.bindings.length });
    return { ok: true, errors: [], warnings: r.warnings };
  }

  /**
   * The `ldap_server` directory (undefined without ldap_server), for stage 2 to pass to
   * `trustFor`; made anew when the server list changes or the store reloads.
   */
  directory(): LdapDirectory | undefined {
    const list = this.config.current.config.globals.ldapServer;
    const servers = list.map((x) => `${x.host}:${x.port}`).join(",");
    if (this.#ldap?.servers !== servers) {
      const dir = list.length === 0 ? undefined : new LdapDirectory({
        servers: list,
        onResult: (what, r) => this.log.debug("cert", "ldap_server look-up", { what, ...(r.ok ? { values: r.values } : { failed: r.reason }) }),
      });
      this.#ldap = { servers, dir };
    }
    return this.#ldap.dir;
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
    return this.#loaded.bindings.filter((b) => b.token?.label === label.trimEnd()).length;
  }

  /**
   * `dump certcache`: the store's certificates (trusted when cert_root or cert_trust selects them;
   * with the state of their private key) and then the validated peer certificates of the cache.
   */
  view(): CertCacheView[] {
    const { snapshot, bindings } = this.#loaded;
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
