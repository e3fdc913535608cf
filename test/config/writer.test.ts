/**
 * Writers: parse → write → parse yields the same objects, for the fixture corpus and for
 * generated configurations (fast-check; the seed is printed on failure).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  formatDiagnostic, formatIkeConfig, formatIkeConfigRules, formatPreshared, parseIkeConfig, parsePreshared, type IkeConfig,
} from "../../src/config/index.js";
import { configArb, presharedArb } from "./arbitraries.js";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/config");

function reparse(c: IkeConfig): IkeConfig {
  const text = formatIkeConfig(c);
  const r = parseIkeConfig(text, "written");
  // Weak-algorithm warnings (weak-algorithms.test.ts) are the only diagnostics a valid config draws.
  assert.deepEqual(r.diagnostics.filter((d) => d.code !== "IKE_ERR_CFG_WEAK_ALG").map(formatDiagnostic), [], text);
  return r.value;
}

test("corpus: every fixture config survives write and re-parse", () => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith(".conf"));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const parsed = parseIkeConfig(readFileSync(path.join(fixtures, f), "utf8"), f);
    assert.equal(parsed.ok, true, parsed.diagnostics.map(formatDiagnostic).join("\n"));
    const first = parsed.value;
    assert.ok(first.rules.length > 0, `${f} has rules`);
    assert.deepEqual(reparse(first), first, f);
  }
});

test("corpus: every fixture preshared file survives write and re-parse", () => {
  for (const f of readdirSync(fixtures).filter((x) => x.endsWith(".preshared"))) {
    const parsed = parsePreshared(readFileSync(path.join(fixtures, f), "utf8"), f);
    assert.deepEqual(parsed.diagnostics.map(formatDiagnostic), [], f);
    const first = parsed.value;
    assert.ok(first.length > 0, `${f} has entries`);
    const again = parsePreshared(formatPreshared(first), "written");
    assert.deepEqual(again.diagnostics, []);
    assert.deepEqual(again.value, first, f);
  }
});

test("written config text is what an administrator would write", () => {
  const c = parseIkeConfig(
    'retry_timer_init 0.25\np1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n{ label "a \\"quoted\\" label" local_addr 10.0.0.0/8 remote_addr 10.1.0.1-10.1.0.9 remote_port 4501 }',
    "t",
  ).value;
  assert.equal(
    formatIkeConfig(c),
    [
      "# ike.config written by iked\n",
      "retry_timer_init 0.25\n",
      "p1_xform { auth_method preshared oakley_group 14 encr_alg aes(256..256) auth_alg sha256 }\n",
      '{\n\tlabel "a \\"quoted\\" label"\n\tlocal_addr 10.0.0.0/8\n\tremote_addr 10.1.0.1-10.1.0.9\n\tremote_port 4501\t# iked extension\n}\n',
    ].join("\n"),
  );
});

test("formatIkeConfigRules writes just the rules", () => {
  const c = parseIkeConfig(readFileSync(path.join(fixtures, "example-b.conf"), "utf8"), "b").value;
  const r = parseIkeConfig(formatIkeConfigRules(c.rules), "rules");
  assert.equal(r.ok, true);
  assert.deepEqual(r.value.rules, c.rules);
});

test("a line break in a string cannot be written", () => {
  const c = parseIkeConfig('{ label "x" local_addr 1.1.1.1 remote_addr 2.2.2.2 p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg des } }', "t").value;
  assert.throws(() => formatIkeConfig({ ...c, rules: [{ ...c.rules[0]!, label: "a\nb" }] }), { code: "IKE_ERR_CFG_UNREPRESENTABLE" });
});

test("property: generated configs round-trip through the writer", () => {
  fc.assert(fc.property(configArb, (c) => {
    assert.deepEqual(reparse(c), c);
  }), { numRuns: 300 });
});

test("property: generated preshared entries round-trip through the writer", () => {
  fc.assert(fc.property(presharedArb, (entries) => {
    const r = parsePreshared(formatPreshared(entries), "written");
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.value, entries);
  }), { numRuns: 300 });
});
