/**
 * `ldap_server` against a real LDAP server (OpenLDAP slapd on loopback, in the test's network
 * namespace) holding the make-certs.sh CA's certificate and CRL, an intermediate CA's certificate
 * and CRL, and an end entity's certificate: a path whose intermediate is only in the directory
 * validates; a revoked certificate is caught through a CRL only the directory has; answers are
 * cached (the server can go away); a server that never answers, one that floods, and one that is
 * down are bounded failures; `in.iked -c` accepts the keyword.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  CrlIndex, LdapDirectory, PkiCode, decodeNameDer, encodeName, inlineVerifier, ldapDn, parseCertificate, parseDn, parseCrl, validatePath,
  type Certificate, type ValidationOptions,
} from "../../src/pki/index.js";
import type { Ava } from "../../src/pki/name.js";
import { derObjects } from "../../src/pki/pem.js";
import { IN_IKED, makeRoot } from "../daemon/harness.js";
import { skipFor } from "../helpers/skip.js";
import { freePort, ldifBinary, slapdSkip, startSlapd, type Slapd } from "../helpers/slapd.js";
import { pkiSkip, removeTestPki, testPki } from "./fixtures.js";

const skip = slapdSkip() || skipFor(pkiSkip());

function der(file: string): Buffer {
  const objs = derObjects(fs.readFileSync(file), "certificate");
  assert.ok(Array.isArray(objs));
  return objs[0]!;
}
function cert(file: string): Certificate {
  const r = parseCertificate(der(file));
  assert.ok(r.ok);
  return r.value;
}
const name = (text: string) => decodeNameDer(encodeName(parseDn(text) as Ava[][]));

test("names become RFC 4514 DN strings, most specific first, escaped", () => {
  assert.equal(ldapDn(name("C=US, O=IKEv1 Interop Test, CN=Intermediate CA")), "CN=Intermediate CA,O=IKEv1 Interop Test,C=US");
  assert.equal(ldapDn(name("C=NL, O=Example\\, Inc., CN=#gw + OU=x")), "OU=x+CN=\\#gw,O=Example\\, Inc.,C=NL");
  assert.equal(ldapDn(name("C=NL, 2.5.4.97=VATNL-1")), "2.5.4.97=VATNL-1,C=NL");
});

describe("LDAP directory (slapd)", { skip }, () => {
  let slapd: Slapd;
  let intCrl: Buffer;
  const servers = () => [{ host: "127.0.0.1", port: slapd.port }];

  before(async () => {
    const p = testPki();
    // A CRL from the intermediate CA, which the fixtures do not make.
    intCrl = execFileSync("pki", ["--signcrl", "--cacert", p.intermediate, "--cakey", p.intermediateKey, "--lifetime", "30", "--outform", "der"], { stdio: ["ignore", "pipe", "pipe"] });
    const o = "o=IKEv1 Interop Test,c=US";
    const ldif = [
      "dn: c=US\nobjectClass: country\nc: US\n",
      `dn: ${o}\nobjectClass: organization\no: IKEv1 Interop Test\n`,
      `dn: cn=IKEv1 Interop Test CA,${o}\nobjectClass: device\nobjectClass: pkiCA\ncn: IKEv1 Interop Test CA\n${ldifBinary("cACertificate", der(p.ca))}\n${ldifBinary("certificateRevocationList", fs.readFileSync(p.crlDer))}\n`,
      `dn: cn=Intermediate CA,${o}\nobjectClass: device\nobjectClass: pkiCA\ncn: Intermediate CA\n${ldifBinary("cACertificate", der(p.intermediate))}\n${ldifBinary("certificateRevocationList", intCrl)}\n`,
      `dn: cn=host.int.example,${o}\nobjectClass: device\nobjectClass: pkiUser\ncn: host.int.example\n${ldifBinary("userCertificate", der(p.underIntermediate))}\n`,
    ].join("\n");
    slapd = await startSlapd("c=US", ldif);
  });
  after(async () => {
    await slapd?.stop();
    removeTestPki();
  });

  const options = (dir: LdapDirectory, over: Partial<ValidationOptions> = {}): ValidationOptions => ({
    anchors: { roots: [cert(testPki().ca)], trusted: [] },
    intermediates: [],
    maxCerts: 4,
    now: Date.now(),
    verifier: inlineVerifier,
    usage: "signature",
    crls: new CrlIndex([], undefined, dir),
    directory: dir,
    ...over,
  });

  test("an intermediate and both CRLs only the directory holds: the path validates", async () => {
    const p = testPki();
    const results: string[] = [];
    const dir = new LdapDirectory({ servers: servers(), onResult: (what, r) => results.push(`${what}: ${r.ok ? r.values : r.reason}`) });
    const r = await validatePath(cert(p.underIntermediate), [], options(dir));
    assert.ok(r.ok, r.ok ? "" : `${r.error.code} ${r.error.message}`);
    assert.deepEqual(r.value.path.map((c) => c.subjectText), ["C=US, O=IKEv1 Interop Test, CN=host.int.example", "C=US, O=IKEv1 Interop Test, CN=Intermediate CA", "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA"]);
    assert.ok(results.some((l) => /^cACertificate of "CN=Intermediate CA,O=IKEv1 Interop Test,C=US": 1$/.test(l)), results.join("\n"));
    // Without the directory the issuer is unknown.
    const none = await validatePath(cert(p.underIntermediate), [], options(dir, { directory: undefined }));
    assert.equal(none.ok ? "" : none.error.code, PkiCode.UnknownCa);
  });

  test("a certificate revoked by a CRL only the directory holds is refused", async () => {
    const dir = new LdapDirectory({ servers: servers() });
    const r = await validatePath(cert(testPki().revoked), [], options(dir));
    assert.equal(r.ok ? "" : r.error.code, PkiCode.Revoked);
    const crls = await dir.crls(cert(testPki().ca).subject);
    const held = parseCrl(fs.readFileSync(testPki().crlDer));
    assert.ok(held.ok);
    assert.deepEqual(crls.map((c) => c.fingerprint), [held.value.fingerprint]);
  });

  test("end-entity certificates by subject; an entry that does not exist is an empty answer", async () => {
    const dir = new LdapDirectory({ servers: servers() });
    const leaf = cert(testPki().underIntermediate);
    assert.deepEqual((await dir.userCertificates(leaf.subject)).map((c) => c.fingerprint), [leaf.fingerprint]);
    assert.deepEqual(await dir.userCertificates(name("C=US, O=IKEv1 Interop Test, CN=nobody")), []);
    assert.deepEqual(await dir.caCertificates(name("C=NL, CN=not in this directory")), []);
  });

  test("answers are cached: a second look-up does not reach the server; the second server answers when the first is down", async () => {
    const down = await freePort();
    let queries = 0;
    const dir = new LdapDirectory({ servers: [{ host: "127.0.0.1", port: down }, ...servers()], onResult: () => queries++ });
    const int = cert(testPki().intermediate);
    assert.equal((await dir.caCertificates(int.subject)).length, 1);
    assert.equal((await dir.caCertificates(int.subject)).length, 1);
    assert.equal(queries, 1);
  });

  test("bounded: a server that never answers times out, one that floods is cut off; the failure is cached", async () => {
    const silent = net.createServer(() => undefined);
    const flood = net.createServer((s) => {
      s.on("error", () => undefined);
      // An LDAPMessage header claiming 256 MiB, then bytes that never end it.
      s.write(Buffer.from([0x30, 0x84, 0x10, 0x00, 0x00, 0x00]));
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
    });
    await Promise.all([silent, flood].map((srv) => new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()))));
    const port = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
    try {
      const reasons: string[] = [];
      const slow = new LdapDirectory({ servers: [{ host: "127.0.0.1", port: port(silent) }], timeoutMs: 300, onResult: (_w, r) => reasons.push(r.ok ? "ok" : r.reason) });
      assert.deepEqual(await slow.crls(cert(testPki().ca).subject), []);
      assert.match(reasons[0] ?? "", /no complete answer within 300 ms|timeout/i);
      assert.deepEqual(await slow.crls(cert(testPki().ca).subject), []);
      assert.equal(reasons.length, 1, "the failure is cached");
      const big = new LdapDirectory({ servers: [{ host: "127.0.0.1", port: port(flood) }], maxBytes: 256 * 1024, timeoutMs: 20_000, onResult: (_w, r) => reasons.push(r.ok ? "ok" : r.reason) });
      assert.deepEqual(await big.caCertificates(cert(testPki().ca).subject), []);
      assert.match(reasons[1] ?? "", /answer larger than 262144 bytes/);
    } finally {
      silent.close();
      flood.close();
    }
  });

  test("DNs chosen by unverified peers: look-ups are rate-limited and bounded in flight, refusals told and not cached; the cache is bounded and drops expired answers", async () => {
    let now = 1_000_000;
    let queries = 0;
    const refused: string[] = [];
    const dir = new LdapDirectory({
      servers: servers(), now: () => now, ttlMs: 60_000, maxCached: 8, lookupBurst: 12, lookupsPerSecond: 1, maxInFlight: 3,
      onResult: () => queries++, onRefused: (what, reason) => refused.push(`${what}: ${reason}`),
    });
    const random = (i: number) => name(`C=US, O=Flood, CN=random issuer ${i}`);
    // Ten at once, as from ten CERT payloads: three run, seven are refused on the spot.
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => dir.caCertificates(random(i))));
    assert.deepEqual(first.map((l) => l.length), Array(10).fill(0));
    assert.equal(queries, 3);
    assert.equal(refused.length, 7);
    assert.match(refused[0]!, /^cACertificate of "CN=random issuer 3,O=Flood,C=US": 3 look-ups already running \(at most 3\)$/);
    assert.equal(dir.inFlight, 0);
    // One after another: the burst's other nine tokens, then refusals until time passes.
    for (let i = 10; i < 30; i++) await dir.caCertificates(random(i));
    assert.equal(queries, 12);
    assert.equal(refused.length, 7 + 11);
    assert.match(refused.at(-1)!, /more than 12 look-ups at once or 1 a second/);
    assert.equal(dir.refused, 18);
    assert.equal(dir.cached, 8, "the cache holds at most maxCached answers");
    // A refusal was not cached: once a token is back, the honest look-up is made and answered.
    const int = cert(testPki().intermediate);
    now += 1000;
    assert.equal((await dir.caCertificates(int.subject)).length, 1);
    assert.equal(queries, 13);
    assert.ok(dir.cachedBytes >= int.der.length);
    // Past the TTL every old answer goes at the next look-up.
    now += 60_000;
    await dir.caCertificates(random(99));
    assert.equal(dir.cached, 1, "expired answers dropped");
  });

  test("the cache is bounded in bytes: the oldest answers go first", async () => {
    const ca = cert(testPki().ca);
    const int = cert(testPki().intermediate);
    let queries = 0;
    const dir = new LdapDirectory({ servers: servers(), maxCachedBytes: ca.der.length + int.der.length - 1, onResult: () => queries++ });
    assert.equal((await dir.caCertificates(ca.subject)).length, 1);
    assert.equal(dir.cachedBytes, ca.der.length);
    assert.equal((await dir.caCertificates(int.subject)).length, 1);
    assert.equal(dir.cached, 1, "the CA's answer went to make room");
    assert.equal(dir.cachedBytes, int.der.length);
    assert.equal((await dir.caCertificates(ca.subject)).length, 1);
    assert.equal(queries, 3, "asked again: it was no longer cached");
  });

  test("in.iked -c accepts ldap_server", () => {
    const root = makeRoot('ldap_server "127.0.0.1:389,ldap.example.net"\n', undefined);
    try {
      const r = spawnSync(process.execPath, ["--openssl-legacy-provider", IN_IKED, "-c", "--root", root]);
      assert.equal(r.status, 0, r.stderr.toString());
      assert.doesNotMatch(r.stderr.toString(), /ldap/i);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
