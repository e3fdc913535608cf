/**
 * ike.preshared parser: the reference examples, every id and key form, the error corpus with
 * exact positions, and the rule that no message ever carries key material.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { format, inspect } from "node:util";
import { fileURLToPath } from "node:url";
import { IdType } from "../../src/codec/index.js";
import { formatDiagnostic, parsePreshared, type PresharedEntry } from "../../src/config/index.js";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/config");

function ok(text: string): PresharedEntry[] {
  const r = parsePreshared(text, "ps");
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  assert.equal(r.ok, true);
  return r.value;
}

const v4 = (addr: string) => ({ kind: "single", family: 4, addr }) as const;

test("reference examples", () => {
  const e = ok(readFileSync(path.join(fixtures, "example.preshared"), "utf8"));
  assert.equal(e.length, 3);
  assert.deepEqual(e[0], {
    localId: { type: IdType.ID_IPV4_ADDR, addr: v4("192.0.2.1") },
    remoteId: { type: IdType.ID_IPV4_ADDR, addr: v4("198.51.100.7") },
    ikeMode: "main",
    key: Buffer.from("6f3c0b1d9e2a4c5b8d7e6f1a2b3c4d5e", "hex"),
    keyBits: 128,
  });
  assert.deepEqual(e[1]!.remoteId, { type: IdType.ID_IPV4_ADDR_SUBNET, addr: { kind: "prefix", family: 4, addr: "203.0.113.0", prefixLen: 24 } });
  assert.equal(e[1]!.key.toString("latin1"), 'correct horse battery "staple"');
  assert.equal(e[1]!.keyBits, 240);
  assert.deepEqual(e[2]!.localId, { type: IdType.ID_IPV6_ADDR, addr: { kind: "single", family: 6, addr: "2001:db8::1" } });
  assert.deepEqual(e[2]!.key, Buffer.from("a1b2c3d4e5f60718293a4b5c6d7e8f90", "hex"));
});

test("every accepted form (fixture admin.preshared)", () => {
  const e = ok(readFileSync(path.join(fixtures, "admin.preshared"), "utf8"));
  assert.deepEqual(
    e.map((x) => [x.localId, x.remoteId, x.ikeMode, x.key.toString("hex"), x.keyBits]),
    [
      [{ type: 1, addr: v4("192.0.2.1") }, { type: 1, addr: v4("198.51.100.7") }, "main", "0123456789abcde0", 60],
      [{ type: 1, addr: v4("192.0.2.1") }, { type: 4, addr: { kind: "prefix", family: 4, addr: "203.0.113.0", prefixLen: 24 } }, "aggressive", "abc0", 16],
      [{ type: 1, addr: v4("10.0.0.1") }, { type: 4, addr: { kind: "prefix", family: 4, addr: "10.0.0.0", prefixLen: 8 } }, "both", Buffer.from('back\\slash "q" \\ end').toString("hex"), 160],
      [{ type: IdType.ID_FQDN, name: "gw.example.com" }, { type: IdType.ID_USER_FQDN, name: "road@example.com" }, "aggressive", "00112233445566778899aabbccddeeff", 128],
      [
        { type: 5, addr: { kind: "single", family: 6, addr: "2001:db8::1" } },
        { type: IdType.ID_IPV6_ADDR_RANGE, addr: { kind: "range", family: 6, start: "2001:db8::10", end: "2001:db8::20" } },
        "main",
        "feed",
        16,
      ],
      [{ type: IdType.ID_DER_ASN1_DN, name: "C=US, CN=gw" }, { type: IdType.ID_KEY_ID, name: "peer-key-1" }, "aggressive", "f0", 4],
    ],
  );
});

test("hex key rules: /bits truncates and zeroes, odd digits pad", () => {
  const key = (k: string) => {
    const [e] = ok(`{ localid 1.1.1.1 remoteid 2.2.2.2 key ${k} }`);
    return [e!.key.toString("hex"), e!.keyBits];
  };
  assert.deepEqual(key("abc"), ["abc0", 16]);
  assert.deepEqual(key("0xABCDEF/12"), ["abc0", 12]);
  assert.deepEqual(key("ffff/9"), ["ff80", 9]);
  assert.deepEqual(key("ffff/16"), ["ffff", 16]);
  assert.deepEqual(key("0123456789/8"), ["01", 8]);
  assert.deepEqual(key("f/1"), ["80", 1]);
});

test("all ikeadm id-type words are accepted, case-insensitively", () => {
  const forms: [string, string, number][] = [
    ["ip", "10.0.0.1", IdType.ID_IPV4_ADDR], ["IPV4", "10.0.0.1", IdType.ID_IPV4_ADDR], ["ipv6", "::1", IdType.ID_IPV6_ADDR],
    ["ip", "::1", IdType.ID_IPV6_ADDR], ["prefix", "10.0.0.0/8", IdType.ID_IPV4_ADDR_SUBNET], ["subnet", "::/64", IdType.ID_IPV6_ADDR_SUBNET],
    ["ipv4-prefix", "10.0.0.0/8", IdType.ID_IPV4_ADDR_SUBNET], ["subnetv4", "10.0.0.0/8", IdType.ID_IPV4_ADDR_SUBNET],
    ["ipv6-prefix", "::/8", IdType.ID_IPV6_ADDR_SUBNET], ["subnetv6", "::/8", IdType.ID_IPV6_ADDR_SUBNET],
    ["ipv4-range", "10.0.0.1-10.0.0.9", IdType.ID_IPV4_ADDR_RANGE], ["rangev4", "10.0.0.1-10.0.0.9", IdType.ID_IPV4_ADDR_RANGE],
    ["ipv6-range", "::1-::9", IdType.ID_IPV6_ADDR_RANGE], ["rangev6", "::1-::9", IdType.ID_IPV6_ADDR_RANGE],
    ["fqdn", "a.example", IdType.ID_FQDN], ["DNS", "a.example", IdType.ID_FQDN], ["domain", "a.example", IdType.ID_FQDN],
    ["domainname", "a.example", IdType.ID_FQDN], ["user_fqdn", "u@a", IdType.ID_USER_FQDN], ["mbox", "u@a", IdType.ID_USER_FQDN],
    ["mailbox", "u@a", IdType.ID_USER_FQDN], ["dn", '"CN=x"', IdType.ID_DER_ASN1_DN], ["asn1dn", '"CN=x"', IdType.ID_DER_ASN1_DN],
    ["gn", "x", IdType.ID_DER_ASN1_GN], ["asn1gn", "x", IdType.ID_DER_ASN1_GN], ["KeyId", "k1", IdType.ID_KEY_ID],
  ];
  for (const [w, v, t] of forms) {
    const [e] = ok(`{ localidtype ip localid 10.9.9.9 remoteidtype ${w} remoteid ${v} key 01 }`);
    assert.equal(e!.remoteId.type, t, w);
  }
});

test("first-column # comments and blank lines; braces touching words", () => {
  const e = ok("# c\n\n{localid 1.1.1.1 remoteid 2.2.2.2 key 01}\n#{ not an entry }\n");
  assert.equal(e.length, 1);
});

test("duplicate identity pair: warning, first entry kept", () => {
  const r = parsePreshared(
    "{ localid 1.1.1.1 remoteid 2.2.2.2 key 01 }\n{ localid 1.1.1.1 remoteid 2.2.2.2 key 02 }\n{ localid 1.1.1.1 remoteid 2.2.2.2 ike_mode aggressive key 03 }\n",
    "ps",
  );
  assert.equal(r.ok, true);
  assert.deepEqual(r.diagnostics.map((d) => `${d.severity} ${d.code}@${d.line}:${d.col}`), ["warning IKE_ERR_PSK_DUPLICATE@2:1"]);
  assert.deepEqual(r.value.map((e) => e.key.toString("hex")), ["01", "03"]);
});

test("duplicate names: DNS names and mailboxes match without case, DNs exactly", () => {
  const r = parsePreshared(
    [
      '{ localidtype fqdn localid gw.example remoteidtype fqdn remoteid peer.example key 01 ike_mode aggressive }',
      '{ localidtype fqdn localid GW.Example remoteidtype fqdn remoteid PEER.example key 02 ike_mode aggressive }',
      '{ localidtype fqdn localid gw.example remoteidtype mbox remoteid "Ops@Example.net" key 03 ike_mode aggressive }',
      '{ localidtype fqdn localid gw.example remoteidtype mbox remoteid "ops@example.NET" key 04 ike_mode aggressive }',
      '{ localidtype fqdn localid gw.example remoteidtype dn remoteid "CN=a" key 05 ike_mode aggressive }',
      '{ localidtype fqdn localid gw.example remoteidtype dn remoteid "cn=a" key 06 ike_mode aggressive }',
    ].join("\n"),
    "ps",
  );
  assert.deepEqual(r.diagnostics.map((d) => `${d.severity} ${d.code}@${d.line}:${d.col}`), ["warning IKE_ERR_PSK_DUPLICATE@2:1", "warning IKE_ERR_PSK_DUPLICATE@4:1"]);
  assert.deepEqual(r.value.map((e) => e.key.toString("hex")), ["01", "03", "05", "06"]);
});

const SECRET = "5ec12e7";
const cases: { name: string; text: string; errors: string[]; message?: string }[] = [
  { name: "missing key", text: "{ localid 1.1.1.1 remoteid 2.2.2.2 }", errors: ["IKE_ERR_PSK_MISSING@1:1"], message: "entry lacks key" },
  { name: "missing ids", text: `{ key ${SECRET} }`, errors: ["IKE_ERR_PSK_MISSING@1:1"], message: "entry lacks localid, remoteid" },
  { name: "non-hex key", text: `{ localid 1.1.1.1 remoteid 2.2.2.2 key ${SECRET}xyz }`, errors: ["IKE_ERR_PSK_BAD_KEY@1:40"] },
  { name: "bits beyond digits", text: `{ localid 1.1.1.1 remoteid 2.2.2.2 key ${SECRET}/29 }`, errors: ["IKE_ERR_PSK_KEY_BITS@1:40"], message: "the key's /bits (29) needs more than the 7 hex digits given" },
  { name: "zero bits", text: `{ localid 1.1.1.1 remoteid 2.2.2.2 key ${SECRET}/0 }`, errors: ["IKE_ERR_PSK_KEY_BITS@1:40"] },
  { name: "empty hex", text: "{ localid 1.1.1.1 remoteid 2.2.2.2 key 0x }", errors: ["IKE_ERR_PSK_EMPTY_KEY@1:40"] },
  { name: "empty string key", text: '{ localid 1.1.1.1 remoteid 2.2.2.2 key "" }', errors: ["IKE_ERR_PSK_EMPTY_KEY@1:40"] },
  { name: "non-ASCII string key", text: '{ localid 1.1.1.1 remoteid 2.2.2.2 key "pässwort" }', errors: ["IKE_ERR_PSK_BAD_KEY@1:40"] },
  { name: "unterminated key string", text: `{ localid 1.1.1.1 remoteid 2.2.2.2 key "${SECRET}\n}`, errors: ["IKE_ERR_PSK_MISSING@1:1", "IKE_ERR_CFG_UNTERMINATED_STRING@1:40", "IKE_ERR_CFG_MISSING_VALUE@2:1"] },
  { name: "host name id", text: "{ localid gw.example.com remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_BAD_ID@1:11"], message: "bad localid: expected a numeric IP address (host names are not allowed here)" },
  { name: "ipv4 type with v6 address", text: "{ localidtype ipv4 localid ::1 remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_BAD_ID@1:28"] },
  { name: "range under ip type", text: "{ localid 1.1.1.1 remoteid 2.2.2.2-2.2.2.9 key 01 }", errors: ["IKE_ERR_PSK_BAD_ID@1:28"] },
  { name: "prefix type without prefix", text: "{ localid 1.1.1.1 remoteidtype prefix remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_BAD_ID@1:48"] },
  { name: "unknown id type", text: "{ localidtype ipx localid 1.1.1.1 remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_BAD_ID_TYPE@1:15"] },
  { name: "bad mode", text: "{ localid 1.1.1.1 remoteid 2.2.2.2 ike_mode quick key 01 }", errors: ["IKE_ERR_PSK_BAD_MODE@1:45"] },
  { name: "unknown field", text: `{ localid 1.1.1.1 remoteid 2.2.2.2 kye ${SECRET} key 01 }`, errors: ["IKE_ERR_PSK_UNKNOWN_FIELD@1:36"], message: "expected '}' or a field name (localidtype, localid, remoteidtype, remoteid, ike_mode, key), found a word" },
  { name: "field twice", text: "{ localid 1.1.1.1 localid 1.1.1.2 remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_DUPLICATE_FIELD@1:19"] },
  { name: "value missing before }", text: "{ localid 1.1.1.1 remoteid 2.2.2.2 key }", errors: ["IKE_ERR_PSK_MISSING@1:1", "IKE_ERR_CFG_MISSING_VALUE@1:40"] },
  { name: "field name where value", text: "{ localid remoteid 2.2.2.2 key 01 }", errors: ["IKE_ERR_PSK_MISSING@1:1", "IKE_ERR_CFG_MISSING_VALUE@1:11"] },
  { name: "entry never closed", text: "{ localid 1.1.1.1", errors: ["IKE_ERR_CFG_UNBALANCED@1:18"] },
  { name: "text outside entries", text: `${SECRET}\n{ localid 1.1.1.1 remoteid 2.2.2.2 key 01 }`, errors: ["IKE_ERR_CFG_UNEXPECTED_TOKEN@1:1"], message: "expected '{' starting an entry, found a word" },
  { name: "stray close", text: "}", errors: ["IKE_ERR_CFG_UNBALANCED@1:1"] },
];

for (const c of cases) {
  test(`ike.preshared error: ${c.name}`, () => {
    const r = parsePreshared(c.text, "ps");
    const got = r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code}@${d.line}:${d.col}`);
    assert.deepEqual(got, c.errors, r.diagnostics.map(formatDiagnostic).join("\n"));
    assert.equal(r.ok, false);
    if (c.message !== undefined) assert.equal(r.diagnostics[0]!.message, c.message);
    for (const d of r.diagnostics) assert.ok(!formatDiagnostic(d).includes(SECRET), `key material leaked: ${formatDiagnostic(d)}`);
  });
}

test("a parsed key never shows in util.inspect, console formatting or JSON, yet keeps its bytes", () => {
  const hexKey = "5ec7e75ec7e75ec7e75ec7e75ec7e7";
  const [hex, str] = ok(`{ localid 1.1.1.1 remoteid 2.2.2.2 key ${hexKey} }\n{ localid 1.1.1.1 remoteid 2.2.2.3 key "TopSecretPhrase" }`);
  for (const e of [hex!, str!]) {
    for (const shown of [inspect(e, { depth: 9 }), inspect([e], { depth: 9, showHidden: false }), format("%o %j %s", e, e, e), JSON.stringify(e), JSON.stringify({ all: [e] })]) {
      assert.ok(!shown.includes("5e c7") && !shown.includes(hexKey) && !shown.includes("TopSecret") && !shown.includes("94,199"), `key shown: ${shown}`);
      assert.match(shown, /redacted \d+-byte key/);
    }
  }
  assert.equal(hex!.key.toString("hex"), hexKey);
  assert.deepStrictEqual(str!.key, Buffer.from("TopSecretPhrase"));
  assert.deepEqual(Object.keys(hex!), ["localId", "remoteId", "ikeMode", "key", "keyBits"]);
});
