/**
 * The handshake bench's latency breakdown (`--probe`): for the slowest 1% of one open-loop run's
 * negotiations (at or above p99) and, for contrast, the middle 10% (p45-p55), how much of each
 * negotiation's span (MM1 to QM3, generator's clock) overlapped the responder's and the
 * generator's GC pauses and event-loop lags (latency-probe.ts). A tail made of responder stalls
 * shows large responder overlaps in the tail row and small ones in the middle row; a tail made of
 * the generator or of waiting for a CPU shows in the generator columns or in a low CPU share of
 * the lags.
 */
import type { ProbeEvent } from "./latency-probe.js";

/** One negotiation, times in ms since the epoch. */
export interface Span {
  readonly at: number;
  readonly ms: number;
}

/** Mean overlaps (ms per negotiation) of one group of negotiations. */
export interface Overlaps {
  readonly n: number;
  readonly meanMs: number;
  readonly respGc: number;
  readonly respLag: number;
  /** The responder's CPU (all threads) during the overlapped lags / their length. */
  readonly respLagCpu: number;
  readonly genGc: number;
  readonly genLag: number;
}

const isGc = (e: ProbeEvent): boolean => e.kind.startsWith("gc");

/** Sum of the parts of `events` inside [a, b]; with `cpu`, also the lags' CPU scaled to the part inside. */
function overlap(events: readonly ProbeEvent[], a: number, b: number): { ms: number; cpu: number } {
  let ms = 0;
  let cpu = 0;
  for (const e of events) {
    const lo = Math.max(a, e.at);
    const hi = Math.min(b, e.at + e.ms);
    if (hi <= lo) continue;
    ms += hi - lo;
    if (e.cpuMs !== undefined && e.ms > 0) cpu += (e.cpuMs * (hi - lo)) / e.ms;
  }
  return { ms, cpu };
}

/** Overlaps of `spans` with the responder's (`resp`, undefined for charon) and the generator's events. */
export function overlaps(spans: readonly Span[], resp: readonly ProbeEvent[] | undefined, gen: readonly ProbeEvent[]): Overlaps {
  const n = spans.length;
  const mean = (f: (s: Span) => number): number => (n === 0 ? Number.NaN : spans.reduce((t, s) => t + f(s), 0) / n);
  const respGc = resp?.filter(isGc) ?? [];
  const respLag = resp?.filter((e) => !isGc(e)) ?? [];
  const genGc = gen.filter(isGc);
  const genLag = gen.filter((e) => !isGc(e));
  let lagMs = 0;
  let lagCpu = 0;
  for (const s of spans) {
    const o = overlap(respLag, s.at, s.at + s.ms);
    lagMs += o.ms;
    lagCpu += o.cpu;
  }
  const none = resp === undefined;
  return {
    n,
    meanMs: mean((s) => s.ms),
    respGc: none ? Number.NaN : mean((s) => overlap(respGc, s.at, s.at + s.ms).ms),
    respLag: none ? Number.NaN : lagMs / Math.max(1, n),
    respLagCpu: none || lagMs === 0 ? Number.NaN : lagCpu / lagMs,
    genGc: mean((s) => overlap(genGc, s.at, s.at + s.ms).ms),
    genLag: mean((s) => overlap(genLag, s.at, s.at + s.ms).ms),
  };
}

/** The slowest 1% (at or above the nearest-rank p99) and the middle 10% of `spans`. */
export function tailAndMiddle(spans: readonly Span[]): { tail: Span[]; middle: Span[] } {
  const sorted = [...spans].sort((a, b) => a.ms - b.ms);
  const n = sorted.length;
  if (n === 0) return { tail: [], middle: [] };
  const p99 = sorted[Math.max(0, Math.ceil(0.99 * n) - 1)]!.ms;
  return { tail: sorted.filter((s) => s.ms >= p99), middle: sorted.slice(Math.floor(0.45 * n), Math.max(Math.floor(0.45 * n) + 1, Math.floor(0.55 * n))) };
}
