/**
 * The handshake bench's latency breakdown (`--probe`): for the slowest 1% of one open-loop run's
 * negotiations (at or above p99) and, for contrast, the middle 10% (p45-p55), how much of each
 * negotiation's span (MM1 to QM3, generator's clock) overlapped the responder's and the
 * generator's GC pauses and event-loop lags (latency-probe.ts). A tail made of responder stalls
 * shows large responder overlaps in the tail row and small ones in the middle row; a tail made of
 * the generator shows in the generator columns; a lag is split into the responder's main thread
 * running (its own work) and waiting, runnable, for a CPU (preempted).
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
  /** Of the overlapped lags, the share the responder's main thread ran on a CPU (its own work). */
  readonly respLagRun: number;
  /** Of the overlapped lags, the share it waited for a CPU (preempted). */
  readonly respLagWait: number;
  readonly genGc: number;
  readonly genLag: number;
}

const isGc = (e: ProbeEvent): boolean => e.kind.startsWith("gc");

/** Sum of the parts of `events` inside [a, b], and of the lags' run and wait times scaled to those parts. */
function overlap(events: readonly ProbeEvent[], a: number, b: number): { ms: number; run: number; wait: number } {
  let ms = 0;
  let run = 0;
  let wait = 0;
  for (const e of events) {
    const lo = Math.max(a, e.at);
    const hi = Math.min(b, e.at + e.ms);
    if (hi <= lo) continue;
    ms += hi - lo;
    const part = e.ms > 0 ? (hi - lo) / e.ms : 0;
    run += (e.runMs ?? 0) * part;
    wait += (e.waitMs ?? 0) * part;
  }
  return { ms, run, wait };
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
  let lagRun = 0;
  let lagWait = 0;
  for (const s of spans) {
    const o = overlap(respLag, s.at, s.at + s.ms);
    lagMs += o.ms;
    lagRun += o.run;
    lagWait += o.wait;
  }
  const none = resp === undefined;
  return {
    n,
    meanMs: mean((s) => s.ms),
    respGc: none ? Number.NaN : mean((s) => overlap(respGc, s.at, s.at + s.ms).ms),
    respLag: none ? Number.NaN : lagMs / Math.max(1, n),
    respLagRun: none || lagMs === 0 ? Number.NaN : lagRun / lagMs,
    respLagWait: none || lagMs === 0 ? Number.NaN : lagWait / lagMs,
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
