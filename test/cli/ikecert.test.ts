/**
 * ikecert as a child process on a temporary --root: every subcommand and primary option, checked
 * against OpenSSL (it verifies what we generate) and make-certs.sh certificates and CRLs, and the
 * store it writes accepted by `in.iked -c`.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ikedPaths } from "../../src/daemon/paths.js";
import { IN_IKED, makeRoot, run, type RunResult } from "../daemon/harness.js";
import { pkiTestOptions, removeTestPki, testPki } from "../pki/fixtures.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  removeTestPki();
});
function root(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), "iked-ikecert-"));
  dirs.push(r);
  return r;
}

/** ikecert with stdin as bytes. */
function ikecert(r: string, args: string[], input?: Buffer | string): Promise<RunResult & { out: Buffer }> {
  const res = spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", r, ...args], { input: input ?? "", maxBuffer: 1 << 24 });
  return Promise.resolve({ code: res.status, stdout: res.stdout.toString("latin1"), stderr: res.stderr.toString(), out: res.stdout });
}
const openssl = (args: string[], input?: Buffer | string) => execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] }).toString();
const tmpFile = (r: string, name: string, data: Buffer | string) => {
  const f = path.join(r, name);
  fs.writeFileSync(f, data);
  return f;
};

describe("ikecert", () => {
  test("usage: unknown subcommand exits 1 with the two-line usage; -h prints help", async () => {
    const r = root();
    const bad = await ikecert(r, ["frobnicate"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Usage: ikecert .*certlocal\|certdb\|certrldb/);
    assert.match(bad.stderr, /-h after a subcommand/);
    for (const sub of ["certlocal", "certdb", "certrldb"]) {
      const h = await ikecert(r, [sub, "-h"]);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`ikecert ${sub}`));
    }
    assert.match((await ikecert(r, ["certdb", "-l", "-r"])).stderr, /cannot be combined/);
    assert.match((await ikecert(r, ["certlocal", "-k"])).stderr, /-kc .* or -ks/);
  });

  test("token options without a token say so", async () => {
    const r = root();
    for (const [args, why] of [
      [["certlocal", "-kc", "-p"], /-p \(store the token PIN\) needs -T token/],
      [["certdb", "-U", "1"], /-U needs -T token/],
      [["certdb", "-C", "SLOT=1", "-T", "tok"], /no certificate matches/],
      [["certlocal", "-L", "x"], /-L needs -T token/],
    ] as const) {
      const res = await ikecert(r, [...args]);
      assert.equal(res.code, 1, args.join(" "));
      assert.match(res.stderr, why);
    }
  });

  test("certlocal -ks: RSA and DSA keys with self-signed certificates OpenSSL verifies; -l lists; -e exports; -r removes", async () => {
    const r = root();
    const p = ikedPaths(r);
    const rsa = await ikecert(r, ["certlocal", "-ks", "-m", "2048", "-t", "rsa-sha256", "-D", "C=NL, O=Example Labs, CN=gw1", "-A", "IP=192.0.2.1", "-A", "DNS=gw1.example.net", "-F", "+2y"]);
    assert.equal(rsa.code, 0, rsa.stderr);
    assert.match(rsa.stdout, /^-----BEGIN X509 CERTIFICATE-----/);
    assert.match(rsa.stderr, /Private key generated in slot 0\.\nCertificate added to database in slot 0\./);
    const pem = tmpFile(r, "gw1.pem", rsa.stdout.replace(/X509 CERTIFICATE/g, "CERTIFICATE"));
    assert.match(openssl(["verify", "-CAfile", pem, pem]), /OK/);
    const text = openssl(["x509", "-in", pem, "-noout", "-text"]);
    assert.match(text, /Subject: C = NL, O = Example Labs, CN = gw1/);
    assert.match(text, /IP Address:192\.0\.2\.1, DNS:gw1\.example\.net|DNS:gw1\.example\.net, IP Address:192\.0\.2\.1/);
    assert.equal(fs.statSync(path.join(p.privateKeysDir, "0")).mode & 0o777, 0o600);
    assert.equal(fs.statSync(p.privateKeysDir).mode & 0o777, 0o700);

    const dsa = await ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "dsa-sha1", "-D", "CN=dss-gw", "-f", "ber"]);
    assert.equal(dsa.code, 0, dsa.stderr);
    assert.match(openssl(["x509", "-inform", "der", "-noout", "-text"], dsa.out), /Signature Algorithm: dsaWithSHA1/);
    const dsaPem = tmpFile(r, "dsa.pem", openssl(["x509", "-inform", "der"], dsa.out));
    assert.match(openssl(["verify", "-CAfile", dsaPem, dsaPem]), /OK/);

    const list = await ikecert(r, ["certlocal", "-l"]);
    assert.match(list.stdout, /Local ID Slot Name: 0 {3}Key Type: rsa\n\tKey Size: 2048\n\tPublic key hash: [0-9A-F]{32}\n\tCertificate: <C=NL, O=Example Labs, CN=gw1>/);
    assert.match(list.stdout, /Local ID Slot Name: 1 {3}Key Type: dsa\n\tKey Size: 1024/);
    assert.doesNotMatch(list.stdout, /PRIVATE KEY/);
    assert.match((await ikecert(r, ["certlocal", "-l", "-v", "1"])).stdout, /BEGIN PRIVATE KEY/);

    const exported = await ikecert(r, ["certlocal", "-e", "0"]);
    assert.match(openssl(["pkey", "-inform", "der", "-noout", "-text"], exported.out), /Private-Key: \(2048 bit/);
    assert.match((await ikecert(r, ["certlocal", "-e", "-f", "pem", "1"])).stdout, /BEGIN PRIVATE KEY/);
    assert.equal((await ikecert(r, ["certlocal", "-e", "9"])).code, 1);

    for (const bad of [["-m", "512", "-t", "rsa-sha1"], ["-m", "4096", "-t", "dsa-sha1"], ["-m", "2048", "-t", "ecdsa"]]) {
      const res = await ikecert(r, ["certlocal", "-ks", ...bad, "-D", "CN=x"]);
      assert.equal(res.code, 1, bad.join(" "));
    }
    assert.match((await ikecert(r, ["certlocal", "-ks", "-m", "2048", "-t", "rsa-sha1", "-D", "CN=x", "-S", "+1d", "-F", "-1h"])).stderr, /must be later/);
    assert.match((await ikecert(r, ["certlocal", "-ks", "-m", "2048", "-t", "rsa-sha1", "-D", "XX=1"])).stderr, /-D: unknown attribute type/);

    assert.equal((await ikecert(r, ["certlocal", "-r", "1"])).code, 0);
    assert.equal(fs.existsSync(path.join(p.privateKeysDir, "1")), false);
    assert.equal(fs.existsSync(path.join(p.publicKeysDir, "1")), true, "the certificate stays");
  });

  test("certlocal -kc prints a request OpenSSL verifies; certdb -a puts the CA-signed certificate in the key's slot", async () => {
    const r = root();
    const req = await ikecert(r, ["certlocal", "-kc", "-m", "2048", "-t", "rsa-sha1", "-D", "CN=gw2, O=Example Labs", "-A", "DNS=gw2.example.net", "-S", "-1d", "-F", "+2y"]);
    assert.equal(req.code, 0, req.stderr);
    const csr = tmpFile(r, "gw2.csr", req.stdout);
    assert.match(openssl(["req", "-in", csr, "-noout", "-verify", "-text"]), /DNS:gw2\.example\.net/);
    // A CA signs it (OpenSSL as the CA), and the certificate comes back.
    const ca = testPki();
    const signed = execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca.ca, "-CAkey", ca.caKey, "-set_serial", "77", "-days", "30", "-copy_extensions", "copy"]);
    const added = await ikecert(r, ["certdb", "-a"], signed);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /slot 0 \(with its private key\)/);
    assert.equal((await ikecert(r, ["certdb", "-a"], signed)).code, 1, "a duplicate is refused");
  }, );

  test("certdb with make-certs.sh certificates: -a PEM and DER, -l with certspecs, -e pem/ber, -r; certlocal -a pairs a key", { ...pkiTestOptions() }, async () => {
    const r = root();
    const pki = testPki();
    assert.equal((await ikecert(r, ["certdb", "-a"], fs.readFileSync(pki.ca))).code, 0);
    assert.equal((await ikecert(r, ["certdb", "-a"], fs.readFileSync(pki.ip.replace(/\.crt$/, ".crt.der")))).code, 0);
    assert.equal((await ikecert(r, ["certdb", "-a"], fs.readFileSync(pki.fqdn))).code, 0);
    const keyAdd = await ikecert(r, ["certlocal", "-a"], fs.readFileSync(pki.ip.replace(/\.crt$/, ".key.der")));
    assert.match(keyAdd.stderr, /Private key added in slot 1 \(with its certificate\)/);
    const all = await ikecert(r, ["certdb", "-l"]);
    assert.match(all.stdout, /Certificate Slot Name: 1 {3}Key Type: rsa\n\t\(Private key in certlocal slot 1\)\n\tSubject Name: <C=US, O=IKEv1 Interop Test, CN=127\.0\.0\.2>/);
    assert.match(all.stdout, /SubjectAltName: IP=127\.0\.0\.2/);
    const some = await ikecert(r, ["certdb", "-l", "ISSUER=CN=IKEv1 Interop Test CA", "!DNS=gw.example.net"]);
    assert.match(some.stdout, /CN=127\.0\.0\.2/);
    assert.doesNotMatch(some.stdout, /CN=gw\.example\.net>/);
    const pem = await ikecert(r, ["certdb", "-e", "DNS=gw.example.net"]);
    assert.match(pem.stdout, /^-----BEGIN X509 CERTIFICATE-----/);
    const der = await ikecert(r, ["certdb", "-e", "-f", "ber", "SLOT=1"]);
    assert.deepEqual(der.out, fs.readFileSync(pki.ip.replace(/\.crt$/, ".crt.der")));
    assert.equal((await ikecert(r, ["certdb", "-e", "DNS=none.example"])).code, 1);
    assert.equal((await ikecert(r, ["certdb", "-a"], "not a certificate")).code, 1);
    const rm = await ikecert(r, ["certdb", "-r", "SLOT=1"]);
    assert.match(rm.stderr, /removed \(its private key is kept\)/);
    assert.equal(fs.existsSync(path.join(ikedPaths(r).privateKeysDir, "1")), true);
  });

  test("certrldb: -a, -l with the certificates it covers, -e, -r", { ...pkiTestOptions() }, async () => {
    const r = root();
    const pki = testPki();
    await ikecert(r, ["certdb", "-a"], fs.readFileSync(pki.revoked));
    const add = await ikecert(r, ["certrldb", "-a"], fs.readFileSync(pki.crlDer));
    assert.equal(add.code, 0, add.stderr);
    const list = await ikecert(r, ["certrldb", "-l"]);
    assert.match(list.stdout, /CRL Slot Name: 1\n\tIssuer Name: <C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA>/);
    assert.match(list.stdout, /Revoked certificates: 1\n\tCertificate in slot 0: <C=US, O=IKEv1 Interop Test, CN=revoked\.example\.net> REVOKED/);
    const pem = await ikecert(r, ["certrldb", "-e", "ISSUER=CN=IKEv1 Interop Test CA"]);
    assert.match(openssl(["crl", "-noout", "-issuer"], pem.stdout), /IKEv1 Interop Test CA/);
    assert.match((await ikecert(r, ["certrldb", "-a"], fs.readFileSync(pki.crlDer))).stderr, /replaced in slot 1/);
    assert.equal((await ikecert(r, ["certrldb", "-r", "SLOT=1"])).code, 0);
    assert.equal((await ikecert(r, ["certrldb", "-e", "SLOT=1"])).code, 1);
  });

  test("a store ikecert built passes in.iked -c for a cert_trust rsa_sig rule", async () => {
    const r = makeRoot(`cert_trust "CN=peer-gw"\n{\n\tlabel "c"\n\tlocal_addr 127.0.0.1\n\tremote_addr 127.0.0.2\n\tlocal_id_type dns\n\tlocal_id "DNS=gw1.example.net"\n\tremote_id "CN=peer-gw"\n\tp1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes }\n}\n`);
    dirs.push(r);
    assert.equal((await ikecert(r, ["certlocal", "-ks", "-m", "2048", "-t", "rsa-sha256", "-D", "CN=gw1", "-A", "DNS=gw1.example.net"])).code, 0);
    assert.equal((await ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha256", "-D", "CN=peer-gw"])).code, 0);
    const res = await run(IN_IKED, ["-c", "--root", r]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /2 certificates, 2 private keys, 0 CRLs; configuration OK/);
  });
});
