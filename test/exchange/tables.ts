/**
 * Sizes of every table an engine pair keeps (not a test file): the SA manager's maps, the engine's
 * own tables (tasks, waiting Quick Modes, IPsec SAs, rekey entries, embryonic Main Modes, DH slots
 * of unverified peers held), the in-memory kernel's and the clock's pending timers. Leak checks compare a snapshot taken before a run with one taken after.
 */
import type { Pair, Side } from "./harness.js";

/** Sizes of one side's tables (the SA manager's private maps are read for the test; they are plain TS-private). */
export function tables(side: Side): Record<string, number> {
  const sas = side.engine.sas as unknown as Record<string, Map<unknown, unknown> | Set<unknown>>;
  const out: Record<string, number> = {};
  for (const name of ["byPair", "byHalf", "byPeer", "byRule", "halfOpen", "halfOpenPerPeer", "phase2"]) out[`sas.${name}`] = sas[name]!.size;
  for (const [k, v] of Object.entries(side.engine.debugSizes())) out[`engine.${k}`] = v;
  for (const [k, v] of Object.entries(side.kernel.debugSizes())) out[`kernel.${k}`] = v;
  return out;
}

/** Both sides' tables and the engines' pending timers. */
export function snapshot(p: Pair): { a: Record<string, number>; b: Record<string, number>; engineTimers: number } {
  return { a: tables(p.a), b: tables(p.b), engineTimers: p.clock.timerCount };
}
