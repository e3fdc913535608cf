/**
 * ikecert with PKCS#11 tokens (SoftHSM2, a token per test file in a temporary directory), as a
 * child process on a temporary --root: `tokens`, keys generated on the token (-ks/-kc -T, RSA and
 * DSA, OpenSSL verifying what the token signed), -p, -U, -C, -L, -r, certdb -a/-C/-L/-U/-r on
 * token objects, wrong PINs, and `in.iked -c` reading the store those commands write.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ikedPaths } from "../../src/daemon/paths.js";
import { IN_IKED, makeRoot } from "../daemon/harness.js";
import { SOFTHSM_LIB, softhsm, softhsmSkip, type SoftHsm } from "../helpers/softhsm.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const PIN = "13571357";
const TOKEN = "ikecert test";
const skip = softhsmSkip();

describe("ikecert with a PKCS#11 token", { skip }, () => {
  let hsm: SoftHsm;
  const roots: string[] = [];
  before(() => {
    hsm = softhsm();
    hsm.initToken(TOKEN, PIN);
  });
  after(() => {
    hsm?.remove();
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });
  const newRoot = (config = `pkcs11_path "${SOFTHSM_LIB}"\n`) => {
    const r = makeRoot(config, undefined);
    roots.push(r);
    return r;
  };
  const ikecert = (r: string, args: string[], input: string | Buffer = `${PIN}\n`) => {
    const res = spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", r, ...args], { env: hsm.env, input });
    return { code: res.status, stdout: res.stdout.toString("latin1"), stderr: res.stderr.toString(), out: res.stdout };
  };
  const opensslVerifies = (r: string, pem: string) => {
    const f = path.join(r, "self.pem");
    fs.writeFileSync(f, pem.replace(/X509 CERTIFICATE/g, "CERTIFICATE"));
    return execFileSync("openssl", ["verify", "-CAfile", f, f], { stdio: "pipe" }).toString();
  };
  const check = (r: string) => spawnSync(process.execPath, ["--openssl-legacy-provider", IN_IKED, "-c", "--root", r], { env: hsm.env });

  test("tokens lists the tokens of pkcs11_path's library; a missing library is an error", () => {
    const res = ikecert(newRoot(), ["tokens"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^Available tokens with library "${SOFTHSM_LIB.replace(/\./g, "\\.")}":\\n\\n"${TOKEN} {20}"\\n`));
    const none = ikecert(newRoot(""), ["tokens"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /cannot load the PKCS#11 library "libpkcs11\.so" \(pkcs11_path\)/);
  });

  test("-ks -T: RSA and DSA keys made on the token sign certificates OpenSSL verifies; -p stores the PIN", () => {
    const r = newRoot();
    const p = ikedPaths(r);
    const rsa = ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha256", "-D", "C=NL, CN=tok-rsa", "-A", "DNS=tok-rsa.example", "-T", TOKEN]);
    assert.equal(rsa.code, 0, rsa.stderr);
    assert.match(rsa.stderr, /Private key generated on token "ikecert test" \(id [0-9a-f]{32}\), slot 0\.\nCertificate added to database in slot 0\./);
    assert.match(opensslVerifies(r, rsa.stdout), /OK/);
    const ref = fs.readFileSync(path.join(p.privateKeysDir, "0"), "utf8");
    assert.match(ref, /^iked-pkcs11-key 1\ntoken "ikecert test"\nid [0-9a-f]{32}\n$/);
    assert.equal(fs.statSync(path.join(p.privateKeysDir, "0")).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(path.join(p.publicKeysDir, "0"), "utf8"), /^iked-pkcs11-cert token "ikecert test" id [0-9a-f]{32}\n-----BEGIN CERTIFICATE-----/);

    const dsa = ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "dsa-sha1", "-D", "C=NL, CN=tok-dsa", "-T", TOKEN, "-p"]);
    assert.equal(dsa.code, 0, dsa.stderr);
    assert.match(dsa.stderr, /The PIN of token "ikecert test" is stored in .*ike\.privatekeys\/1 \(root only\)/);
    assert.match(opensslVerifies(r, dsa.stdout), /OK/);
    assert.match(fs.readFileSync(path.join(p.privateKeysDir, "1"), "utf8"), new RegExp(`^pin "${PIN}"$`, "m"));

    const list = ikecert(r, ["certlocal", "-l", "-v"]);
    assert.match(list.stdout, /Local ID Slot Name: 0 {3}Key Type: rsa\n\tToken: "ikecert test" \(id [0-9a-f]+\)\n\tKey Size: 1024\n\tPublic key hash: [0-9A-F]{32}\n\tCertificate: <C=NL, CN=tok-rsa>\n\t\(a key on a token cannot be printed\)/);
    assert.match(list.stdout, /Local ID Slot Name: 1 {3}Key Type: dsa\n\tToken: "ikecert test" \(id [0-9a-f]+\), PIN stored/);
    assert.match(ikecert(r, ["certdb", "-l", "CN=tok-rsa"]).stdout, /\tToken: "ikecert test" \(id [0-9a-f]+\)\n\t\(Private key in certlocal slot 0\)/);
    const e = ikecert(r, ["certlocal", "-e", "0"]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /is on PKCS#11 token "ikecert test" and cannot leave it/);
    assert.match(ikecert(r, ["certlocal", "-e", "-f", "pkcs12", "0"]).stderr, /cannot leave it/);

    // The daemon's check reads the store: the keys load from the token and match their certificates.
    const c = check(r);
    assert.equal(c.status, 0, c.stderr.toString());
    assert.match(c.stdout.toString(), /2 certificates, 2 private keys/);
  });

  test("-kc -T: the request verifies; certdb -a pairs the signed certificate with the token key and stores it on the token", () => {
    const r = newRoot();
    const p = ikedPaths(r);
    const req = ikecert(r, ["certlocal", "-kc", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=tok-req", "-T", TOKEN]);
    assert.equal(req.code, 0, req.stderr);
    const csr = path.join(r, "req.pem");
    fs.writeFileSync(csr, req.stdout);
    assert.match(execFileSync("openssl", ["req", "-in", csr, "-noout", "-verify"], { stdio: "pipe" }).toString() + "verify OK", /verify OK/);
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", path.join(r, "ca.key"), "-out", path.join(r, "ca.crt"), "-subj", "/CN=Tok CA", "-days", "5"], { stdio: "pipe" });
    const signed = execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", path.join(r, "ca.crt"), "-CAkey", path.join(r, "ca.key"), "-set_serial", "9", "-days", "5"], { stdio: "pipe" });
    // Standard input carries the certificate: the PIN must come from -P.
    const noPin = ikecert(r, ["certdb", "-a"], signed);
    assert.equal(noPin.code, 1);
    assert.match(noPin.stderr, /the PIN of PKCS#11 token "ikecert test": standard input carries the data and is not a terminal; give it with -P FILE/);
    const pinFile = path.join(r, "pin");
    fs.writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    const add = ikecert(r, ["certdb", "-a", "-P", pinFile], signed);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /Certificate stored on token "ikecert test" \(id [0-9a-f]+\)\.\nCertificate added to database in slot 0 \(with its private key\)\./);
    const keyId = /id ([0-9a-f]+)/.exec(fs.readFileSync(path.join(p.privateKeysDir, "0"), "utf8"))![1];
    assert.match(fs.readFileSync(path.join(p.publicKeysDir, "0"), "utf8"), new RegExp(`^iked-pkcs11-cert token "ikecert test" id ${keyId}\n`));
  });

  test("a wrong PIN is refused and nothing is written", () => {
    const r = newRoot();
    const res = ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=nope", "-T", TOKEN], "00000000\n");
    assert.equal(res.code, 1);
    assert.match(res.stderr, /token login refused \(CKR_PIN_INCORRECT\)/);
    assert.doesNotMatch(res.stderr, /00000000/);
    assert.equal(fs.existsSync(ikedPaths(r).privateKeysDir), false);
    const noToken = ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=nope", "-T", "no such token"]);
    assert.match(noToken.stderr, /no PKCS#11 token labelled "no such token"/);
  });

  test("-U forgets a token key, -L links it again, -r removes it from the token too", () => {
    const r = newRoot();
    const p = ikedPaths(r);
    assert.equal(ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=tok-link", "-T", TOKEN]).code, 0);
    const ref = fs.readFileSync(path.join(p.privateKeysDir, "0"), "utf8");
    assert.match(ikecert(r, ["certlocal", "-U", "0"]).stderr, /-U needs -T token/);
    const u = ikecert(r, ["certlocal", "-U", "0", "-T", TOKEN]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(fs.existsSync(path.join(p.privateKeysDir, "0")), false);
    const l = ikecert(r, ["certlocal", "-L", "CN=tok-link", "-T", TOKEN]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /linked in slot 0 \(with its certificate\)/);
    assert.equal(fs.readFileSync(path.join(p.privateKeysDir, "0"), "utf8"), ref);
    assert.match(ikecert(r, ["certlocal", "-L", "CN=tok-link", "-T", TOKEN]).stderr, /already in slot 0/);
    const rm = ikecert(r, ["certlocal", "-r", "0"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stderr, /Private key in slot 0 removed, with 2 key objects on token "ikecert test"/);
    assert.match(ikecert(r, ["certlocal", "-L", "CN=tok-link", "-T", TOKEN]).stderr, /no private key on token "ikecert test" matches/);
  });

  test("-C copies a disk key and certificate to the token; after the disk key goes, -L puts the token copy in its place", () => {
    const r = newRoot(`pkcs11_path "${SOFTHSM_LIB}"\ncert_trust "CN=disk-to-tok"\n{ label "t" local_addr 127.0.0.1 remote_addr 127.0.0.2 local_id_type dn local_id "CN=disk-to-tok" remote_id ""\n  p1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes } }\n`);
    const p = ikedPaths(r);
    assert.equal(ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=disk-to-tok"]).code, 0);
    const c = ikecert(r, ["certlocal", "-C", "CN=disk-to-tok", "-T", TOKEN]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /Copied the private key of slot 0 .*\nCopied the public key .*\nCopied the certificate /);
    assert.match(ikecert(r, ["certlocal", "-C", "CN=nobody", "-T", TOKEN]).stderr, /no certificate with a private key matches/);
    assert.equal(ikecert(r, ["certlocal", "-r", "0"]).code, 0);
    const link = ikecert(r, ["certlocal", "-L", "CN=disk-to-tok", "-T", TOKEN]);
    assert.equal(link.code, 0, link.stderr);
    assert.match(link.stderr, /linked in slot 0 \(with its certificate\)/);
    assert.match(fs.readFileSync(path.join(p.privateKeysDir, "0"), "utf8"), /^iked-pkcs11-key 1\n/);
    // The token's copy now backs the rule: the check binds it to the certificate of slot 0.
    const ok = check(r);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.match(ok.stderr.toString(), /the private key in slot 0 is on PKCS#11 token "ikecert test", which nobody is logged in to/);
  });

  test("certdb -C copies a certificate to the token, -U forgets it, -L adds it back, -r removes its objects", () => {
    const r = newRoot();
    const p = ikedPaths(r);
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", path.join(r, "k.pem"), "-out", path.join(r, "c.pem"), "-subj", "/CN=cert-only", "-days", "5"], { stdio: "pipe" });
    assert.equal(ikecert(r, ["certdb", "-a"], fs.readFileSync(path.join(r, "c.pem"))).code, 0);
    const c = ikecert(r, ["certdb", "-C", "CN=cert-only", "-T", TOKEN]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /Copied the certificate of slot 0 .*\nCopied the public key of slot 0/);
    assert.match(ikecert(r, ["certdb", "-l"]).stdout, /\tToken: "ikecert test"/);
    assert.equal(ikecert(r, ["certdb", "-U", "0", "-T", TOKEN]).code, 0);
    assert.equal(fs.existsSync(path.join(p.publicKeysDir, "0")), false);
    const l = ikecert(r, ["certdb", "-L", "CN=cert-only", "-T", TOKEN]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /Certificate <CN=cert-only> from token "ikecert test" added in slot 0/);
    const rm = ikecert(r, ["certdb", "-r", "CN=cert-only"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stderr, /Removed 2 certificate and public-key objects from token "ikecert test"/);
    assert.match(ikecert(r, ["certdb", "-L", "CN=cert-only", "-T", TOKEN]).stderr, /no new certificate on token "ikecert test" matches/);
  });
});
