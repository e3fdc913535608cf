/**
 * Waiting in tests: always for a condition, polled, with a generous bound; never a fixed sleep.
 * A loaded CI machine (two cores, other jobs, a CPU hog in the flake hunt) can be many times
 * slower than a quiet one, so the bound is only there to turn a hang into a failure that says
 * what never happened. The poll ends as soon as the condition holds, so the bound costs nothing.
 */

/** Default bound of a wait, ms. */
export const WAIT_MS = 30_000;

/** Bound for `status --wait` on a harness peer, seconds (the script returns as soon as it holds). */
export const PEER_WAIT_S = 30;

/**
 * Poll `pred` every `everyMs` until it holds; reject naming `what` after `ms` (a function is
 * called then, so the message can say how far things got).
 */
export async function poll(pred: () => boolean | Promise<boolean>, what: string | (() => string), ms = WAIT_MS, everyMs = 100): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "function" ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
