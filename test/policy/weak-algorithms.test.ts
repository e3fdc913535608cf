/**
 * Weak IPsec algorithms in ipsecinit.conf (issue 11 item 9): des and md5 (as AH or ESP
 * authentication) draw one warning per entry, naming its file:line and index; never an error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatPolicyWarning, parseIpsecPolicy, weakPolicyAlgorithms } from "../../src/policy/index.js";

function warningsOf(text: string): string[] {
  const r = parseIpsecPolicy(text, "/etc/inet/ipsecinit.conf");
  assert.deepEqual(r.errors, []);
  return weakPolicyAlgorithms(r.policy).map(formatPolicyWarning);
}

test("strong or unspecified algorithms draw nothing", () => {
  assert.deepEqual(warningsOf([
    "{ laddr 10.0.0.1 raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha256 sa shared }",
    "{ raddr 10.0.0.3 } ipsec { encr_algs any encr_auth_algs any }",
    "{ raddr 10.0.0.4 } ipsec { auth_algs sha1 }",
    "{ raddr 10.0.0.5 } bypass {}",
  ].join("\n")), []);
});

test("des and md5 are named with the entry's line and index, alternatives included", () => {
  const w = warningsOf([
    "# legacy peers",
    "{ laddr 10.0.0.1 raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }",
    "{ raddr 10.0.0.3 } ipsec { encr_algs des encr_auth_algs md5 sa shared }",
    "{ raddr 10.0.0.4 } ipsec { encr_algs aes encr_auth_algs sha1 } or ipsec { auth_algs hmac-md5 }",
  ].join("\n"));
  assert.deepEqual(w, [
    "/etc/inet/ipsecinit.conf:3: warning: policy entry 2 uses weak encr_algs des (56-bit key), encr_auth_algs md5 (MD5); accepted for compatibility; prefer aes and sha256 or better",
    "/etc/inet/ipsecinit.conf:4: warning: policy entry 3 uses weak auth_algs hmac-md5 (MD5); accepted for compatibility; prefer aes and sha256 or better",
  ]);
});

test("the same weak choice in two alternatives is named once", () => {
  const w = warningsOf("{ raddr 10.0.0.3 } ipsec { encr_algs des } or ipsec { encr_algs des encr_auth_algs sha1 }");
  assert.equal(w.length, 1);
  assert.equal(w[0]!.match(/encr_algs des/g)?.length, 1);
});
