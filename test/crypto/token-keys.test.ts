/**
 * Keys on a PKCS#11 token (SoftHSM2) used by a real two-worker crypto pool: a key loads locked
 * until a login; one login (in one worker) unlocks it in every worker; signatures (RSA raw-hash
 * PKCS#1, DSA r|s) verify with the certificate's key; RSA decryption returns the plaintext, and a
 * bad padding a synthetic one (the same each time, never an error); a logout locks the key again;
 * a PIN stored in the key reference (ikecert -p) logs in by itself. ikecert (a child process) makes
 * the keys, so this process initialises PKCS#11 only after they exist.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { constants, createHash, publicEncrypt, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CryptoPool } from "../../src/crypto/pool.js";
import { loadPublicKey, verify } from "../../src/crypto/pubkey.js";
import { decodeRequests, decodeResponses, encodeRequests, encodeResponses, type TaskResult } from "../../src/crypto/tasks.js";
import { formatTokenKeyFile, parseTokenKeyFile } from "../../src/crypto/token-key-file.js";
import { ikedPaths } from "../../src/daemon/paths.js";
import { makeRoot } from "../daemon/harness.js";
import { SOFTHSM_LIB, softhsm, softhsmSkip, type SoftHsm } from "../helpers/softhsm.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const skip = softhsmSkip();
const PIN = "24682468";

function ok<T>(r: TaskResult<T>): T {
  if (!r.ok) assert.fail(`unexpected error ${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe("token keys in the crypto pool", { skip }, () => {
  let hsm: SoftHsm;
  let root: string;
  let pool: CryptoPool;
  const keyFile = (slot: string) => path.join(ikedPaths(root).privateKeysDir, slot);
  const certSpki = (slot: string) => {
    const text = fs.readFileSync(path.join(ikedPaths(root).publicKeysDir, slot), "latin1");
    const pem = text.slice(text.indexOf("-----BEGIN"));
    const key = loadPublicKey(pem);
    assert.ok(key.ok);
    return key.value;
  };

  before(() => {
    hsm = softhsm({ adopt: true });
    hsm.initToken("pool test", PIN);
    root = makeRoot(`pkcs11_path "${SOFTHSM_LIB}"\n`, undefined);
    const gen = (args: string[]) => {
      const r = spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", root, "certlocal", ...args, "-T", "pool test"], { env: hsm.env, input: `${PIN}\n` });
      assert.equal(r.status, 0, r.stderr.toString());
    };
    gen(["-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=pool rsa"]);
    gen(["-ks", "-m", "1024", "-t", "dsa-sha1", "-D", "CN=pool dsa", "-p"]);
    pool = new CryptoPool({ threads: 2, warmGroups: [] });
  });
  after(async () => {
    await pool?.close();
    hsm?.remove();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test("the key reference file round-trips and refuses what it does not know", () => {
    const ref = { token: "t", id: Buffer.from("0a0b", "hex"), pin: 'a "quoted" pin' };
    assert.deepEqual(parseTokenKeyFile(Buffer.from(formatTokenKeyFile(ref))), ref);
    assert.match(String(parseTokenKeyFile(Buffer.from("iked-pkcs11-key 1\ntoken \"t\"\n"))), /no 'id' line/);
    assert.match(String(parseTokenKeyFile(Buffer.from("iked-pkcs11-key 1\ntoken \"t\"\nid 0a\nfoo 1\n"))), /unknown keyword 'foo'/);
    assert.match(String(parseTokenKeyFile(Buffer.from("iked-pkcs11-key 1\ntoken t\nid 0a\n"))), /not a quoted string/);
    const bad = String(parseTokenKeyFile(Buffer.from("iked-pkcs11-key 1\ntoken \"t\"\nid 0a\npin 123\n")));
    assert.match(bad, /pin is not a quoted string/);
    assert.doesNotMatch(bad, /123/);
  });

  test("the wire format carries token logins and token key descriptions", () => {
    const reqs = [{ op: "tokenLogin" as const, library: "/l.so", token: "t", pin: Buffer.from("1234") }, { op: "tokenLogout" as const, library: "/l.so", token: "t" }];
    assert.deepEqual(decodeRequests(encodeRequests(reqs)), reqs);
    const res = [{ ok: true as const, value: { type: "rsa" as const, bits: 1024, spki: Buffer.from([1]), token: { label: "t", locked: true } } }];
    assert.deepEqual(decodeResponses(encodeResponses(res)), res);
  });

  test("locked until login; one login unlocks every worker; logout locks again", async () => {
    const d = ok(await pool.addPrivateKey("rsa", { path: keyFile("0"), pkcs11Library: SOFTHSM_LIB }));
    assert.deepEqual(d.token, { label: "pool test", locked: true });
    assert.equal(d.type, "rsa");
    assert.ok(d.spki.equals(certSpki("0").key.export({ type: "spki", format: "der" })));
    const hash = createHash("sha1").update("HASH_I").digest();
    const locked = await pool.sign("rsa", hash);
    assert.equal(locked.ok ? "" : locked.error.code, "IKE_ERR_KEY_LOCKED");

    const wrong = await pool.tokenLogin(SOFTHSM_LIB, "pool test", Buffer.from("0000"));
    assert.equal(wrong.ok ? "" : wrong.error.code, "IKE_ERR_TOKEN_PIN");
    const none = await pool.tokenLogin(SOFTHSM_LIB, "no such token", Buffer.from(PIN));
    assert.equal(none.ok ? "" : none.error.code, "IKE_ERR_TOKEN_NOT_FOUND");
    ok(await pool.tokenLogin(SOFTHSM_LIB, "pool test", Buffer.from(PIN)));

    // Eight signatures in one tick: the pool spreads them over both workers' sessions.
    const before = pool.stats().dispatches;
    const sigs = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.sign("rsa", createHash("sha1").update(`m${i}`).digest())));
    assert.ok(pool.stats().dispatches - before >= 2, "the signatures went out in several tasks");
    sigs.forEach((s, i) => assert.equal(ok(verify(certSpki("0"), createHash("sha1").update(`m${i}`).digest(), ok(s))), true));

    // Encryption to the certificate's key, decryption on the token.
    const nonce = randomBytes(24);
    const ct = publicEncrypt({ key: certSpki("0").key, padding: constants.RSA_PKCS1_PADDING }, nonce);
    assert.ok(ok(await pool.decrypt("rsa", ct)).equals(nonce));
    // A ciphertext whose padding is wrong: a plaintext all the same, and the same one each time.
    const junk = Buffer.concat([Buffer.from([0]), randomBytes(127)]);
    const a = ok(await pool.decrypt("rsa", junk));
    const b = ok(await pool.decrypt("rsa", junk));
    assert.ok(a.equals(b));
    assert.ok(a.length <= 128 - 11);
    const short = await pool.decrypt("rsa", Buffer.alloc(10));
    assert.equal(short.ok ? "" : short.error.code, "IKE_ERR_PUBKEY_INPUT");

    ok(await pool.tokenLogout(SOFTHSM_LIB, "pool test"));
    const after = await Promise.all([pool.sign("rsa", hash), pool.sign("rsa", hash), pool.sign("rsa", hash)]);
    for (const r of after) assert.equal(r.ok ? "" : r.error.code, "IKE_ERR_KEY_LOCKED");
  });

  test("a PIN stored with the reference (ikecert -p) logs in by itself; DSA signs r|s", async () => {
    assert.match(fs.readFileSync(keyFile("1"), "utf8"), /^pin "/m);
    const d = ok(await pool.addPrivateKey("dsa", { path: keyFile("1"), pkcs11Library: SOFTHSM_LIB }));
    assert.deepEqual(d.token, { label: "pool test", locked: false });
    assert.equal(d.type, "dsa");
    const hash = createHash("sha1").update("HASH_R").digest();
    const sig = ok(await pool.sign("dsa", hash));
    assert.equal(sig.length, 40);
    assert.equal(ok(verify(certSpki("1"), hash, sig)), true);
    // Login is the process's: the RSA key of the same token is unlocked too.
    ok(await pool.sign("rsa", hash));
    ok(await pool.tokenLogout(SOFTHSM_LIB, "pool test"));
  });

  test("without a library, or with one that does not load, a token key does not load", async () => {
    const none = await pool.addPrivateKey("x", { path: keyFile("0") });
    assert.equal(none.ok ? "" : none.error.code, "IKE_ERR_TOKEN_LIBRARY");
    const bad = await pool.addPrivateKey("y", { path: keyFile("0"), pkcs11Library: "/nonexistent/libnothing.so" });
    assert.equal(bad.ok ? "" : bad.error.code, "IKE_ERR_TOKEN_LIBRARY");
    assert.match(bad.ok ? "" : bad.error.message, /libnothing\.so.*pkcs11_path/);
  });
});
