/**
 * ikeload's policy holds its pre-shared key in secure memory until `release`, which zeroes it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isSecureKey } from "../../src/config/index.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { loadPolicy } from "../../src/load/policy.js";

async function policyKey(args: string[]): Promise<{ key: Buffer; release: () => void }> {
  const a = parseLoadArgs(args);
  assert.ok(a.ok && !a.help);
  const p = await loadPolicy(a.value, ["127.0.0.1"]);
  assert.ok(p.ok, JSON.stringify(p));
  const e = p.policy.presharedFor("127.0.0.1", "127.0.0.2", "main");
  assert.ok(e);
  return { key: e.key, release: p.release };
}

test("a --psk key is secure memory until release zeroes it", async () => {
  const { key, release } = await policyKey(["--target", "127.0.0.2", "--psk", "load secret"]);
  assert.ok(isSecureKey(key));
  assert.equal(key.toString("utf8"), "load secret");
  release();
  assert.ok(key.every((x) => x === 0));
  assert.ok(!isSecureKey(key));
});

test("a --preshared file's keys are released too", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ikeload-psk-"));
  const file = path.join(dir, "ike.preshared");
  fs.writeFileSync(file, "{ localid 127.0.0.1 remoteid 127.0.0.2 key 0badc0de }\n", { mode: 0o600 });
  const { key, release } = await policyKey(["--target", "127.0.0.2", "--preshared", file]);
  assert.equal(key.toString("hex"), "0badc0de");
  release();
  assert.ok(key.every((x) => x === 0));
  fs.rmSync(dir, { recursive: true, force: true });
});
