/**
 * GCs of this isolate as they happen, by kind, through a `gc` PerformanceObserver (which reports
 * them in batches, after the fact). Used by the daemon's memory upkeep: malloc-trim.ts (after
 * full GCs) and heap-reducer.ts (scavenges as the measure of allocation).
 */
import { PerformanceObserver, constants as perf, type PerformanceEntry } from "node:perf_hooks";

/** A GC kind: full (mark-compact) or young-generation (scavenge). */
export type GcKind = "full" | "scavenge";

/** Calls `onGc` for each GC of `kind`; returns the function that stops it. */
export function observeGc(kind: GcKind, onGc: () => void): () => void {
  const want = kind === "full" ? perf.NODE_PERFORMANCE_GC_MAJOR : perf.NODE_PERFORMANCE_GC_MINOR;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind === want) onGc();
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  return () => obs.disconnect();
}
