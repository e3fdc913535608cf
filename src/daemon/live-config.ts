/**
 * The configuration the daemon runs with: rules, pre-shared keys and the certificate store (with
 * the Phase 1 credentials built from rules and store), swapped atomically.
 *
 * Every change (SIGHUP, `ikeadm read|add|del`) builds a complete new snapshot first and replaces
 * the old one in a single assignment, so the engine and the admin socket never see a half-read
 * file; listeners (the engine) are told after the swap. Rule labels get stable key-management
 * cookies (max+1, reused for a label seen before), as the original's label map does.
 *
 * The keys of a replaced pre-shared set are zeroed and returned to the secure slab after the swap
 * (keys the new set still shares, as `add`/`del` do, stay). Nothing else keeps a key past that
 * point: the engine copies the key into its own secure memory at lookup, before any await.
 */
import { releasePreshared, type IkeConfig, type PresharedEntry } from "../config/index.js";
import type { PkiCredentials } from "../pki/index.js";
import type { LoadedPki } from "./config-load.js";

/** One consistent configuration. */
export interface ConfigSnapshot {
  readonly config: IkeConfig;
  readonly preshared: readonly PresharedEntry[];
  /** The certificate store and its registered keys, when the daemon read one. */
  readonly pki?: LoadedPki;
  /** What Phase 1 asks of the certificate layer, for `config` over `pki`. */
  readonly credentials?: PkiCredentials;
  /** Increments on every swap. */
  readonly generation: number;
}

/** Builds the credentials for a configuration and a store (daemon/pki-live.ts `credentialsFor`). */
export type CredentialsFactory = (config: IkeConfig, pki: LoadedPki) => PkiCredentials;

/** Listener for configuration swaps. */
export type ConfigListener = (next: ConfigSnapshot, previous: ConfigSnapshot) => void;

/** Holder of the live snapshot. */
export class LiveConfig {
  #snap: ConfigSnapshot;
  readonly #cookies = new Map<string, number>();
  #nextCookie = 1;
  readonly #listeners = new Set<ConfigListener>();

  readonly #credentials: CredentialsFactory | undefined;

  constructor(config: IkeConfig, preshared: readonly PresharedEntry[], pki?: { readonly loaded: LoadedPki; readonly credentials: CredentialsFactory }) {
    this.#credentials = pki?.credentials;
    this.#snap = { config, preshared, generation: 1, ...this.#certs(config, pki?.loaded) };
    this.#assignCookies(config);
  }

  /** The current snapshot. */
  get current(): ConfigSnapshot {
    return this.#snap;
  }

  /** Replace rules, keys, the store, or any of them, in one step. */
  replace(change: { config?: IkeConfig; preshared?: readonly PresharedEntry[]; pki?: LoadedPki }): ConfigSnapshot {
    const prev = this.#snap;
    const config = change.config ?? prev.config;
    const pki = change.pki ?? prev.pki;
    const certs = change.config === undefined && change.pki === undefined ? { ...(prev.pki ? { pki: prev.pki } : {}), ...(prev.credentials ? { credentials: prev.credentials } : {}) } : this.#certs(config, pki);
    const next: ConfigSnapshot = {
      config,
      preshared: change.preshared ?? prev.preshared,
      ...certs,
      generation: prev.generation + 1,
    };
    this.#assignCookies(next.config);
    this.#snap = next;
    for (const l of this.#listeners) l(next, prev);
    if (next.preshared !== prev.preshared) releasePreshared(prev.preshared, next.preshared);
    return next;
  }

  /** Zeroes and releases the current pre-shared keys (shutdown); the snapshot keeps no keys. */
  releaseKeys(): void {
    const prev = this.#snap;
    this.#snap = { ...prev, preshared: [], generation: prev.generation + 1 };
    releasePreshared(prev.preshared);
  }

  /** Key-management cookie of a rule label. */
  kmcookie(label: string): number {
    return this.#cookies.get(label) ?? 0;
  }

  /** Be told after every swap. Returns the unsubscribe function. */
  onChange(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #certs(config: IkeConfig, pki: LoadedPki | undefined): { pki?: LoadedPki; credentials?: PkiCredentials } {
    if (pki === undefined) return {};
    return this.#credentials === undefined ? { pki } : { pki, credentials: this.#credentials(config, pki) };
  }

  #assignCookies(config: IkeConfig): void {
    for (const r of config.rules) {
      if (!this.#cookies.has(r.label)) this.#cookies.set(r.label, this.#nextCookie++);
    }
  }
}
