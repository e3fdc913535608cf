/** ikeload's start-up before the first negotiation (src/load/runner.ts `firstAnswer`). */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DhKeyPair } from "../../src/crypto/dh.js";
import type { TaskResult } from "../../src/crypto/task-types.js";
import { firstAnswer } from "../../src/load/runner.js";

test("firstAnswer waits for the port's first key pair and wipes the private value it was handed", async () => {
  let release: (() => void) | undefined;
  const handed: Buffer[] = [];
  const port = {
    dhGenerate: (group: number) =>
      new Promise<TaskResult<DhKeyPair>>((resolve) => {
        release = () => {
          const privateValue = Buffer.alloc(16, 7);
          handed.push(privateValue);
          resolve({ ok: true, value: { publicValue: Buffer.alloc(128, group), privateValue } });
        };
      }),
  };
  let done = false;
  const p = firstAnswer(port, 2).then((ms) => {
    done = true;
    return ms;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, "returns only once the port has answered");
  release!();
  const r = await p;
  assert.ok(r.ok && r.value >= 0);
  assert.equal(handed.length, 1);
  assert.ok(handed[0]!.every((b) => b === 0), "the private value handed back is wiped");
});

test("a pool that cannot give its first answer is a start-up error, not a throw", async () => {
  const died = await firstAnswer({ dhGenerate: () => Promise.reject(Object.assign(new Error("crypto worker died while running a task"), { code: "IKE_ERR_WORKER_DIED" })) }, 2);
  assert.deepEqual(died, { ok: false, error: { code: "IKE_ERR_WORKER_DIED", message: "crypto pool: crypto worker died while running a task" } });
  const refused = await firstAnswer({ dhGenerate: () => Promise.resolve({ ok: false, error: { code: "IKE_ERR_DH_GROUP", message: "unknown group" } }) }, 99);
  assert.deepEqual(refused, { ok: false, error: { code: "IKE_ERR_DH_GROUP", message: "crypto pool: no DH key pair of group 99: unknown group" } });
});
