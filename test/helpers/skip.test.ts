/**
 * Skips outside CI, failures naming the reason under CI=true: the helper, and an interop test file
 * run without its harness both ways.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { MissingInCi, inCi, skipUnless } from "./skip.js";

test("CI is on for any value but empty, 0 and false", () => {
  for (const v of ["true", "1", "yes", "TRUE"]) assert.equal(inCi({ CI: v }), true, v);
  for (const v of [undefined, "", "0", "false", "False"]) assert.equal(inCi({ CI: v }), false, String(v));
});

test("skipUnless: false when met; otherwise the reason, or a throw naming it under CI", () => {
  const saved = process.env.CI;
  try {
    delete process.env.CI;
    assert.equal(skipUnless(true, "x"), false);
    assert.equal(skipUnless(false, "tool absent"), "tool absent");
    process.env.CI = "true";
    assert.equal(skipUnless(true, "x"), false);
    assert.throws(() => skipUnless(false, "tool absent"), (e: unknown) => e instanceof MissingInCi && /cannot run here: tool absent/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

/** Run one compiled test file with the harness pointed at a folder that does not exist. */
function runWithoutHarness(ci: string): Promise<{ code: number | null; out: string }> {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../load/strongswan.test.js");
  // Without the runner's own variable, which would make the child think it is a subtest.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, ["--openssl-legacy-provider", "--test", file], { env: { ...env, CI: ci, IKED_SHARED: "/nonexistent-iked-shared" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

test("an interop file without its harness: skipped with the reason outside CI, failed with the reason under CI", async () => {
  const outside = await runWithoutHarness("");
  assert.equal(outside.code, 0, outside.out);
  assert.match(outside.out, /# SKIP interop harness missing: \/nonexistent-iked-shared\/interop\//);
  assert.match(outside.out, /^# skipped 2$/m);

  const ci = await runWithoutHarness("true");
  assert.notEqual(ci.code, 0, ci.out);
  assert.match(ci.out, /CI=true, so this test may not be skipped, but it cannot run here: interop harness missing: \/nonexistent-iked-shared\/interop\//);
  assert.match(ci.out, /^# skipped 0$/m);
  assert.match(ci.out, /^# fail 1$/m);
});
