/**
 * The engine's per-exchange boundary (issue 11, crash policy). An exception inside one exchange's
 * processing — a message on an SA's queue, a task step, an SA timer, a retransmission — ends that
 * exchange: the SA is torn down (its tables, timers, larval SPIs and keys with it) and one error
 * line names it by its tag ({@link IsakmpSa.fault}). An exception in the first look at a datagram,
 * before any SA owns it, drops the datagram (dispatch.ts). The engine carries on either way.
 *
 * An invariant failure (`isInvariantFailure`: an `InvariantError` or a failed `assert`) is not
 * the exchange's problem: the engine's state can no longer be trusted, so it goes to the `fatal`
 * the engine was given (the daemon passes its crash policy's, which stops cleanly and exits 70).
 */
import { isInvariantFailure } from "../errors.js";

export { isInvariantFailure };

/** Where an invariant failure goes. */
export type Fatal = (err: unknown) => void;

/**
 * The default {@link Fatal}: thrown again outside the engine, on the next tick, where the
 * process's `uncaughtException` handler (the crash policy, or a test runner) sees it.
 */
export const rethrowOutside: Fatal = (err) => {
  process.nextTick(() => {
    throw err;
  });
};

/** Log fields for an error: message, name, code and stack (never key material, STYLE §5). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { err: String(err) };
  const code = (err as { code?: unknown }).code;
  return { err: err.message, name: err.name, ...(typeof code === "string" ? { code } : {}), stack: err.stack };
}
