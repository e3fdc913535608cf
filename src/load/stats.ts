/**
 * Latency statistics of a load run: a bounded sample store and nearest-rank percentiles.
 *
 * Why bounded: `--duration` runs have no count limit, so the store keeps at most `capacity`
 * samples and then switches to reservoir sampling (Vitter's algorithm R), which keeps every
 * percentile an unbiased estimate while memory stays fixed. `max` and `count` stay exact.
 */

/** Percentiles reported for one latency series, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Default most samples kept (8 MiB of float64). */
export const DEFAULT_SAMPLE_CAPACITY = 1 << 20;

/**
 * Nearest-rank percentile (the smallest sample with at least `p`% of samples at or below it) of
 * an ascending-sorted array; NaN when empty. `p` is clamped to [0, 100].
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const q = Math.min(100, Math.max(0, p));
  const rank = Math.max(1, Math.ceil((q / 100) * n));
  return sorted[rank - 1]!;
}

/** A latency series with fixed memory. */
export class LatencyRecorder {
  #samples: Float64Array;
  #kept = 0;
  #seen = 0;
  #max = 0;
  #sum = 0;
  readonly #capacity: number;
  readonly #random: () => number;

  /** `random` (in [0, 1)) picks reservoir slots once full; tests pass a seeded one. */
  constructor(capacity = DEFAULT_SAMPLE_CAPACITY, random: () => number = Math.random) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#samples = new Float64Array(Math.min(this.#capacity, 1024));
    this.#random = random;
  }

  /** Add one latency in milliseconds; negative or non-finite values are a caller bug. */
  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency ${ms} ms`);
    this.#seen++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
    if (this.#kept < this.#capacity) {
      if (this.#kept === this.#samples.length) {
        const grown = new Float64Array(Math.min(this.#capacity, this.#samples.length * 2));
        grown.set(this.#samples);
        this.#samples = grown;
      }
      this.#samples[this.#kept++] = ms;
      return;
    }
    const slot = Math.floor(this.#random() * this.#seen);
    if (slot < this.#capacity) this.#samples[slot] = ms;
  }

  /** Samples added (not only those kept). */
  get count(): number {
    return this.#seen;
  }

  /** p50/p90/p99 over the kept samples; count, max and mean over all. Zeros when empty. */
  summary(): LatencySummary {
    if (this.#seen === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.#samples.slice(0, this.#kept).sort();
    return {
      count: this.#seen,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.#max,
      mean: this.#sum / this.#seen,
    };
  }
}
