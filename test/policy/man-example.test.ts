/** The EXAMPLES section of man/ipsecinit.conf.5 parses, and means what its comments say. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EncAlg } from "../../src/kernel/algorithms.js";
import { parseIpsecPolicy, selectForAcquire } from "../../src/policy/index.js";

const manDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../man");

test("ipsecinit.conf(5) example parses and drives ACQUIRE as described", () => {
  const roff = readFileSync(path.join(manDir, "ipsecinit.conf.5"), "utf8");
  const m = /\.SH EXAMPLES\n\.nf\n([\s\S]*?)\n\.fi\n/.exec(roff);
  assert.ok(m, "ipsecinit.conf.5 has an EXAMPLES block");
  const { policy, errors } = parseIpsecPolicy(m[1]!.replace(/\\-/g, "-").replace(/\\e/g, "\\"), "ipsecinit.conf.5");
  assert.deepEqual(errors, []);
  assert.equal(policy.entries.length, 4);
  const dns = selectForAcquire(policy, { src: { address: "192.0.2.10", port: 40000 }, dst: { address: "192.0.2.53", port: 53 }, ulp: 17 });
  assert.equal(dns.kind, "bypass");
  const telnet = selectForAcquire(policy, { src: { address: "192.0.2.10", port: 40000 }, dst: { address: "192.0.2.20", port: 23 }, ulp: 6 });
  assert.ok(telnet.kind === "ipsec");
  assert.deepEqual(telnet.proposals.map((p) => p.protocols[0]!.transforms[0]!.encAlg), [EncAlg.TripleDesCbc, EncAlg.AesCbc]);
});
