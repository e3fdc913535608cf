/**
 * Weak algorithms in ike.config (issue 11 item 9): DES, MD5 and groups 1 and 2 draw a warning that
 * names the rule, at the transform or `p2_pfs` that brings them in, and never an error. `in.iked -c`
 * prints the warnings and still passes the file.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { formatDiagnostic, parseIkeConfig } from "../../src/config/index.js";
import { IN_IKED, makeRoot, rootPath, run } from "../daemon/harness.js";

const ADDRS = "local_addr 10.0.0.1 remote_addr 10.0.0.2";
const STRONG = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }";

function warnings(text: string): string[] {
  const r = parseIkeConfig(text, "w.conf");
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  return r.diagnostics.filter((d) => d.code === "IKE_ERR_CFG_WEAK_ALG").map((d) => {
    assert.equal(d.severity, "warning");
    return formatDiagnostic(d);
  });
}

test("a strong configuration draws no weak-algorithm warning", () => {
  assert.deepEqual(warnings(`${STRONG}\n{ label "a" ${ADDRS} p2_pfs 14 }\n`), []);
});

test("a rule's own transform with des, md5 and group 2: one warning at the transform naming the rule", () => {
  const text = `{ label "old peer" ${ADDRS}\n  p1_xform { auth_method preshared oakley_group 2 auth_alg md5 encr_alg des }\n  ${STRONG}\n}\n`;
  const w = warnings(text);
  assert.equal(w.length, 1, w.join("\n"));
  assert.match(w[0]!, /^w\.conf:2:3: warning: rule 'old peer': p1_xform uses weak des \(56-bit key\), md5 \(collisions\), group 2 \(1024-bit MODP\);/);
  // Warnings only: the rule loads with both transforms.
  assert.equal(parseIkeConfig(text, "w.conf").value.rules[0]?.p1Xforms.length, 2);
});

test("each weak part is named on its own: group 1 alone, md5 alone", () => {
  const g1 = warnings(`{ label "a" ${ADDRS} p1_xform { auth_method preshared oakley_group 1 auth_alg sha1 encr_alg aes } }`);
  assert.equal(g1.length, 1);
  assert.match(g1[0]!, /rule 'a': p1_xform uses weak group 1 \(768-bit MODP\);/);
  const md5 = warnings(`{ label "b" ${ADDRS} p1_xform { auth_method preshared oakley_group 14 auth_alg md5 encr_alg 3des } }`);
  assert.match(md5[0]!, /rule 'b': p1_xform uses weak md5 \(collisions\);/);
  assert.doesNotMatch(md5[0]!.split(";")[0]!, /3des|group 14/, "only the weak parts are named");
});

test("a weak file-level transform names the rules that inherit it, and only those", () => {
  const text = [
    "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg 3des }",
    `{ label "inherits 1" ${ADDRS} }`,
    `{ label "own" ${ADDRS} ${STRONG} }`,
    `{ label "inherits 2" local_addr 10.0.0.1 remote_addr 10.0.0.3 }`,
  ].join("\n");
  const w = warnings(text);
  assert.deepEqual(w.length, 1, w.join("\n"));
  assert.match(w[0]!, /^w\.conf:1:1: warning: file-level p1_xform uses weak group 2 \(1024-bit MODP\) \(used by rules 'inherits 1', 'inherits 2'\);/);
});

test("a long list of heirs is cut after five names", () => {
  const rules = Array.from({ length: 8 }, (_, i) => `{ label "r${i}" local_addr 10.0.0.1 remote_addr 10.0.1.${i} }`);
  const w = warnings(["p1_xform { auth_method preshared oakley_group 1 auth_alg sha1 encr_alg aes }", ...rules].join("\n"));
  assert.match(w[0]!, /used by rules 'r0', 'r1', 'r2', 'r3', 'r4' and 3 more\)/);
});

test("p2_pfs 1 or 2, in a rule or at file level (naming the rules that inherit it)", () => {
  const text = ["p2_pfs 1", STRONG, `{ label "a" ${ADDRS} }`, `{ label "b" local_addr 10.0.0.1 remote_addr 10.0.0.3\n p2_pfs 2 }`, `{ label "c" local_addr 10.0.0.1 remote_addr 10.0.0.4 p2_pfs 14 }`].join("\n");
  const w = warnings(text);
  assert.equal(w.length, 2, w.join("\n"));
  assert.match(w[0]!, /^w\.conf:1:1: warning: file-level p2_pfs uses weak group 1 \(768-bit MODP\) \(used by rule 'a'\);/);
  assert.match(w[1]!, /^w\.conf:5:2: warning: rule 'b': p2_pfs uses weak group 2 \(1024-bit MODP\);/);
});

test("a rule refused for another reason draws no weak warning of its own", () => {
  const r = parseIkeConfig(`{ label "bad" local_addr 10.0.0.1 p1_xform { auth_method preshared oakley_group 2 auth_alg md5 encr_alg des } }`, "w.conf");
  assert.equal(r.ok, false);
  assert.deepEqual(r.diagnostics.filter((d) => d.code === "IKE_ERR_CFG_WEAK_ALG"), []);
});

test("in.iked -c prints the warning with file:line:col and the rule, and passes the file", async () => {
  const config = `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }\n{\n\tlabel "legacy"\n\tlocal_addr 127.0.0.1\n\tremote_addr 127.0.0.2\n\tp1_xform { auth_method preshared oakley_group 2 auth_alg md5 encr_alg des }\n}\n`;
  const root = makeRoot(config);
  try {
    const res = await run(IN_IKED, ["-c", "--root", root]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /configuration OK/);
    const file = rootPath.config(root);
    assert.ok(res.stderr.includes(`${file}:6:2: warning: rule 'legacy': p1_xform uses weak des (56-bit key), md5 (collisions), group 2 (1024-bit MODP)`), res.stderr);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
