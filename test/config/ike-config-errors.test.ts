/**
 * ike.config error corpus: each case names every diagnostic it must produce, by code and exact
 * line:col (reference ike-config.md §9).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDiagnostic, MAX_DIAGNOSTICS, parseIkeConfig } from "../../src/config/index.js";

/** A valid transform and rule tail to build cases from. */
const X = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg 3des }";
const ADDRS = "local_addr 10.0.0.1 remote_addr 10.0.0.2";

interface Case {
  readonly name: string;
  readonly text: string;
  /** Every error, in file order: `CODE@line:col`. */
  readonly errors: readonly string[];
  /** Optional exact first message (after `file:line:col: `). */
  readonly message?: string;
}

const cases: readonly Case[] = [
  // Lexical
  { name: "unterminated string", text: 'cert_root "abc', errors: ["IKE_ERR_CFG_UNTERMINATED_STRING@1:11", "IKE_ERR_CFG_MISSING_VALUE@1:15"] },
  { name: "string broken by newline", text: 'pkcs11_path "/usr/lib\n/x"\n', errors: ["IKE_ERR_CFG_UNTERMINATED_STRING@1:13", "IKE_ERR_CFG_UNTERMINATED_STRING@2:3"] },
  { name: "stray closing brace", text: "retry_limit 3\n}\n", errors: ["IKE_ERR_CFG_UNBALANCED@2:1"], message: "expected a global parameter, 'p1_xform' or '{' starting a rule, found '}'" },
  { name: "rule never closed", text: '{ label "x"', errors: ["IKE_ERR_CFG_UNBALANCED@1:12"], message: "expected '}' to close the rule opened at 1:1, found end of file" },
  { name: "transform never closed", text: "p1_xform { auth_method preshared", errors: ["IKE_ERR_CFG_UNBALANCED@1:33"] },
  // Unknown and misplaced keywords
  { name: "unknown file keyword", text: "retry_limt 4\n", errors: ["IKE_ERR_CFG_UNKNOWN_KEYWORD@1:1"], message: "expected a global parameter, 'p1_xform' or '{' starting a rule, found 'retry_limt'" },
  {
    name: "unknown rule keyword",
    text: `{\n  label "r"\n    foo ${ADDRS} ${X}\n}`,
    errors: ["IKE_ERR_CFG_UNKNOWN_KEYWORD@3:5"],
    message: "expected '}' or a rule parameter, found 'foo'",
  },
  { name: "unknown transform keyword", text: "p1_xform { auth_method preshared dh 2 }", errors: ["IKE_ERR_CFG_MISSING@1:1", "IKE_ERR_CFG_UNKNOWN_KEYWORD@1:34"] },
  { name: "rule keyword at file level", text: 'label "x"\n', errors: ["IKE_ERR_CFG_MISPLACED_KEYWORD@1:1"], message: "'label' is not allowed at file level; expected a global parameter, 'p1_xform' or '{' starting a rule" },
  { name: "transform keyword at file level", text: "auth_method preshared", errors: ["IKE_ERR_CFG_MISPLACED_KEYWORD@1:1"] },
  { name: "file keyword in a rule", text: `{ label "r" ${ADDRS} ${X} p1_nonce_len 20 }`, errors: ["IKE_ERR_CFG_MISPLACED_KEYWORD@1:131"] },
  { name: "global in a rule", text: `{ label "r" retry_limit 3 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_MISPLACED_KEYWORD@1:13"] },
  { name: "p1_lifetime_secs directly in a rule", text: `{ label "r" p1_lifetime_secs 60 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_MISPLACED_KEYWORD@1:13"] },
  { name: "rule keyword in a transform", text: 'p1_xform { label "x" }', errors: ["IKE_ERR_CFG_MISSING@1:1", "IKE_ERR_CFG_MISPLACED_KEYWORD@1:12"] },
  { name: "string at file level", text: '"hello"', errors: ["IKE_ERR_CFG_UNEXPECTED_TOKEN@1:1"] },
  { name: "p1_xform without brace", text: "p1_xform auth_method preshared", errors: ["IKE_ERR_CFG_UNEXPECTED_TOKEN@1:10"], message: "expected '{' after 'p1_xform', found 'auth_method'" },
  // Missing values
  { name: "number at end of file", text: "retry_limit", errors: ["IKE_ERR_CFG_MISSING_VALUE@1:12"], message: "expected a number after 'retry_limit', found end of file" },
  { name: "label followed by brace", text: "{ label }", errors: ["IKE_ERR_CFG_MISSING_VALUE@1:9"] },
  { name: "value is the next keyword", text: "retry_limit\np2_pfs 2\n", errors: ["IKE_ERR_CFG_MISSING_VALUE@2:1"] },
  { name: "address missing", text: `{ label "r" local_addr }`, errors: ["IKE_ERR_CFG_MISSING_VALUE@1:24"] },
  // Bad numbers
  { name: "word for number", text: "retry_limit ten", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:13"], message: "expected a number (decimal, 0x hex or 0 octal) after 'retry_limit', found 'ten'" },
  { name: "bad octal", text: "retry_limit 08", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:13"] },
  { name: "above 32 bits", text: "p2_lifetime_secs 0x100000000", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:18"] },
  { name: "negative", text: "expire_timer -1", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:14"] },
  { name: "fraction where integer", text: "retry_limit 1.5", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:13"] },
  { name: "zero timer", text: "retry_timer_init 0", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:18"] },
  { name: "malformed fraction", text: "retry_timer_max 1.2.3", errors: ["IKE_ERR_CFG_BAD_NUMBER@1:17"] },
  { name: "nonce too short", text: "p1_nonce_len 4", errors: ["IKE_ERR_CFG_BAD_VALUE@1:14"], message: "'p1_nonce_len' must be from 8 to 256, found 4" },
  { name: "remote_port 0", text: `{ label "r" remote_port 0 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_VALUE@1:25"] },
  { name: "remote_port too big", text: `{ label "r" remote_port 70000 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_VALUE@1:25"] },
  { name: "zero p1 lifetime", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg des p1_lifetime_secs 0 }", errors: ["IKE_ERR_CFG_BAD_VALUE@1:92"], message: "'p1_lifetime_secs' must be from 60 to 604800 (7 days), found 0" },
  { name: "p1 lifetime under the minimum at file level", text: "p1_lifetime_secs 59", errors: ["IKE_ERR_CFG_BAD_VALUE@1:18"] },
  // Bad words
  { name: "unknown id type", text: "local_id_type email", errors: ["IKE_ERR_CFG_BAD_VALUE@1:15"] },
  { name: "id type case", text: "local_id_type Ipv4", errors: ["IKE_ERR_CFG_BAD_VALUE@1:15"] },
  { name: "unknown cipher", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg rot13 }", errors: ["IKE_ERR_CFG_BAD_VALUE@1:71"] },
  { name: "manual's blowfish misprint", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg blowfish-cdc }", errors: ["IKE_ERR_CFG_BAD_VALUE@1:71"] },
  { name: "unknown hash", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha2 encr_alg des }", errors: ["IKE_ERR_CFG_BAD_VALUE@1:58"] },
  { name: "unknown method", text: "p1_xform { auth_method psk oakley_group 2 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_BAD_VALUE@1:24"] },
  { name: "bad ldap port", text: 'ldap_server "a.example:0"', errors: ["IKE_ERR_CFG_BAD_VALUE@1:13"] },
  { name: "empty ldap item", text: 'ldap_server "a.example,,b"', errors: ["IKE_ERR_CFG_BAD_VALUE@1:13"] },
  { name: "ldap port not a number", text: 'ldap_server "a.example:ldap"', errors: ["IKE_ERR_CFG_BAD_VALUE@1:13"] },
  { name: "quoted number", text: 'retry_limit "3"', errors: ["IKE_ERR_CFG_BAD_NUMBER@1:13"] },
  { name: "quoted method word", text: 'p1_xform { auth_method "preshared" oakley_group 2 auth_alg sha encr_alg des }', errors: ["IKE_ERR_CFG_BAD_VALUE@1:24"] },
  { name: "quoted address", text: `{ label "r" local_addr "10.0.0.1" remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  // Groups
  { name: "group 6", text: "p1_xform { auth_method preshared oakley_group 6 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_BAD_GROUP@1:47"] },
  { name: "group 27", text: "p1_xform { auth_method preshared oakley_group 27 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_BAD_GROUP@1:47"] },
  { name: "group 0", text: "p1_xform { auth_method preshared oakley_group 0 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_BAD_GROUP@1:47"] },
  { name: "pfs group 7", text: "p2_pfs 7", errors: ["IKE_ERR_CFG_BAD_GROUP@1:8"] },
  // Addresses
  { name: "octet too big", text: `{ label "r" local_addr 10.0.0.256 remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"], message: "bad address after 'local_addr': '10.0.0.256' is not a numeric IP address" },
  { name: "v4 prefix 33", text: `{ label "r" local_addr 10.0.0.0/33 remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  { name: "v6 prefix 129", text: `{ label "r" local_addr ::/129 remote_addr ::1 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  { name: "range end below start", text: `{ label "r" local_addr 10.0.0.1 remote_addr 10.0.0.5 - 10.0.0.1 ${X} }`, errors: ["IKE_ERR_CFG_BAD_RANGE@1:45"], message: "bad address after 'remote_addr': range end is below its start" },
  { name: "range mixes families", text: `{ label "r" local_addr 10.0.0.1 remote_addr 10.0.0.5-::1 ${X} }`, errors: ["IKE_ERR_CFG_BAD_RANGE@1:45"] },
  { name: "host name", text: `{ label "r" local_addr gw.example.com remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  { name: "holey netmask", text: `{ label "r" local_addr 10.0.0.0/255.0.255.0 remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  { name: "prefix and range", text: `{ label "r" local_addr 10.0.0.0/24-10.0.1.0 remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  {
    name: "range without its end before the next keyword",
    text: `{ label "r" local_addr 10.0.0.1 - remote_addr 10.0.0.2 ${X} }`,
    errors: ["IKE_ERR_CFG_BAD_RANGE@1:24"],
    message: "bad address after 'local_addr': the range has no end address after '-'",
  },
  { name: "slash without a prefix", text: `{ label "r" local_addr 10.0.0.0 / remote_addr 10.0.0.2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"], message: "bad address after 'local_addr': a prefix length or netmask must follow '/'" },
  { name: "zone id", text: `{ label "r" local_addr fe80::1%eth0 remote_addr fe80::2 ${X} }`, errors: ["IKE_ERR_CFG_BAD_ADDRESS@1:24"] },
  // AES key lengths
  { name: "aes 64", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg aes(64..128) }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:74"], message: "AES key lengths must be 128, 192 or 256, found 64..128" },
  { name: "aes low above high", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg aes(256..128) }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:74"] },
  { name: "key length on 3des", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg 3des(192..192) }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:75"], message: "a key length is only allowed for aes" },
  { name: "key length unclosed", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg aes(128..256 }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:84"] },
  { name: "key length not numbers", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg aes(big) }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:74"] },
  { name: "key length open end", text: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg aes(128..) }", errors: ["IKE_ERR_CFG_BAD_KEYLEN@1:74"] },
  // Cardinality
  { name: "duplicate in transform", text: "p1_xform { auth_method preshared auth_method preshared oakley_group 2 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_DUPLICATE@1:34"], message: "'auth_method' appears twice in one p1_xform (first at 1:12)" },
  { name: "transform lacks parts", text: "p1_xform { auth_method preshared oakley_group 2 }", errors: ["IKE_ERR_CFG_MISSING@1:1"], message: "p1_xform lacks encr_alg, auth_alg" },
  { name: "second label", text: `{ label "a" label "b" ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_DUPLICATE@1:13"] },
  { name: "second local_id_type", text: `{ label "a" local_id_type ip local_id_type dns ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_DUPLICATE@1:30"] },
  { name: "second p2_pfs in rule", text: `{ label "a" p2_pfs 2 p2_pfs 5 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_DUPLICATE@1:22"] },
  { name: "global given twice", text: "retry_limit 1\nretry_limit 2\n", errors: ["IKE_ERR_CFG_DUPLICATE@2:1"], message: "'retry_limit' appears twice in the file (first at 1:1)" },
  // Rule completeness
  { name: "rule without label", text: `{ ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_MISSING@1:1"], message: "rule lacks 'label'" },
  { name: "rule without addresses", text: `{ label "r" ${X} }`, errors: ["IKE_ERR_CFG_MISSING@1:1"], message: "rule lacks local_addr and remote_addr" },
  { name: "rule without remote_addr", text: `\n  { label "r" local_addr 10.0.0.1 ${X} }`, errors: ["IKE_ERR_CFG_MISSING@2:3"] },
  { name: "no transform anywhere", text: `{ label "r" ${ADDRS} }`, errors: ["IKE_ERR_CFG_MISSING@1:1"], message: "rule has no p1_xform and the file has no global p1_xform list" },
  {
    name: "certificate rule without ids",
    text: `{ label "r" ${ADDRS} p1_xform { auth_method rsa_sig oakley_group 2 auth_alg sha encr_alg des } }`,
    errors: ["IKE_ERR_CFG_MISSING@1:1"],
    message: "rule with certificate authentication lacks local_id_type, local_id, remote_id",
  },
  {
    name: "mixed preshared and certificates (the manual's receiver-side example shape)",
    text: `{ label "r" local_id_type dn local_id "CN=a" remote_id "" ${ADDRS}\n p1_xform { auth_method rsa_sig oakley_group 2 auth_alg sha encr_alg des }\n ${X} }`,
    errors: ["IKE_ERR_CFG_MIXED_AUTH@3:2"],
  },
  { name: "duplicate label", text: `{ label "same" ${ADDRS} ${X} }\n{ label "same" ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_DUPLICATE_LABEL@2:9"], message: "label is already used by the rule at 1:9" },
  { name: "empty label", text: `{ label "" ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_VALUE@1:9"] },
  { name: "label over 255 bytes", text: `{ label "${"x".repeat(256)}" ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_VALUE@1:9"] },
  // Documented groups this iked cannot compute
  { name: "p2_pfs group 19 (documented, not implemented)", text: "p2_pfs 19", errors: ["IKE_ERR_CFG_UNSUPPORTED@1:8"], message: "p2_pfs 19 is a valid group but not implemented by this iked (implemented: 0, 1, 2, 5, 14, 15, 16)" },
  {
    name: "rule whose only transform uses group 20",
    text: `{ label "r" ${ADDRS} p1_xform { auth_method preshared oakley_group 20 auth_alg sha encr_alg aes } }`,
    errors: ["IKE_ERR_CFG_UNSUPPORTED@1:1"],
    message: "none of the rule's p1_xform Diffie-Hellman groups is implemented by this iked, so it can never negotiate",
  },
  // Soft lifetime above hard (the kernel would refuse every SA of the rule)
  { name: "file soft above file hard", text: "p2_lifetime_secs 100\np2_softlife_secs 200\n", errors: ["IKE_ERR_CFG_BAD_RANGE@2:1"], message: "p2_softlife_secs (200) exceeds p2_lifetime_secs (100); the soft lifetime must not be above the hard one" },
  { name: "rule hard below file soft", text: `p2_softlife_secs 3000\n{ label "r" p2_lifetime_secs 600 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_RANGE@2:1"], message: "rule: p2_softlife_secs (3000) exceeds p2_lifetime_secs (600); the soft lifetime must not be above the hard one" },
  { name: "rule soft kb above hard kb", text: `{ label "r" p2_lifetime_kb 1000 p2_softlife_kb 1001 ${ADDRS} ${X} }`, errors: ["IKE_ERR_CFG_BAD_RANGE@1:1"] },
  // Unsupported
  { name: "label_aware", text: "label_aware\n", errors: ["IKE_ERR_CFG_UNSUPPORTED@1:1"], message: "'label_aware' (Trusted Extensions labels) is not supported" },
  { name: "single_label in transform", text: "p1_xform { single_label auth_method preshared oakley_group 2 auth_alg sha encr_alg des }", errors: ["IKE_ERR_CFG_UNSUPPORTED@1:12"] },
];

for (const c of cases) {
  test(`ike.config error: ${c.name}`, () => {
    const r = parseIkeConfig(c.text, "ike.config");
    const got = r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code}@${d.line}:${d.col}`);
    assert.deepEqual(got, c.errors, r.diagnostics.map(formatDiagnostic).join("\n"));
    assert.equal(r.ok, false);
    if (c.message !== undefined) assert.equal(r.diagnostics.find((d) => d.severity === "error")?.message, c.message);
  });
}

test("a documented but unimplemented group beside a usable one is kept, with a warning that names it", () => {
  const r = parseIkeConfig(`{ label "r" ${ADDRS}\n  p1_xform { auth_method preshared oakley_group 19 auth_alg sha encr_alg aes }\n  ${X} }`, "f");
  assert.equal(r.ok, true);
  // X uses group 2: its weak-algorithm warning is weak-algorithms.test.ts's business.
  assert.deepEqual(r.diagnostics.filter((d) => d.code !== "IKE_ERR_CFG_WEAK_ALG").map(formatDiagnostic), [
    "f:2:49: warning: oakley_group 19 is valid but not implemented by this iked (implemented: 1, 2, 5, 14, 15, 16); this transform is never used",
  ]);
  assert.deepEqual(r.value.rules[0]!.p1Xforms.map((x) => x.oakleyGroup), [19, 2]);
});

test("errors carry file:line:col when formatted", () => {
  const r = parseIkeConfig("\n\n    foo\n", "/etc/inet/ike/config");
  assert.equal(formatDiagnostic(r.diagnostics[0]!), "/etc/inet/ike/config:3:5: expected a global parameter, 'p1_xform' or '{' starting a rule, found 'foo'");
});

test("all errors are collected, not just the first, in file order", () => {
  const r = parseIkeConfig(`retry_limit x\n{ label "a" foo ${ADDRS} ${X} }\np2_pfs 9\nbar\n`, "f");
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`),
    ["IKE_ERR_CFG_BAD_NUMBER@1:13", "IKE_ERR_CFG_UNKNOWN_KEYWORD@2:13", "IKE_ERR_CFG_BAD_GROUP@3:8", "IKE_ERR_CFG_UNKNOWN_KEYWORD@4:1"],
  );
});

test("a bad rule is left out but good rules stay available (ignore_errors)", () => {
  const r = parseIkeConfig(`{ label "bad" foo ${ADDRS} ${X} }\n{ label "good" ${ADDRS} ${X} }`, "f");
  assert.equal(r.ok, false);
  assert.deepEqual(r.value.rules.map((x) => x.label), ["good"]);
});

test("the error list is bounded", () => {
  const r = parseIkeConfig("foo 1\n}\n".repeat(5000), "f");
  assert.equal(r.diagnostics.length, MAX_DIAGNOSTICS);
  assert.equal(r.diagnostics.at(-1)!.code, "IKE_ERR_CFG_TOO_MANY_ERRORS");
  assert.equal(r.diagnostics[0]!.line, 1);
});

test("a second local_id is a warning and the first wins", () => {
  const r = parseIkeConfig(`{ label "r" local_id "A" local_id "B" ${ADDRS} ${X} }`, "f");
  assert.equal(r.ok, true);
  const notWeak = r.diagnostics.filter((d) => d.code !== "IKE_ERR_CFG_WEAK_ALG");
  assert.deepEqual(notWeak.map((d) => `${d.severity} ${d.code}@${d.line}:${d.col}`), ["warning IKE_ERR_CFG_DUPLICATE@1:26"]);
  assert.equal(r.value.rules[0]!.localId, "A");
});
