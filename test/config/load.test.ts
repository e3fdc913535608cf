/**
 * Loaders: files are read and parsed, I/O problems are diagnostics, and the pre-shared key file
 * is refused unless only its owner (root or the daemon's uid) can read or write it.
 */
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { checkSecretFilePermissions, formatDiagnostic, loadIkeConfig, loadPreshared } from "../../src/config/index.js";
import { skipUnless } from "../helpers/skip.js";

const dir = mkdtempSync(path.join(tmpdir(), "iked-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "00112233445566778899aabbccddeeff";
const PSK = `{ localid 192.0.2.1 remoteid 198.51.100.7 key ${KEY} }\n`;

function file(name: string, text: string, mode: number): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

test("loadIkeConfig reads and parses a file", async () => {
  const p = file("config", '{ label "r" local_addr 1.1.1.1 remote_addr 2.2.2.2 p1_xform { auth_method preshared oakley_group 2 auth_alg sha encr_alg des } }', 0o644);
  const r = await loadIkeConfig(p);
  assert.equal(r.ok, true);
  assert.equal(r.value.rules[0]!.label, "r");
});

test("loadIkeConfig reports a missing file and a directory as whole-file diagnostics", async () => {
  const missing = await loadIkeConfig(path.join(dir, "nope"));
  assert.deepEqual(missing.diagnostics.map((d) => [d.code, d.line]), [["IKE_ERR_CFG_IO", 0]]);
  assert.equal(formatDiagnostic(missing.diagnostics[0]!), `${path.join(dir, "nope")}: cannot read the file (ENOENT)`);
  const asDir = await loadIkeConfig(dir);
  assert.deepEqual(asDir.diagnostics.map((d) => d.code), ["IKE_ERR_CFG_IO"]);
});

test("loadIkeConfig errors name the file path", async () => {
  const p = file("bad-config", "\n  bogus\n", 0o644);
  const r = await loadIkeConfig(p);
  assert.equal(formatDiagnostic(r.diagnostics[0]!).startsWith(`${p}:2:3: `), true);
});

test("loadPreshared accepts a 0600 file and hands back the key bytes", async () => {
  const p = file("ok.preshared", PSK, 0o600);
  const r = await loadPreshared(p);
  assert.equal(r.ok, true);
  assert.equal(r.value[0]!.key.toString("hex"), KEY);
  assert.equal(await checkSecretFilePermissions(p), undefined);
});

test("loadPreshared refuses group/other permission bits and says how to fix it", async () => {
  for (const mode of [0o640, 0o604, 0o620, 0o602, 0o644, 0o666]) {
    const p = file(`open-${mode.toString(8)}.preshared`, PSK, mode);
    const r = await loadPreshared(p);
    assert.equal(r.ok, false);
    assert.deepEqual(r.value, []);
    assert.deepEqual(r.diagnostics.map((d) => d.code), ["IKE_ERR_CFG_PERMS"]);
    assert.equal(r.diagnostics[0]!.message, `holds secrets but other users may read or write it (mode 0${mode.toString(8)}); run: chmod 600 ${p}`);
    assert.ok(!formatDiagnostic(r.diagnostics[0]!).includes(KEY));
    assert.equal((await checkSecretFilePermissions(p))?.code, "IKE_ERR_CFG_PERMS");
  }
});

test("the suggested fix command quotes a path with spaces or quotes so it can be pasted", async () => {
  const p = file("it's secret.preshared", PSK, 0o644);
  const r = await loadPreshared(p);
  assert.equal(r.diagnostics[0]!.message, `holds secrets but other users may read or write it (mode 0644); run: chmod 600 '${p.replace("'", "'\\''")}'`);
  const out = execFileSync("sh", ["-c", `${r.diagnostics[0]!.message.split("run: ")[1]!} && stat -c %a -- "$0"`, p], { encoding: "utf8" });
  assert.equal(out.trim(), "600");
});

test("loadPreshared refuses a file owned by another user", { skip: skipUnless(process.getuid?.() === 0, "chown needs root") }, async () => {
  const p = file("foreign.preshared", PSK, 0o600);
  chownSync(p, 4242, 4242);
  const self = process.getuid?.() ?? 0;
  const r = await loadPreshared(p, { ownerUid: self === 4242 ? 4343 : self });
  assert.deepEqual(r.diagnostics.map((d) => d.code), ["IKE_ERR_CFG_PERMS"]);
  assert.equal(r.diagnostics[0]!.message, `holds secrets but is owned by uid 4242, not root; run: chown root ${p}`);
  assert.equal((await loadPreshared(p, { ownerUid: 4242 })).ok, true, "the daemon's own uid may own it");
});

test("loadPreshared checks the target of a symbolic link", async () => {
  const target = file("target.preshared", PSK, 0o644);
  const link = path.join(dir, "link.preshared");
  symlinkSync(target, link);
  assert.deepEqual((await loadPreshared(link)).diagnostics.map((d) => d.code), ["IKE_ERR_CFG_PERMS"]);
});

test("loadPreshared parse errors never quote the key", async () => {
  const p = file("typo.preshared", `{ localid 192.0.2.1 remoteid 198.51.100.7 kye ${KEY} }\n`, 0o600);
  const r = await loadPreshared(p);
  assert.equal(r.ok, false);
  for (const d of r.diagnostics) assert.ok(!formatDiagnostic(d).includes(KEY));
});

test("a FIFO at a config path is refused at once instead of blocking the loader", { timeout: 10_000 }, async () => {
  const fifo = path.join(dir, "fifo");
  execFileSync("mkfifo", ["-m", "600", fifo]);
  for (const r of [await loadIkeConfig(fifo), await loadPreshared(fifo)]) {
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.message]), [["IKE_ERR_CFG_IO", "not a regular file"]]);
  }
  assert.equal((await checkSecretFilePermissions(fifo))?.message, "not a regular file");
});

test("hideTextIfPrivate: a private file's diagnostics quote none of its text; a readable file's do", async () => {
  {
    // Every way the parser quotes file text: words, strings, numbers, addresses, key lengths, LDAP lists.
    const text = [
      "s3cret-word", 'retry_limit "s3cret string"', "p2_pfs 31337", "ldap_server \"s3cret:host:x\"",
      "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(s3cretkl) }",
      '{ label "r" local_addr 10.0.0.s3cret remote_addr 10.0.0.2 }', "p2_lifetime_secs 1000", "p2_softlife_secs 2000",
    ].join("\n");
    const priv = file("private.conf", text, 0o600);
    const hidden = await loadIkeConfig(priv, { hideTextIfPrivate: true });
    assert.equal(hidden.ok, false);
    const shown = hidden.diagnostics.map(formatDiagnostic).join("\n");
    for (const leak of ["s3cret", "31337", "1000", "2000"]) assert.equal(shown.includes(leak), false, `${leak} in:\n${shown}`);
    assert.equal(hidden.diagnostics.length, 7, shown);
    // The same file without the option, or readable by others, quotes as usual.
    const plain = (await loadIkeConfig(priv)).diagnostics.map(formatDiagnostic).join("\n");
    assert.ok(plain.includes("'s3cret-word'") && plain.includes('"s3cret string"'), plain);
    chmodSync(priv, 0o644);
    const readable = (await loadIkeConfig(priv, { hideTextIfPrivate: true })).diagnostics.map(formatDiagnostic).join("\n");
    assert.equal(readable, plain);
  }
});
