/** Rule and pre-shared key lookups, with the precedence documented in src/config/match.ts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  findPresharedByAddress, findPresharedByIdentity, findRule, findRuleByLabel, IKE_DEFAULTS, parseIkeConfig, parsePreshared, resolveRule,
} from "../../src/config/index.js";
import { IdType } from "../../src/codec/index.js";

const X = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg 3des }";
const config = parseIkeConfig(
  `
p2_pfs 5
p2_lifetime_secs 3600
p1_lifetime_secs 7200
p1_nonce_len 32
${X}
{ label "catch-all" local_addr 0.0.0.0/0 remote_addr 0.0.0.0/0 }
{ label "subnet"    local_addr 192.0.2.1 remote_addr 10.1.0.0/16 p2_pfs 0 }
{ label "host"      local_addr 192.0.2.0/24 remote_addr 10.1.2.3 remote_port 10500 }
{ label "host-narrow-local" local_addr 192.0.2.9 remote_addr 10.1.2.3 }
{ label "range"     local_addr 192.0.2.1 remote_addr 10.2.0.10-10.2.0.20 }
{ label "v6"        local_addr 2001:db8::1 remote_addr 2001:db8:1::/48 p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes p1_lifetime_secs 600 } }
`,
  "t",
).value;

test("the most specific remote address wins, then local, regardless of file order", () => {
  assert.equal(findRule(config, "192.0.2.1", "10.1.2.3")?.label, "host");
  assert.equal(findRule(config, "192.0.2.9", "10.1.2.3")?.label, "host-narrow-local");
  assert.equal(findRule(config, "192.0.2.1", "10.1.9.9")?.label, "subnet");
  assert.equal(findRule(config, "192.0.2.1", "10.2.0.15")?.label, "range");
  assert.equal(findRule(config, "192.0.2.1", "10.2.0.21")?.label, "catch-all");
  assert.equal(findRule(config, "198.51.100.1", "203.0.113.1")?.label, "catch-all");
});

test("families never cross; unparsable addresses match nothing", () => {
  assert.equal(findRule(config, "2001:db8::1", "2001:db8:1::77")?.label, "v6");
  assert.equal(findRule(config, "2001:db8::1", "2001:db8:2::1"), undefined);
  assert.equal(findRule(config, "not-an-ip", "10.1.2.3"), undefined);
});

test("findRuleByLabel", () => {
  assert.equal(findRuleByLabel(config, "range")?.label, "range");
  assert.equal(findRuleByLabel(config, "nope"), undefined);
});

test("resolveRule applies rule, file and compiled defaults in that order", () => {
  const host = resolveRule(config, findRuleByLabel(config, "host")!);
  assert.equal(host.p2Pfs, 5);
  assert.equal(host.p2LifetimeSecs, 3600);
  assert.equal(host.p2SoftlifeSecs, 3240, "90% of the hard lifetime when not configured");
  assert.equal(host.p2LifetimeKb, undefined);
  assert.equal(host.p2SoftlifeKb, undefined);
  assert.equal(host.p1NonceLen, 32);
  assert.equal(host.p2NonceLen, IKE_DEFAULTS.p2NonceLen);
  assert.equal(host.remotePort, 10500);
  assert.equal(host.localIdType, IdType.ID_IPV4_ADDR);
  assert.deepEqual(host.p1Xforms, [{ authMethod: 1, oakleyGroup: 2, authAlg: 2, encrAlg: 5, p1LifetimeSecs: 7200 }]);
  const subnet = resolveRule(config, findRuleByLabel(config, "subnet")!);
  assert.equal(subnet.p2Pfs, 0);
  assert.equal(subnet.remotePort, IKE_DEFAULTS.ikePort);
  const soft = parseIkeConfig(`p2_softlife_secs 100 p2_softlife_kb 5 ${X} { label "a" local_addr ::1 remote_addr ::2 p2_lifetime_kb 1000 }`, "s").value;
  const a = resolveRule(soft, soft.rules[0]!);
  assert.equal(a.p2LifetimeSecs, undefined);
  assert.equal(a.p2SoftlifeSecs, undefined, "a soft lifetime without a hard one is ignored");
  assert.deepEqual([a.p2LifetimeKb, a.p2SoftlifeKb], [1000, 5]);
  const v6 = resolveRule(config, findRuleByLabel(config, "v6")!);
  assert.equal(v6.p1Xforms[0]!.p1LifetimeSecs, 600);
  assert.equal(v6.p1Xforms[0]!.oakleyGroup, 14);
});

const psk = parsePreshared(
  `
{ localid 0.0.0.0/0 remoteid 0.0.0.0/0 key 01 }
{ localid 192.0.2.1 remoteid 10.1.0.0/16 key 02 }
{ localid 192.0.2.1 remoteid 10.1.2.3 key 03 }
{ localid 192.0.2.2 remoteid 10.1.2.3 ike_mode aggressive key 04 }
{ localid 192.0.2.1 remoteidtype ipv4-range remoteid 10.3.0.1-10.3.0.9 ike_mode both key 05 }
{ localidtype fqdn localid gw.example.com remoteidtype fqdn remoteid Road.Example.com ike_mode aggressive key 06 }
{ localidtype fqdn localid gw.example.com remoteidtype dn remoteid "CN=Peer" ike_mode aggressive key 07 }
{ localid 2001:db8::1 remoteid 2001:db8::2 key 08 }
`,
  "ps",
).value;
const keyOf = (e: { key: Buffer } | undefined) => e?.key.toString("hex");

test("Main Mode: key by address pair, narrowest remote first, mode respected", () => {
  assert.equal(keyOf(findPresharedByAddress(psk, "192.0.2.1", "10.1.2.3")), "03");
  assert.equal(keyOf(findPresharedByAddress(psk, "192.0.2.1", "10.1.7.7")), "02");
  assert.equal(keyOf(findPresharedByAddress(psk, "192.0.2.2", "10.1.2.3")), "01", "the aggressive-only entry does not serve main mode");
  assert.equal(keyOf(findPresharedByAddress(psk, "192.0.2.2", "10.1.2.3", "aggressive")), "04");
  assert.equal(keyOf(findPresharedByAddress(psk, "192.0.2.1", "10.3.0.5")), "05");
  assert.equal(keyOf(findPresharedByAddress(psk, "2001:db8::1", "2001:db8::2")), "08");
  assert.equal(findPresharedByAddress(psk, "2001:db8::1", "2001:db8::3"), undefined);
});

test("Aggressive Mode: key by the peer's ID payload", () => {
  assert.equal(keyOf(findPresharedByIdentity(psk, { type: IdType.ID_FQDN, name: "road.example.COM" })), "06");
  assert.equal(keyOf(findPresharedByIdentity(psk, { type: IdType.ID_DER_ASN1_DN, name: "CN=Peer" })), "07");
  assert.equal(findPresharedByIdentity(psk, { type: IdType.ID_DER_ASN1_DN, name: "cn=peer" }), undefined, "DNs compare exactly");
  assert.equal(findPresharedByIdentity(psk, { type: IdType.ID_USER_FQDN, name: "road.example.com" }), undefined, "types must agree");
  const ip = { type: IdType.ID_IPV4_ADDR, addr: { kind: "single", family: 4, addr: "10.1.2.3" } } as const;
  assert.equal(keyOf(findPresharedByIdentity(psk, ip, { localAddr: "192.0.2.2" })), "04");
  assert.equal(keyOf(findPresharedByIdentity(psk, ip, { mode: "main", localAddr: "192.0.2.1" })), "03");
  const range = { type: IdType.ID_IPV4_ADDR_RANGE, addr: { kind: "range", family: 4, start: "10.3.0.2", end: "10.3.0.4" } } as const;
  assert.equal(keyOf(findPresharedByIdentity(psk, range)), "05");
  const local = { type: IdType.ID_FQDN, name: "GW.example.com" };
  assert.equal(keyOf(findPresharedByIdentity(psk, { type: IdType.ID_FQDN, name: "road.example.com" }, { localId: local })), "06");
  assert.equal(findPresharedByIdentity(psk, { type: IdType.ID_FQDN, name: "road.example.com" }, { localId: { type: IdType.ID_FQDN, name: "other" } }), undefined);
});
