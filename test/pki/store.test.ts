/**
 * The store at the original paths under --root, and `in.iked -c` checking ike.config against it:
 * every refusal names the file (store problems) or the keyword's file:line:col (rules).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ikedPaths } from "../../src/daemon/paths.js";
import { loadPkiStore } from "../../src/pki/index.js";
import { IN_IKED, makeRoot, rootPath, run } from "../daemon/harness.js";
import { pkiTestOptions, removeTestPki, testPki } from "./fixtures.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  removeTestPki();
});
const opts = pkiTestOptions();

const RULE = (method: string, localId = "IP=127.0.0.2", extra = "") => `
{
	label "cert rule"
	local_addr 127.0.0.1
	remote_addr 127.0.0.2
	local_id_type ip
	local_id "${localId}"
	remote_id "ISSUER=C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA"
	p1_xform { auth_method ${method} oakley_group 14 auth_alg sha256 encr_alg aes }${extra}
}
`;
const GLOBALS = `cert_root "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA"\n`;

/** A root whose store holds the CA (slot 0, with its CRL) and the 127.0.0.2 certificate and key (slot 1). */
function storeRoot(config: string, edit?: (p: ReturnType<typeof ikedPaths>) => void): string {
  const pki = testPki();
  const r = makeRoot(config);
  roots.push(r);
  const p = ikedPaths(r);
  fs.mkdirSync(p.publicKeysDir, { recursive: true });
  fs.mkdirSync(p.crlsDir, { recursive: true });
  fs.mkdirSync(p.privateKeysDir, { recursive: true, mode: 0o700 });
  fs.copyFileSync(pki.ca, path.join(p.publicKeysDir, "0"));
  fs.copyFileSync(pki.ip.replace(/\.crt$/, ".crt.der"), path.join(p.publicKeysDir, "1"));
  fs.copyFileSync(pki.crlDer, path.join(p.crlsDir, "0"));
  fs.writeFileSync(path.join(p.privateKeysDir, "1"), fs.readFileSync(pki.ipKey), { mode: 0o600 });
  edit?.(p);
  return r;
}

const check = (r: string) => run(IN_IKED, ["-c", "--root", r]);
const lineOf = (config: string, needle: string) => config.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("certificate store", opts, () => {
  test("a CA, a certificate with its key and a CRL: in.iked -c counts them and accepts an rsa_sig rule", async () => {
    const r = storeRoot(GLOBALS + RULE("rsa_sig"));
    const res = await check(r);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /1 rules; .*1 pre-shared keys; 2 certificates, 1 private keys, 1 CRLs; configuration OK/);
  });

  test("the loader is all or nothing and names each bad file", async () => {
    const r = storeRoot("", (p) => {
      fs.writeFileSync(path.join(p.publicKeysDir, "7"), "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
      fs.writeFileSync(path.join(p.publicKeysDir, "8"), Buffer.alloc(300, 0x30));
      fs.writeFileSync(path.join(p.crlsDir, "9"), Buffer.alloc(70_000, 1));
      fs.chmodSync(path.join(p.privateKeysDir, "1"), 0o640);
    });
    const res = await loadPkiStore(ikedPaths(r));
    assert.equal(res.ok, false);
    const byFile = new Map(res.diagnostics.map((d) => [path.basename(path.dirname(d.file)) + "/" + path.basename(d.file), d.code]));
    assert.equal(byFile.get("publickeys/7"), "IKE_ERR_PKI_MALFORMED");
    assert.equal(byFile.get("publickeys/8"), "IKE_ERR_PKI_MALFORMED");
    assert.equal(byFile.get("crls/9"), "IKE_ERR_PKI_MALFORMED");
    assert.equal(byFile.get("ike.privatekeys/1"), "IKE_ERR_PKI_PERMS");
    const cli = await check(r);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /ike\.privatekeys\/1: holds secrets but other users may read or write it \(mode 0640\)/);
  });

  test("a private key that is not the certificate's of the same slot is refused; one without a certificate is a warning", async () => {
    const r = storeRoot("", (p) => {
      fs.writeFileSync(path.join(p.privateKeysDir, "1"), fs.readFileSync(testPki().fqdnKey), { mode: 0o600 });
      fs.writeFileSync(path.join(p.privateKeysDir, "5"), fs.readFileSync(testPki().ipKey), { mode: 0o600 });
    });
    const res = await check(r);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /ike\.privatekeys\/1: private key does not belong to the certificate .*publickeys\/1/);
    assert.match(res.stderr, /ike\.privatekeys\/5: warning: private key has no certificate/);
  });
});

describe("in.iked -c refuses what cannot work, at file:line:col", opts, () => {
  const cases: Array<{ name: string; config: string; needle: string; message: RegExp; edit?: (p: ReturnType<typeof ikedPaths>) => void }> = [
    { name: "dss_sig with an RSA key", config: GLOBALS + RULE("dss_sig"), needle: "auth_method dss_sig", message: /dss_sig needs a DSA key/ },
    { name: "dss_sig from the file-level p1_xform list", config: GLOBALS + "p1_xform { auth_method dss_sig oakley_group 14 auth_alg sha1 encr_alg 3des }\n" + RULE("rsa_sig").replace(/\tp1_xform .*\n/, ""),
      needle: "auth_method dss_sig", message: /dss_sig needs a DSA key/ },
    { name: "local_id matching no certificate", config: GLOBALS + RULE("rsa_sig", "DNS=nowhere.example"), needle: "local_id \"", message: /matches no certificate/ },
    { name: "certificate without its private key", config: GLOBALS + RULE("rsa_sig"), needle: "local_id \"", message: /no private key in .*ike\.privatekeys/,
      edit: (p) => fs.rmSync(path.join(p.privateKeysDir, "1")) },
    { name: "local_id_type with no such identity", config: GLOBALS + RULE("rsa_sig").replace("local_id_type ip", "local_id_type mbox"), needle: "local_id \"", message: /local_id_type user_fqdn|e-mail/i },
    { name: "no trust anchor", config: RULE("rsa_sig"), needle: "{", message: /no cert_root or cert_trust/ },
    { name: "rsa_encrypt without the peer's certificate", config: GLOBALS + RULE("rsa_encrypt"), needle: "auth_method rsa_encrypt", message: /peer's certificate must be in/ },
    { name: "cert_root naming nothing", config: `cert_root "CN=Nobody"\n` + RULE("rsa_sig"), needle: "cert_root", message: /matches no certificate/ },
    { name: "cert_root without a CRL", config: GLOBALS + RULE("rsa_sig"), needle: "cert_root", message: /no CRL from .* set use_http or ignore_crls/,
      edit: (p) => fs.rmSync(path.join(p.crlsDir, "0")) },
    { name: "socks", config: GLOBALS + `socks "socks://127.0.0.1:1080"\n`, needle: "socks", message: /SOCKS proxies are not supported/ },
    { name: "an https proxy", config: GLOBALS + `use_http\nproxy "https://p.example:3128"\n`, needle: "proxy", message: /only http:\/\/ proxies/ },
    { name: "a bad selector", config: GLOBALS + RULE("rsa_sig", "IP=999.1.1.1"), needle: "local_id \"", message: /local_id: bad IP/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = storeRoot(c.config, c.edit);
      const res = await check(r);
      assert.equal(res.code, 1, res.stdout);
      const line = lineOf(c.config, c.needle);
      assert.match(res.stderr, new RegExp(`${rootPath.config(r).replace(/[/.]/g, "\\$&")}:${line}:\\d+: .*`));
      assert.match(res.stderr, c.message);
    });
  }

  test("warnings only: proxy without use_http; pkcs11_path and ldap_server are accepted; ignore_crls lets a CA without CRL pass", async () => {
    const config = `${GLOBALS}ignore_crls\npkcs11_path "/usr/lib/softhsm/libsofthsm2.so"\nldap_server "ldap.example.net"\nproxy "http://127.0.0.1:3128"\n${RULE("rsa_sig")}`;
    const r = storeRoot(config, (p) => fs.rmSync(path.join(p.crlsDir, "0")));
    const res = await check(r);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /pkcs11_path|ldap_server/);
    assert.match(res.stderr, /warning: proxy has no effect without use_http/);
  });
});
