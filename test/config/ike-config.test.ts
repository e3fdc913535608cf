/**
 * ike.config valid corpus: the reference examples and an administrator-style file with every
 * keyword, number form, comment style and address form, checked value by value.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { AuthMethod, IdType, IkeEncryption, IkeHash } from "../../src/codec/index.js";
import { formatDiagnostic, parseIkeConfig, type IkeConfig } from "../../src/config/index.js";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/config");

function parseFixture(name: string): IkeConfig {
  const r = parseIkeConfig(readFileSync(path.join(fixtures, name), "utf8"), name);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic), []);
  assert.equal(r.ok, true);
  return r.value;
}

/** Parses a file that must draw no diagnostic except weak-algorithm warnings (weak-algorithms.test.ts). */
function parseOk(text: string): IkeConfig {
  const r = parseIkeConfig(text, "t");
  assert.deepEqual(r.diagnostics.filter((d) => d.code !== "IKE_ERR_CFG_WEAK_ALG").map(formatDiagnostic), []);
  return r.value;
}

const PSK_3DES = { authMethod: AuthMethod.PreSharedKey, oakleyGroup: 2, encrAlg: IkeEncryption.TRIPLEDES_CBC, authAlg: IkeHash.SHA };

test("reference example A: globals, global transform list, one rule", () => {
  const c = parseFixture("example-a.conf");
  assert.equal(c.globals.retryLimit, 4);
  assert.equal(c.globals.p1LifetimeSecs, 14400);
  assert.equal(c.globals.p2Pfs, 14);
  assert.deepEqual(c.p1Xforms, [
    { authMethod: 1, oakleyGroup: 14, authAlg: 4, encrAlg: 7, encrKeyLen: { low: 256, high: 256 } },
    { authMethod: 1, oakleyGroup: 14, authAlg: 2, encrAlg: 7 },
  ]);
  assert.deepEqual(c.rules, [
    {
      label: "site-a to site-b",
      localAddr: [{ kind: "single", family: 4, addr: "198.51.100.10" }],
      remoteAddr: [{ kind: "single", family: 4, addr: "203.0.113.20" }],
      remoteId: [],
      p1Xforms: [],
      p2LifetimeSecs: 3600,
    },
  ]);
});

test("reference example B: certificates, subnet and spaced range, per-rule transforms", () => {
  const c = parseFixture("example-b.conf");
  assert.deepEqual(c.globals.certRoot, ["C=NL, O=Example Labs, CN=Example Root CA"]);
  assert.equal(c.globals.ignoreCrls, true);
  const r = c.rules[0]!;
  assert.equal(r.label, "branch gateways");
  assert.equal(r.localIdType, IdType.ID_DER_ASN1_DN);
  assert.equal(r.localId, "C=NL, O=Example Labs, CN=hq-gw");
  assert.deepEqual(r.remoteId, ["ISSUER=C=NL, O=Example Labs, CN=Example Root CA", "!DNS=revoked-gw.example.net"]);
  assert.deepEqual(r.remoteAddr, [
    { kind: "prefix", family: 4, addr: "10.20.0.0", prefixLen: 16 },
    { kind: "range", family: 4, start: "10.30.0.0", end: "10.30.0.255" },
  ]);
  assert.deepEqual(r.p1Xforms, [
    { authMethod: AuthMethod.RsaSignatures, oakleyGroup: 5, authAlg: IkeHash.SHA, encrAlg: IkeEncryption.TRIPLEDES_CBC, p1LifetimeSecs: 7200 },
    { authMethod: AuthMethod.RsaSignatures, oakleyGroup: 2, authAlg: IkeHash.MD5, encrAlg: IkeEncryption.BLOWFISH_CBC },
  ]);
  assert.equal(r.p2Pfs, 5);
});

test("reference example C: IPv6 rule and a catch-all", () => {
  const c = parseFixture("example-c.conf");
  assert.equal(c.globals.expireTimer, 120);
  assert.equal(c.globals.retryTimerInit, 1);
  assert.equal(c.globals.retryTimerMax, 16);
  assert.equal(c.globals.localIdType, IdType.ID_IPV4_ADDR);
  const [v6, any] = c.rules;
  assert.equal(v6!.localIdType, IdType.ID_IPV6_ADDR);
  assert.deepEqual(v6!.localAddr, [{ kind: "single", family: 6, addr: "2001:db8:1::1" }]);
  assert.deepEqual(v6!.remoteAddr, [{ kind: "prefix", family: 6, addr: "2001:db8:2::", prefixLen: 64 }]);
  assert.deepEqual(v6!.p1Xforms[0]!.encrKeyLen, { low: 128, high: 256 });
  assert.equal(v6!.p1Xforms[0]!.authAlg, IkeHash.SHA2_384);
  assert.deepEqual(any!.localAddr, [{ kind: "prefix", family: 4, addr: "0.0.0.0", prefixLen: 0 }]);
  assert.deepEqual(any!.p1Xforms, [PSK_3DES]);
});

test("administrator-style file: every global keyword and number form", () => {
  const c = parseFixture("admin-style.conf");
  assert.deepEqual(c.globals, {
    certRoot: ["C=US, O=Example\\, Inc., CN=Root", "SLOT=0"],
    certTrust: ["!EMAIL=old@example.com", "192.0.2.99"],
    ignoreCrls: true,
    useHttp: true,
    ldapServer: [
      { host: "ldap1.example.com", port: 389 },
      { host: "ldap2.example.com", port: 1389 },
      { host: "2001:db8::7", port: 636 },
    ],
    pkcs11Path: "/usr/lib/libpkcs11.so",
    proxy: "http://proxy.example.com:8080",
    socks: "socks://10.0.0.1:1080",
    expireTimer: 300,
    retryLimit: 8,
    retryTimerInit: 0.5,
    retryTimerMax: 30,
    maxCerts: 32,
    p1LifetimeSecs: 28800,
    p1NonceLen: 32,
    p2NonceLen: 20,
    p2LifetimeSecs: 3600,
    p2SoftlifeSecs: 3000,
    p2IdletimeSecs: 600,
    p2LifetimeKb: 0,
    p2SoftlifeKb: 0,
    p2Pfs: 2,
    localIdType: IdType.ID_IPV4_ADDR,
  });
  assert.deepEqual(c.p1Xforms, [
    { authMethod: 1, oakleyGroup: 2, authAlg: IkeHash.MD5, encrAlg: IkeEncryption.DES_CBC },
    { authMethod: 1, oakleyGroup: 5, authAlg: IkeHash.SHA, encrAlg: IkeEncryption.TRIPLEDES_CBC, p1LifetimeSecs: 14400 },
  ]);
});

test("administrator-style file: address forms, spacing, extension and certificate rule", () => {
  const [hq, cert] = parseFixture("admin-style.conf").rules;
  assert.deepEqual(hq, {
    label: "hq net",
    localAddr: [
      { kind: "prefix", family: 4, addr: "10.1.2.0", prefixLen: 24 },
      { kind: "prefix", family: 4, addr: "10.1.3.0", prefixLen: 24 },
    ],
    remoteAddr: [
      { kind: "range", family: 4, start: "10.9.0.1", end: "10.9.0.63" },
      { kind: "range", family: 4, start: "10.9.1.0", end: "10.9.1.255" },
      { kind: "single", family: 4, addr: "192.0.2.7" },
    ],
    remoteId: [],
    p1Xforms: [],
    p2Pfs: 0,
    remotePort: 10500,
  });
  assert.equal(cert!.localIdType, IdType.ID_DER_ASN1_DN);
  assert.equal(cert!.localId, "CN=gw.example.com");
  assert.deepEqual(cert!.remoteId, [""]);
  assert.deepEqual(cert!.localAddr, [{ kind: "single", family: 6, addr: "2001:db8::1" }]);
  assert.deepEqual(cert!.remoteAddr, [
    { kind: "range", family: 6, start: "2001:db8:ff::1", end: "2001:db8:ff::ff" },
    { kind: "prefix", family: 6, addr: "::ffff:c633:6400", prefixLen: 120 },
  ]);
  assert.deepEqual(
    cert!.p1Xforms.map((x) => [x.authMethod, x.oakleyGroup, x.encrAlg, x.encrKeyLen, x.authAlg]),
    [
      [AuthMethod.RsaSignatures, 14, IkeEncryption.AES_CBC, { low: 128, high: 128 }, IkeHash.SHA2_256],
      [AuthMethod.DssSignatures, 16, IkeEncryption.BLOWFISH_CBC, undefined, IkeHash.SHA2_512],
      [AuthMethod.RsaEncryption, 16, IkeEncryption.AES_CBC, { low: 192, high: 256 }, IkeHash.SHA2_384],
      [AuthMethod.RsaSignatures, 1, IkeEncryption.BLOWFISH_CBC, undefined, IkeHash.SHA],
    ],
  );
  assert.deepEqual(
    [cert!.p2Pfs, cert!.p2LifetimeSecs, cert!.p2SoftlifeSecs, cert!.p2IdletimeSecs, cert!.p2LifetimeKb, cert!.p2SoftlifeKb],
    [14, 7200, 7000, 300, 100000, 90000],
  );
});

test("braces touch words; items share lines; a rule spans lines", () => {
  const c = parseOk('{label "t" local_addr 1.1.1.1 remote_addr 2.2.2.2 p1_xform {auth_method preshared oakley_group 2 auth_alg sha encr_alg 3des}}');
  assert.deepEqual(c.rules[0]!.p1Xforms, [PSK_3DES]);
});

test("backslash-newline continues a line, also with CRLF line ends", () => {
  const text = "p1_xform { auth_method preshared \\\r\n oakley_group 2 \\\n auth_alg sha encr_alg 3des }\r\n";
  assert.deepEqual(parseOk(text).p1Xforms, [PSK_3DES]);
});

test("comments: # and // anywhere unquoted, not inside strings", () => {
  const c = parseOk('pkcs11_path "/a#b//c" # trailing\n// whole line\nproxy "http://p:1"//x\nretry_limit 3#x\n');
  assert.equal(c.globals.pkcs11Path, "/a#b//c");
  assert.equal(c.globals.proxy, "http://p:1");
  assert.equal(c.globals.retryLimit, 3);
});

test("string escapes: backslash takes the next character literally", () => {
  const c = parseOk('cert_trust "a\\"b\\\\c\\d"');
  assert.deepEqual(c.globals.certTrust, ['a"b\\cd']);
});

test("all spellings of encr_alg, auth_alg, auth_method and local_id_type", () => {
  const encr = { des: 1, "des-cbc": 1, "3des": 5, "3des-cbc": 5, blowfish: 3, "blowfish-cbc": 3, aes: 7, "aes-cbc": 7 };
  const hash = { md5: 1, sha: 2, sha1: 2, sha256: 4, sha384: 5, sha512: 6 };
  for (const [w, v] of Object.entries(encr)) {
    assert.equal(parseOk(`p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg ${w} }`).p1Xforms[0]!.encrAlg, v, w);
  }
  for (const [w, v] of Object.entries(hash)) {
    assert.equal(parseOk(`p1_xform { auth_method preshared oakley_group 2 auth_alg ${w} encr_alg des }`).p1Xforms[0]!.authAlg, v, w);
  }
  for (const [w, v] of Object.entries({ preshared: 1, dss_sig: 2, rsa_sig: 3, rsa_encrypt: 4 })) {
    assert.equal(parseOk(`p1_xform { auth_method ${w} oakley_group 2 auth_alg sha encr_alg des }`).p1Xforms[0]!.authMethod, v, w);
  }
  const ids = {
    ip: 1, IP: 1, ipv4: 1, ipv6: 5, ipv4_prefix: 4, ipv6_prefix: 6, ipv4_range: 7, ipv6_range: 8,
    dns: 2, DNS: 2, fqdn: 2, FQDN: 2, mbox: 3, MBOX: 3, user_fqdn: 3, dn: 9, DN: 9, gn: 10, GN: 10,
  };
  for (const [w, v] of Object.entries(ids)) assert.equal(parseOk(`local_id_type ${w}`).globals.localIdType, v, w);
});

test("every documented DH group for oakley_group (unimplemented ones with a warning), and p2_pfs 0", () => {
  for (const g of [1, 2, 3, 4, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]) {
    const r = parseIkeConfig(`p1_xform { auth_method preshared oakley_group ${g} auth_alg sha encr_alg aes }`, "t");
    assert.equal(r.ok, true);
    assert.equal(r.value.p1Xforms[0]!.oakleyGroup, g);
    const implemented = [1, 2, 5, 14, 15, 16].includes(g);
    const weak = g === 1 || g === 2 ? ["warning IKE_ERR_CFG_WEAK_ALG"] : [];
    const diags = r.diagnostics.map((d) => `${d.severity} ${d.code}`).sort();
    assert.deepEqual(diags, implemented ? weak : ["warning IKE_ERR_CFG_UNSUPPORTED"], `group ${g}`);
  }
  for (const g of [0, 1, 2, 5, 14, 15, 16]) assert.equal(parseOk(`p2_pfs ${g}`).globals.p2Pfs, g);
});

test("aes key length forms: LOW..HIGH, single value, hex numbers, spaces", () => {
  const kl = (s: string) => parseOk(`p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg ${s} }`).p1Xforms[0]!.encrKeyLen;
  assert.deepEqual(kl("aes(128..256)"), { low: 128, high: 256 });
  assert.deepEqual(kl("aes(256)"), { low: 256, high: 256 });
  assert.deepEqual(kl("aes-cbc ( 0x80 .. 0xc0 )"), { low: 128, high: 192 });
  assert.equal(kl("aes"), undefined);
});

test("netmask and prefix forms are the same spec; IPv6 text is canonical", () => {
  const rule = (l: string) => parseOk(`{ label "r" local_addr ${l} remote_addr ::1 p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg des } }`);
  assert.deepEqual(rule("10.0.0.0/255.255.0.0").rules[0]!.localAddr, rule("10.0.0.0/16").rules[0]!.localAddr);
  assert.deepEqual(rule("10.0.0.0/0x10").rules[0]!.localAddr, rule("10.0.0.0/16").rules[0]!.localAddr);
  assert.deepEqual(rule("2001:DB8:0000::0:1").rules[0]!.localAddr, [{ kind: "single", family: 6, addr: "2001:db8::1" }]);
  assert.deepEqual(rule("2001:db8::/ffff:ffff::").rules[0]!.localAddr, [{ kind: "prefix", family: 6, addr: "2001:db8::", prefixLen: 32 }]);
});

test("unquoted single words are accepted where a string is expected", () => {
  const c = parseOk("cert_root SLOT=1 pkcs11_path /usr/lib/x.so");
  assert.deepEqual(c.globals.certRoot, ["SLOT=1"]);
  assert.equal(c.globals.pkcs11Path, "/usr/lib/x.so");
});

test("a rule may come before the global p1_xform list it relies on", () => {
  const c = parseOk('{ label "r" local_addr 1.1.1.1 remote_addr 2.2.2.2 }\np1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg 3des }');
  assert.equal(c.rules.length, 1);
  assert.deepEqual(c.p1Xforms, [PSK_3DES]);
});

test("an empty file and a comment-only file are valid and empty", () => {
  for (const t of ["", "# nothing\n// here\n\n"]) {
    assert.deepEqual(parseOk(t), {
      globals: { certRoot: [], certTrust: [], ignoreCrls: false, ldapServer: [], useHttp: false },
      p1Xforms: [],
      rules: [],
    });
  }
});
