/**
 * The certificate side of the running configuration — wiring only: the Phase 1 credentials the
 * engine asks (src/pki `PkiCredentials`) built from ike.config and one generation of the store,
 * with chain and CRL signatures checked in the crypto pool and CRLs fetched for `use_http`.
 *
 * Each load of the store (start-up, SIGHUP) is a generation whose private keys the pool holds
 * under ids of their own (`ike.privatekeys/<slot>#<generation>`, config-load.ts), so a reload
 * registers the new keys beside the running ones: a refused reload drops the new keys and nothing
 * changed; a swap keeps the previous generation's keys one more generation (exchanges started
 * under it still sign) and drops the one before.
 */
import type { IkeConfig } from "../config/types.js";
import type { CryptoPool } from "../crypto/pool.js";
import type { Logger } from "../log/logger.js";
import { CrlFetcher, PkiCredentials, poolVerifier } from "../pki/index.js";
import type { LoadedPki } from "./config-load.js";

/** The credentials for `config` over `pki`, checking signatures in `pool`. */
export function credentialsFor(config: IkeConfig, pki: LoadedPki, pool: CryptoPool, log: Logger): PkiCredentials {
  const g = config.globals;
  const fetcher = g.useHttp
    ? new CrlFetcher({
        ...(g.proxy !== undefined ? { proxy: g.proxy } : {}),
        onResult: (url, r) => (r.ok ? log.info("CRL fetched", { url, bytes: r.bytes }) : log.warn("CRL fetch failed", { url, reason: r.reason })),
      })
    : undefined;
  return new PkiCredentials({
    snapshot: pki.snapshot,
    bindings: pki.bindings,
    globals: g,
    verifier: poolVerifier(pool),
    ...(fetcher !== undefined ? { fetcher } : {}),
  });
}

/** The private-key generations registered in the pool. */
export class PkiKeyGenerations {
  #generation = 0;
  #kept: LoadedPki[] = [];

  constructor(private readonly pool: CryptoPool) {}

  /** The generation number for the next load. */
  next(): number {
    return ++this.#generation;
  }

  /** `pki` is now in use: keep it and the one before it, drop older keys. */
  commit(pki: LoadedPki): void {
    this.#kept.push(pki);
    while (this.#kept.length > 2) this.discard(this.#kept.shift()!);
  }

  /** `pki` will not be used (a refused reload): its keys leave the pool. */
  discard(pki: LoadedPki): void {
    for (const k of pki.snapshot.keys) this.pool.removePrivateKey(k.keyId);
  }
}
