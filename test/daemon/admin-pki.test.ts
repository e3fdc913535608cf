/**
 * The daemon's certificate store through ikeadm: `dump certcache` in the reference layout (trusted
 * certificates, keys available or locked on a SoftHSM2 token), `token login` with the PIN on
 * standard input (a wrong PIN refused; the PIN in no log line), `token logout`, and `flush
 * certcache` picking up what ikecert added, or keeping the old store when the new one is broken.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ikedPaths } from "../../src/daemon/paths.js";
import { SOFTHSM_LIB, softhsm, softhsmSkip, type SoftHsm } from "../helpers/softhsm.js";
import { makeRoot, run, IKEADM, startDaemon, type RunningDaemon } from "./harness.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const PIN = "97531975";
const TOKEN = "daemon test";

describe("ikeadm certcache and token commands", { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let root: string;
  let daemon: RunningDaemon;
  const ikecert = (args: string[], input: string | Buffer = `${PIN}\n`) =>
    spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", root, ...args], { env: hsm.env, input });
  const ikeadm = (args: string[], input = "") => run(IKEADM, ["--root", root, ...args], { input });

  before(async () => {
    hsm = softhsm();
    hsm.initToken(TOKEN, PIN);
    root = makeRoot(`pkcs11_path "${SOFTHSM_LIB}"\ncert_trust "CN=trusted peer"\n`, undefined);
    for (const args of [
      ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=on token", "-T", TOKEN],
      ["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=on disk"],
    ]) assert.equal(ikecert(args).status, 0);
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", path.join(root, "p.key"), "-out", path.join(root, "p.crt"), "-subj", "/CN=trusted peer", "-days", "5"], { stdio: "pipe" });
    assert.equal(ikecert(["certdb", "-a"], fs.readFileSync(path.join(root, "p.crt"))).status, 0);
    daemon = await startDaemon(root, ["--workers", "1"], { SOFTHSM2_CONF: hsm.conf });
  });
  after(async () => {
    await daemon?.stop();
    hsm?.remove();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const dump = async () => {
    const r = await ikeadm(["dump", "certcache"]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  test("dump certcache: the store's certificates, trusted ones marked, the token key locked", async () => {
    assert.equal(await dump(), [
      "",
      "CERTIFICATE CACHE ID: 1",
      "\tSubject Name: <CN=on token>",
      "\t Issuer Name: <CN=on token>",
      "\t\t[Private key linked but locked]",
      `\t\t[Store slot 0, private key on PKCS#11 token "${TOKEN}"]`,
      "",
      "CERTIFICATE CACHE ID: 2",
      "\tSubject Name: <CN=on disk>",
      "\t Issuer Name: <CN=on disk>",
      "\t\t[Private key available]",
      "\t\t[Store slot 1]",
      "",
      "CERTIFICATE CACHE ID: 3",
      "\tSubject Name: <CN=trusted peer>",
      "\t Issuer Name: <CN=trusted peer>",
      "\t\t[trusted certificate]",
      "\t\t[Public certificate only]",
      "\t\t[Store slot 2]",
      "",
      "Completed dump of certcache",
      "",
    ].join("\n"));
  });

  test("token login: a wrong PIN is refused; the right one unlocks the key; logout locks it again", async () => {
    const wrong = await ikeadm(["token", "login", TOKEN], "11112222\n");
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /token login failed or no objects on device: token login refused \(CKR_PIN_INCORRECT\)/);
    const none = await ikeadm(["token", "login", "other token"], `${PIN}\n`);
    assert.match(none.stderr, /no private key in .* lives on token "other token"/);
    const ok = await ikeadm(["token", "login", TOKEN], `${PIN}\n`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /PKCS#11 operation successful: token 'daemon test' logged in, 1 private key\(s\) unlocked\./);
    assert.match(await dump(), /CN=on token>\n.*\n\t\t\[Private key available\]/);
    // PKCS#11 does not check a PIN while the token is logged in: the reply says so.
    const again = await ikeadm(["token", "login", TOKEN], "11112222\n");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was logged in already \(the PIN was not checked\)/);
    const out = await ikeadm(["token", "logout", TOKEN]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(await dump(), /CN=on token>\n.*\n\t\t\[Private key linked but locked\]/);
    assert.doesNotMatch(daemon.output(), new RegExp(PIN));
    assert.doesNotMatch(daemon.output(), /11112222/);
    assert.match(daemon.output(), /PKCS#11 token logged in/);
  });

  test("flush certcache: on-disk additions become visible, ids stay; a broken store is refused and the old one kept", async () => {
    assert.equal(ikecert(["certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=added later"]).status, 0);
    assert.doesNotMatch(await dump(), /added later/);
    const flush = await ikeadm(["flush", "certcache"]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.equal(flush.stdout, "Successfully flushed cert cache.\n");
    const after = await dump();
    assert.match(after, /CERTIFICATE CACHE ID: 1\n\tSubject Name: <CN=on token>/);
    assert.match(after, /CERTIFICATE CACHE ID: 4\n\tSubject Name: <CN=added later>/);
    fs.writeFileSync(path.join(ikedPaths(root).publicKeysDir, "9"), "not a certificate");
    const bad = await ikeadm(["flush", "certcache"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the store did not reload; the previous one stays in use/);
    assert.match(bad.stderr, /publickeys\/9/);
    assert.equal(await dump(), after);
    fs.rmSync(path.join(ikedPaths(root).publicKeysDir, "9"));
  });
});
