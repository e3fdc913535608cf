/**
 * The configuration the daemon runs with: rules and pre-shared keys, swapped atomically.
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

/** One consistent configuration. */
export interface ConfigSnapshot {
  readonly config: IkeConfig;
  readonly preshared: readonly PresharedEntry[];
  /** Increments on every swap. */
  readonly generation: number;
}

/** Listener for configuration swaps. */
export type ConfigListener = (next: ConfigSnapshot, previous: ConfigSnapshot) => void;

/** Holder of the live snapshot. */
export class LiveConfig {
  #snap: ConfigSnapshot;
  readonly #cookies = new Map<string, number>();
  #nextCookie = 1;
  readonly #listeners = new Set<ConfigListener>();

  constructor(config: IkeConfig, preshared: readonly PresharedEntry[]) {
    this.#snap = { config, preshared, generation: 1 };
    this.#assignCookies(config);
  }

  /** The current snapshot. */
  get current(): ConfigSnapshot {
    return this.#snap;
  }

  /** Replace rules, keys or both in one step. */
  replace(change: { config?: IkeConfig; preshared?: readonly PresharedEntry[] }): ConfigSnapshot {
    const prev = this.#snap;
    const next: ConfigSnapshot = {
      config: change.config ?? prev.config,
      preshared: change.preshared ?? prev.preshared,
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

  #assignCookies(config: IkeConfig): void {
    for (const r of config.rules) {
      if (!this.#cookies.has(r.label)) this.#cookies.set(r.label, this.#nextCookie++);
    }
  }
}
