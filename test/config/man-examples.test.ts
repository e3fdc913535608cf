/** The EXAMPLES sections of man/ike.config.5 and man/ike.preshared.5 parse without problems. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatDiagnostic, parseIkeConfig, parsePreshared } from "../../src/config/index.js";

const manDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../man");

/** The text of the `.nf` ... `.fi` block under `.SH EXAMPLES`, with roff escapes undone. */
function example(page: string): string {
  const roff = readFileSync(path.join(manDir, page), "utf8");
  const m = /\.SH EXAMPLES\n\.nf\n([\s\S]*?)\n\.fi\n/.exec(roff);
  assert.ok(m, `${page} has an EXAMPLES block`);
  return m[1]!.replace(/\\-/g, "-").replace(/\\e/g, "\\");
}

test("ike.config(5) example parses", () => {
  const r = parseIkeConfig(example("ike.config.5"), "ike.config.5");
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  assert.equal(r.value.rules[0]!.remotePort, 10500);
  assert.deepEqual(r.value.rules[0]!.remoteAddr[1], { kind: "range", family: 4, start: "203.0.113.64", end: "203.0.113.127" });
});

test("ike.preshared(5) example parses", () => {
  const r = parsePreshared(example("ike.preshared.5"), "ike.preshared.5");
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  assert.equal(r.value.length, 3);
  assert.equal(r.value[1]!.key.toString("latin1"), 'correct horse battery "staple"');
});
