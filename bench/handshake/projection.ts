/**
 * What the per-thread CPU of a run on this (2-core) machine projects for a bigger gateway. A
 * projection, not a measurement: it assumes each thread's CPU per negotiation stays what it was
 * here (no cache or memory-bandwidth contention, no extra wake-ups as threads are added), that the
 * load generator runs elsewhere, and that the pool's work spreads evenly over its threads.
 *
 * With `main`, `pool` (all pool threads together) and `total` CPU ms per negotiation, `t` pool
 * threads and `cores` cores, the rate is bounded three ways:
 *   main thread:   1000 / main               (it cannot spread)
 *   pool threads:  t * 1000 / pool           (each thread one core at most)
 *   cores:         cores * 1000 / total      (everything together)
 * and scaling efficiency at t threads is rate(t) / (t * rate(1)).
 */

/** CPU ms per negotiation of one configuration. */
export interface CpuPerNegotiation {
  readonly main: number;
  readonly pool: number;
  readonly total: number;
}

/** A projected rate and which bound set it. */
export interface Projection {
  readonly rate: number;
  readonly bound: "main thread" | "pool threads" | "cores";
}

/** Negotiations per second that `cpu` allows with `threads` pool threads on `cores` cores. */
export function projectRate(cpu: CpuPerNegotiation, threads: number, cores: number): Projection {
  const bounds: Projection[] = [
    { rate: 1000 / cpu.main, bound: "main thread" },
    { rate: threads > 0 && cpu.pool > 0 ? (threads * 1000) / cpu.pool : Number.POSITIVE_INFINITY, bound: "pool threads" },
    { rate: (cores * 1000) / cpu.total, bound: "cores" },
  ];
  return bounds.reduce((a, b) => (b.rate < a.rate ? b : a));
}

/** Scaling efficiency at `threads` against one thread, from the same per-negotiation CPU. */
export function projectEfficiency(cpu: CpuPerNegotiation, threads: number, cores: number): number {
  return projectRate(cpu, threads, cores).rate / (threads * projectRate(cpu, 1, cores).rate);
}
