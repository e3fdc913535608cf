/**
 * Skips that CI never takes. Outside CI a test whose requirement is missing (the interop harness,
 * root, a tool, an IPv6 loopback) is skipped, and the runner prints the reason. Under `CI=true`
 * (what .ci/run sets, and what GitHub Actions, GitLab CI and most others set on their own) the
 * same test fails instead and names what is missing, so a CI summary always shows `# skipped 0`.
 */
import type { TestContext } from "node:test";

/** Whether this run is CI's: `CI` set to anything but "", "0" or "false". */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "0" && v !== "false";
}

/** Thrown where a skip would be taken under CI. */
export class MissingInCi extends Error {
  readonly code = "IKE_ERR_TEST_REQUIREMENT";
  constructor(reason: string) {
    super(`CI=true, so this test may not be skipped, but it cannot run here: ${reason}`);
    this.name = "MissingInCi";
  }
}

/**
 * For `test(name, { skip: skipUnless(ok, reason) }, fn)`: `false` when `ok`; otherwise the reason
 * (a skip), or under CI a throw, which fails the test file with the reason.
 */
export function skipUnless(ok: boolean, reason: string): string | false {
  if (ok) return false;
  if (inCi()) throw new MissingInCi(reason);
  return reason;
}

/** `skipUnless` for a check that returns why it cannot run (or false / undefined when it can). */
export function skipFor(why: string | false | undefined): string | false {
  return why ? skipUnless(false, why) : false;
}

/** Inside a running test: skip it with `reason`, or under CI fail it with the reason. */
export function skipNow(t: TestContext, reason: string): void {
  if (inCi()) throw new MissingInCi(reason);
  t.skip(reason);
}
