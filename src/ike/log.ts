/**
 * The engine's view of logging: the subset of a pino logger it calls (`logger.child({ subsys: "ike" })`
 * from src/log satisfies it), so `ike/` needs no logging dependency and tests can capture lines.
 * Key events also go to `node:diagnostics_channel`, so tests subscribe instead of grepping.
 */
import diagnostics from "node:diagnostics_channel";

/** Structured log calls: fields first, then a fixed message. Fields never carry secrets. */
export interface IkeLog {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  /**
   * Whether a debug call may emit a line now. Callers on the per-message path ask first (through
   * {@link debugOn}) and build their fields only when it says yes; a log without it takes every
   * debug line (tests' recording logs).
   */
  debugEnabled?(): boolean;
}

/** Whether `log` may emit debug lines now: false only when the log says so. */
export function debugOn(log: IkeLog): boolean {
  return log.debugEnabled === undefined || log.debugEnabled();
}

/** Discards everything (the default when the daemon gives no logger). */
export const nullLog: IkeLog = { debug() {}, info() {}, warn() {}, error() {}, debugEnabled: () => false };

/** Published on every ISAKMP SA state change: `{ tag, from, to, reason }`. */
export const saStateChannel = diagnostics.channel("iked:ike:sa-state");
/** Published when a Phase 1 exchange completes or fails: `{ tag, role, ok, notify? }`. */
export const phase1Channel = diagnostics.channel("iked:ike:phase1");
/** Published for every datagram dropped before reaching an SA: `{ reason, peer }`. */
export const dropChannel = diagnostics.channel("iked:ike:drop");
