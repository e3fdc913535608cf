/**
 * Sizes of every table an engine pair keeps (not a test file): the SA manager's maps, the engine's
 * own tables (tasks, waiting Quick Modes, IPsec SAs, rekey entries, embryonic Main Modes, DH slots
 * of unverified peers held), the in-memory kernel's and the clock's pending timers. Leak checks compare a snapshot taken before a run with one taken after.
 */
import type { Pair, Side } from "./harness.js";

/** Sizes of one side's tables. */
export function tables(side: Side): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(side.engine.sas.debugSizes())) out[`sas.${k}`] = v;
  for (const [k, v] of Object.entries(side.engine.debugSizes())) out[`engine.${k}`] = v;
  for (const [k, v] of Object.entries(side.kernel.debugSizes())) out[`kernel.${k}`] = v;
  return out;
}

/** Both sides' tables and the engines' pending timers. */
export function snapshot(p: Pair): { a: Record<string, number>; b: Record<string, number>; engineTimers: number } {
  return { a: tables(p.a), b: tables(p.b), engineTimers: p.clock.timerCount };
}
