/**
 * ikecert's PKCS#12 extension (certlocal -e/-a -f pkcs12) against OpenSSL: OpenSSL reads what we
 * export (key and certificate, the key matching the certificate), and we import what OpenSSL makes
 * by default (PBES2/AES-256, SHA-256 MAC) and with -legacy (3DES, RC2-40), RSA and DSA, with a CA
 * certificate beside the key's; DSA export, wrong passwords and junk are refused.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ikedPaths } from "../../src/daemon/paths.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const root = () => {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), "iked-p12-"));
  dirs.push(r);
  return r;
};
const ikecert = (r: string, args: string[], input: string | Buffer = "") => {
  const res = spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", r, ...args], { input, maxBuffer: 1 << 22 });
  return { code: res.status, out: res.stdout, stderr: res.stderr.toString() };
};
const openssl = (dir: string, args: string[], input?: Buffer) => execFileSync("openssl", args, { cwd: dir, input, stdio: ["pipe", "pipe", "pipe"] });
const spkiOfPem = (pem: Buffer | string) => createPublicKey(pem).export({ type: "spki", format: "der" });

describe("ikecert PKCS#12", () => {
  test("-e -f pkcs12: OpenSSL opens it with the password; its key and certificate are the slot's", () => {
    const r = root();
    assert.equal(ikecert(r, ["certlocal", "-ks", "-m", "2048", "-t", "rsa-sha256", "-D", "C=NL, CN=export me"]).code, 0);
    const res = ikecert(r, ["certlocal", "-e", "-f", "pkcs12", "0"], "s3cret pass\n");
    assert.equal(res.code, 0, res.stderr);
    const p12 = path.join(r, "out.p12");
    fs.writeFileSync(p12, res.out);
    const info = spawnSync("openssl", ["pkcs12", "-in", p12, "-passin", "pass:s3cret pass", "-info", "-noout"]).stderr.toString();
    assert.match(info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    assert.match(info, /MAC: sha1/);
    const keyPem = openssl(r, ["pkcs12", "-in", p12, "-passin", "pass:s3cret pass", "-nocerts", "-nodes"]);
    const certPem = openssl(r, ["pkcs12", "-in", p12, "-passin", "pass:s3cret pass", "-nokeys"]);
    assert.match(openssl(r, ["x509", "-noout", "-subject"], certPem).toString(), /CN = export me/);
    assert.ok(spkiOfPem(keyPem.toString()).equals(spkiOfPem(certPem.toString())));
    const disk = ikecert(r, ["certlocal", "-e", "-f", "pem", "0"]).out;
    assert.ok(spkiOfPem(disk).equals(spkiOfPem(keyPem.toString())));
    const wrong = spawnSync("openssl", ["pkcs12", "-in", p12, "-passin", "pass:nope", "-noout"]);
    assert.notEqual(wrong.status, 0);
  });

  test("-e -f pkcs12 refuses DSA keys (node-forge encodes RSA only)", () => {
    const r = root();
    assert.equal(ikecert(r, ["certlocal", "-ks", "-m", "1024", "-t", "dsa-sha1", "-D", "CN=dsa"]).code, 0);
    const res = ikecert(r, ["certlocal", "-e", "-f", "pkcs12", "0"], "pw\n");
    assert.equal(res.code, 1);
    assert.match(res.stderr, /PKCS#12 export takes RSA keys only \(node-forge cannot encode DSA keys\)/);
  });

  for (const legacy of [false, true]) {
    test(`-a -f pkcs12 imports what openssl pkcs12 -export${legacy ? " -legacy" : ""} makes: RSA key, its certificate, and a CA certificate`, () => {
      const r = root();
      openssl(r, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=P12 CA", "-days", "5"]);
      openssl(r, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "k.csr", "-subj", "/CN=p12 leaf"]);
      openssl(r, ["x509", "-req", "-in", "k.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "5", "-days", "5", "-out", "c.pem"]);
      openssl(r, ["pkcs12", "-export", ...(legacy ? ["-legacy"] : []), "-inkey", "k.pem", "-in", "c.pem", "-certfile", "ca.crt", "-passout", "pass:pw", "-out", "in.p12"]);
      fs.writeFileSync(path.join(r, "pw"), "pw\n");
      const res = ikecert(r, ["certlocal", "-a", "-f", "pkcs12", "-P", path.join(r, "pw")], fs.readFileSync(path.join(r, "in.p12")));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /Private key added in slot 0\.\nCertificate added to database in slot 0 \(with its private key\)\.\nCertificate added to database in slot 1\./);
      const p = ikedPaths(r);
      assert.equal(fs.statSync(path.join(p.privateKeysDir, "0")).mode & 0o777, 0o600);
      assert.ok(spkiOfPem(ikecert(r, ["certlocal", "-e", "-f", "pem", "0"]).out).equals(spkiOfPem(fs.readFileSync(path.join(r, "c.pem")))));
      assert.match(ikecert(r, ["certdb", "-l"]).out.toString(), /Certificate Slot Name: 1 .*\n\tSubject Name: <CN=P12 CA>/);
      // Imported again: the key gets a slot of its own, the certificates are already there.
      const again = ikecert(r, ["certlocal", "-a", "-f", "pkcs12", "-P", path.join(r, "pw")], fs.readFileSync(path.join(r, "in.p12")));
      assert.match(again.stderr, /Certificate <CN=p12 leaf> is already in the database/);
    });
  }

  test("-a -f pkcs12 imports a DSA key and certificate", () => {
    const r = root();
    openssl(r, ["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", "dp"]);
    openssl(r, ["genpkey", "-paramfile", "dp", "-out", "dk.pem"]);
    openssl(r, ["req", "-x509", "-key", "dk.pem", "-out", "dc.pem", "-subj", "/CN=p12 dsa", "-days", "5"]);
    openssl(r, ["pkcs12", "-export", "-inkey", "dk.pem", "-in", "dc.pem", "-passout", "pass:pw", "-out", "d.p12"]);
    fs.writeFileSync(path.join(r, "pw"), "pw\n");
    const res = ikecert(r, ["certlocal", "-a", "-f", "pkcs12", "-P", path.join(r, "pw")], fs.readFileSync(path.join(r, "d.p12")));
    assert.equal(res.code, 0, res.stderr);
    assert.match(ikecert(r, ["certlocal", "-l"]).out.toString(), /Key Type: dsa\n\tKey Size: 1024\n.*\n\tCertificate: <CN=p12 dsa>/);
  });

  test("a wrong password, junk, and a password on standard input beside the file are refused", () => {
    const r = root();
    openssl(r, ["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-subj", "/CN=x", "-days", "5"]);
    openssl(r, ["pkcs12", "-export", "-inkey", "k.pem", "-in", "c.pem", "-passout", "pass:right", "-out", "x.p12"]);
    fs.writeFileSync(path.join(r, "wrong"), "wrong\n");
    const bad = ikecert(r, ["certlocal", "-a", "-f", "pkcs12", "-P", path.join(r, "wrong")], fs.readFileSync(path.join(r, "x.p12")));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a PKCS#12 file this password opens/);
    assert.doesNotMatch(bad.stderr, /wrong/);
    const junk = ikecert(r, ["certlocal", "-a", "-f", "pkcs12", "-P", path.join(r, "wrong")], Buffer.from("30820100", "hex"));
    assert.equal(junk.code, 1);
    const noPw = ikecert(r, ["certlocal", "-a", "-f", "pkcs12"], fs.readFileSync(path.join(r, "x.p12")));
    assert.match(noPw.stderr, /the PKCS#12 password: standard input carries the data/);
    assert.equal(fs.existsSync(ikedPaths(r).privateKeysDir), false);
  });
});
