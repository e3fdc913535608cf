/**
 * The implicit-rejection secret of an RSA key on a PKCS#11 token (SoftHSM2) lives in sodium secure
 * memory and is zeroed and released when the thread drops the key (removed, or replaced by a
 * reload), as keying material is; the synthetic plaintexts it gives stay the same after a reload.
 * Runs the crypto tasks in this process (a pool of 0 threads) so sodium_free can be watched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CryptoPool } from "../../src/crypto/pool.js";
import { SecureBuffer } from "../../src/crypto/secure.js";
import type { TaskResult } from "../../src/crypto/tasks.js";
import { parseTokenKeyFile } from "../../src/crypto/token-key-file.js";
import { loadTokenKey, releaseTokenKey, tokenDecrypt } from "../../src/crypto/token-keys.js";
import { ikedPaths } from "../../src/daemon/paths.js";
import { makeRoot } from "../daemon/harness.js";
import { watchFrees } from "../helpers/sodium-frees.js";
import { SOFTHSM_LIB, softhsm, softhsmSkip, type SoftHsm } from "../helpers/softhsm.js";

const IKECERT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikecert.js");
const PIN = "13571357";

function ok<T>(r: TaskResult<T>): T {
  if (!r.ok) assert.fail(`unexpected error ${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe("a token RSA key's implicit-rejection secret", { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let root: string;
  let keyFile: string;
  let pool: CryptoPool;
  /** A ciphertext whose padding is wrong (the token refuses it): answered from the secret. */
  const junk = Buffer.concat([Buffer.from([0]), randomBytes(127)]);

  before(() => {
    hsm = softhsm({ adopt: true });
    hsm.initToken("secret test", PIN);
    root = makeRoot(`pkcs11_path "${SOFTHSM_LIB}"\n`, undefined);
    // -p: the PIN is stored with the reference, so the key loads logged in.
    const r = spawnSync(process.execPath, ["--openssl-legacy-provider", IKECERT, "--root", root, "certlocal", "-ks", "-m", "1024", "-t", "rsa-sha1", "-D", "CN=secret rsa", "-p", "-T", "secret test"], { env: hsm.env, input: `${PIN}\n` });
    assert.equal(r.status, 0, r.stderr.toString());
    keyFile = path.join(ikedPaths(root).privateKeysDir, "0");
    pool = new CryptoPool({ threads: 0, warmGroups: [] });
  });
  after(async () => {
    await pool?.close();
    hsm?.remove();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test("is a SecureBuffer, and releasing the key zeroes it before sodium_free", () => {
    const file = parseTokenKeyFile(fs.readFileSync(keyFile));
    assert.ok(typeof file !== "string", String(file));
    const ref = ok(loadTokenKey(file, SOFTHSM_LIB));
    const a = ok(tokenDecrypt(ref, junk));
    assert.ok(ref.rejection instanceof SecureBuffer, "not a plain Buffer on the JS heap");
    assert.ok(ok(tokenDecrypt(ref, junk)).equals(a), "the same synthetic plaintext each time");
    const secret = ref.rejection;
    const freed = watchFrees(() => releaseTokenKey(ref));
    assert.equal(secret.destroyed, true);
    assert.equal(ref.rejection, undefined);
    assert.equal(freed.length, 1);
    assert.equal(freed[0]!.length, 32);
    assert.ok(freed[0]!.every((b) => b === 0), "zeroed before release");
    // Made again (the same, from the token) on the next use.
    assert.ok(ok(tokenDecrypt(ref, junk)).equals(a));
    releaseTokenKey(ref);
  });

  test("a key removed from the pool, or replaced by a reload, has its secret zeroed and released", async () => {
    ok(await pool.addPrivateKey("rsa", { path: keyFile, pkcs11Library: SOFTHSM_LIB }));
    const a = ok(await pool.decrypt("rsa", junk));
    // addPrivateKey drops the old key in every thread at once (here: inline) before loading the new one.
    let reloaded: ReturnType<CryptoPool["addPrivateKey"]> | undefined;
    const atReload = watchFrees(() => void (reloaded = pool.addPrivateKey("rsa", { path: keyFile, pkcs11Library: SOFTHSM_LIB })));
    ok(await reloaded!);
    assert.equal(atReload.length, 1, "the replaced key's secret is released");
    assert.ok(atReload[0]!.every((b) => b === 0));
    assert.ok(ok(await pool.decrypt("rsa", junk)).equals(a), "the reloaded key answers the same");
    let removed = false;
    const atRemove = watchFrees(() => void (removed = pool.removePrivateKey("rsa")));
    assert.equal(removed, true);
    assert.equal(atRemove.length, 1, "the removed key's secret is released");
    assert.ok(atRemove[0]!.every((b) => b === 0));
  });
});
