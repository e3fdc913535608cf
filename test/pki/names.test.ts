/** DN syntax, selectors and identities: table tests of the pure functions. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { IdType } from "../../src/codec/constants.js";
import { checkPeerIdentity, localIdentity, certIdentities } from "../../src/pki/identity.js";
import { decodeNameDer, dnMatches, encodeName, formatName, namesEqual, parseDn } from "../../src/pki/name.js";
import { identityAllowed, parseSelector, selectorMatches, type Selector } from "../../src/pki/selector.js";
import type { Certificate } from "../../src/pki/certificate.js";

const dn = (s: string) => {
  const r = parseDn(s);
  assert.ok(typeof r !== "string", `${s}: ${String(r)}`);
  return r;
};
const name = (s: string) => decodeNameDer(encodeName(dn(s)));

test("DN text round trip, escapes, multi-valued RDNs and OIDs", () => {
  for (const [input, printed] of [
    ["C=US, O=Example Labs, CN=gw1", "C=US, O=Example Labs, CN=gw1"],
    ["c=nl,o=Example\\, Inc.,cn=Gateway", "C=nl, O=Example\\, Inc., CN=Gateway"],
    ["CN=a + OU=b, O=x", "CN=a + OU=b, O=x"],
    ["2.5.4.3=raw, E=u@x.org", "CN=raw, E=u@x.org"],
    ["CN=\\41bc", "CN=Abc"],
  ]) assert.equal(formatName(name(input!)), printed, input);
  for (const bad of ["", "CN", "XX=1", "CN=", "CN=a\\"]) assert.equal(typeof parseDn(bad), "string", bad);
});

test("DN comparison and patterns: case, spaces, order, wildcards", () => {
  assert.ok(namesEqual(name("C=US, O=Example  Labs, CN=GW1"), name("c=us,o=example labs,cn=gw1")));
  assert.ok(!namesEqual(name("C=US, CN=gw1"), name("CN=gw1, C=US")));
  const n = name("C=US, O=Example Labs, OU=VPN, CN=gw1.example.net");
  for (const [pat, want] of [
    ["O=Example Labs", true], ["CN=gw1.example.net, C=US", true], ["CN=*.example.net", true], ["CN=*", true],
    ["O=Other", false], ["CN=gw2*", false], ["OU=VPN, OU=VPN", false],
  ] as const) assert.equal(dnMatches(dn(pat), n), want, pat);
});

/** A certificate reduced to what selectors and identities read. */
function fake(subject: string, san: Partial<Certificate["ext"]["subjectAltName"]> = {}, issuer = "CN=CA"): Certificate {
  return {
    subject: name(subject), issuer: name(issuer), subjectText: subject,
    ext: { subjectAltName: { dns: [], email: [], ip: [], uri: [], dn: [], other: 0, ...san }, crlDistributionPoints: [], unknownCritical: [] },
  } as unknown as Certificate;
}
const sel = (s: string): Selector => {
  const r = parseSelector(s);
  assert.ok(typeof r !== "string", `${s}: ${String(r)}`);
  return r;
};

test("selectors: tags, bare forms, negation, slots", () => {
  const c = fake("C=US, O=Example Labs, CN=gw1", { dns: ["gw1.example.net"], email: ["vpn@example.net"], ip: [Buffer.from([192, 0, 2, 1])] }, "C=US, CN=Root");
  const rows: [string, boolean, string?][] = [
    ["", true], ["C=US, O=Example Labs, CN=gw1", true], ["SUBJECT=CN=gw1", true], ["ISSUER=CN=Root", true], ["ISSUER=CN=Other", false],
    ["DNS=gw1.example.net", true], ["DNS=*.example.net", true], ["gw1.example.net", true], ["DNS=gw2.example.net", false],
    ["EMAIL=vpn@example.net", true], ["vpn@example.net", true], ["IP=192.0.2.1", true], ["192.0.2.1", true], ["IP=192.0.2.0/24", true],
    ["IP=10.0.0.1", false], ["!DNS=gw1.example.net", false], ["!IP=10.0.0.1", true], ["SLOT=3", true, "3"], ["3", false, "4"],
    ["DN=CN=gw1", true], ["URI=x", false], ["RID=1.2.3", false],
  ];
  for (const [s, want, slot] of rows) assert.equal(selectorMatches(sel(s), c, slot), want, s);
  for (const bad of ["FOO=bar", "IP=300.1.1.1", "SLOT=x", "!", "SUBJECT=XX=1", "not a host!"]) assert.equal(typeof parseSelector(bad), "string", bad);
  assert.ok(identityAllowed([sel("ISSUER=CN=Root"), sel("!DNS=revoked.example.net")], c));
  assert.ok(!identityAllowed([sel("ISSUER=CN=Root"), sel("!DNS=*.example.net")], c));
  assert.ok(identityAllowed([sel("")], c));
  assert.ok(!identityAllowed([sel("DNS=other")], c));
});

test("identities a certificate backs, the local ID chosen, and received IDs checked", () => {
  const c = fake("C=US, CN=gw1", { dns: ["gw1.example.net", "vpn.example.net"], email: ["a@b.org"], ip: [Buffer.from([192, 0, 2, 1]), Buffer.alloc(16, 1)] });
  assert.deepEqual(certIdentities(c).map((i) => i.idType), [IdType.ID_DER_ASN1_DN, IdType.ID_IPV4_ADDR, IdType.ID_IPV6_ADDR, IdType.ID_FQDN, IdType.ID_FQDN, IdType.ID_USER_FQDN]);
  const pick = (t: number, s?: string) => {
    const r = localIdentity(c, t, s === undefined ? undefined : sel(s));
    return r.ok ? r.value.data : r.error.code;
  };
  assert.deepEqual(pick(IdType.ID_FQDN), Buffer.from("gw1.example.net"));
  assert.deepEqual(pick(IdType.ID_FQDN, "DNS=vpn.example.net"), Buffer.from("vpn.example.net"));
  assert.deepEqual(pick(IdType.ID_IPV4_ADDR), Buffer.from([192, 0, 2, 1]));
  assert.deepEqual(pick(IdType.ID_DER_ASN1_DN), c.subject.der);
  assert.equal(pick(IdType.ID_IPV4_ADDR_SUBNET), "IKE_ERR_PKI_ID_MISMATCH");
  assert.equal(localIdentity(fake("CN=x"), IdType.ID_USER_FQDN).ok, false);
  const check = (t: number, data: Buffer) => {
    const r = checkPeerIdentity({ idType: t, data }, c);
    return r.ok ? "ok" : r.error.code;
  };
  assert.equal(check(IdType.ID_DER_ASN1_DN, encodeName(dn("c=us, cn=GW1"))), "ok");
  assert.equal(check(IdType.ID_DER_ASN1_DN, encodeName(dn("C=US, CN=gw2"))), "IKE_ERR_PKI_ID_MISMATCH");
  assert.equal(check(IdType.ID_DER_ASN1_DN, Buffer.from([0x30, 0x05, 1])), "IKE_ERR_PKI_ID_MISMATCH");
  assert.equal(check(IdType.ID_FQDN, Buffer.from("GW1.example.net")), "ok");
  assert.equal(check(IdType.ID_FQDN, Buffer.from("other.example.net")), "IKE_ERR_PKI_ID_MISMATCH");
  assert.equal(check(IdType.ID_USER_FQDN, Buffer.from("A@b.org")), "ok");
  assert.equal(check(IdType.ID_IPV4_ADDR, Buffer.from([192, 0, 2, 1])), "ok");
  assert.equal(check(IdType.ID_IPV4_ADDR, Buffer.from([192, 0, 2, 2])), "IKE_ERR_PKI_ID_MISMATCH");
  assert.equal(check(IdType.ID_IPV6_ADDR, Buffer.alloc(16, 1)), "ok");
  assert.equal(check(IdType.ID_KEY_ID, Buffer.from("x")), "IKE_ERR_PKI_ID_MISMATCH");
});
