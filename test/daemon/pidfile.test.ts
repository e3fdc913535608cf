/** The single-instance lock. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { acquirePidLock } from "../../src/daemon/pidfile.js";

test("a live pid refuses, a dead or garbage pid is recovered, release removes only our file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-pid-"));
  const file = path.join(dir, "run/in.iked.pid");
  const a = acquirePidLock(file);
  assert.ok(a.ok);
  const b = acquirePidLock(file, process.pid + 1);
  assert.equal(b.ok, false);
  if (!b.ok) assert.equal(b.code, "IKE_ERR_ALREADY_RUNNING");
  if (a.ok) a.lock.release();
  assert.equal(fs.existsSync(file), false);

  fs.writeFileSync(file, "4194399\n");
  const c = acquirePidLock(file);
  assert.ok(c.ok && c.recoveredStalePid === 4194399);
  fs.writeFileSync(file, "someone else's\n");
  if (c.ok) c.lock.release();
  assert.equal(fs.existsSync(file), true);
  fs.writeFileSync(file, "garbage");
  const d = acquirePidLock(file);
  assert.ok(d.ok);
  fs.rmSync(dir, { recursive: true });
});
