/**
 * Admin requests that name files (`read rule FILE`, `set debug LEVEL FILE`), answered by the
 * daemon's handler directly: a private file's words do not come back below privilege keymat, and
 * debug output cannot be pointed at a FIFO.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parseIkeConfig } from "../../src/config/index.js";
import { AdminError, type AdminRequest } from "../../src/control/messages.js";
import { createAdminHandler } from "../../src/daemon/admin.js";
import { LiveConfig } from "../../src/daemon/live-config.js";
import type { PrivilegeLevel } from "../../src/log/categories.js";
import { LogHub } from "../../src/log/logger.js";

function handlerAt(privilege: PrivilegeLevel) {
  const empty = parseIkeConfig("", "empty");
  assert.ok(empty.ok);
  const live = new LiveConfig(empty.value, []);
  const logs = new LogHub({ debugLevel: 0, privilege, destination: { kind: "stderr" } });
  const handle = createAdminHandler({
    live, logs, log: logs.logger("ctl"), configFile: "/nonexistent/config", presharedFile: "/nonexistent/ike.preshared",
    ikePort: 500, nattPort: 4500, engine: undefined,
  });
  return { live, logs, handle: (req: AdminRequest) => handle(req) };
}

const SECRET = "s3cr3t-passphrase-line";

test("read rule on a private file hides its words below keymat, shows them at keymat and for public files", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-admin-files-"));
  try {
    const priv = path.join(dir, "secret");
    fs.writeFileSync(priv, `${SECRET}\n`, { mode: 0o600 });
    const pub = path.join(dir, "public");
    fs.writeFileSync(pub, `${SECRET}\n`, { mode: 0o644 });
    fs.chmodSync(pub, 0o644);
    for (const level of [0, 1] as const) {
      const { handle, live } = handlerAt(level);
      const res = await handle({ cmd: "read_rules", file: priv });
      assert.equal(res.ok, false);
      assert.ok(!res.ok && res.error.code === AdminError.DATA_INVALID);
      const text = JSON.stringify(res);
      assert.equal(text.includes(SECRET), false, `level ${level}: ${text}`);
      assert.match(text, new RegExp(`${priv}:1:1: .*${SECRET.length} characters hidden`));
      assert.equal(live.current.generation, 1, "the running rules are unchanged");
    }
    const keymat = await handlerAt(2).handle({ cmd: "read_rules", file: priv });
    assert.ok(JSON.stringify(keymat).includes(SECRET));
    const world = await handlerAt(0).handle({ cmd: "read_rules", file: pub });
    assert.ok(JSON.stringify(world).includes(SECRET));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("set debug to a FIFO is refused with an error reply and logging stays where it was", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-admin-files-"));
  try {
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const { handle, logs } = handlerAt(0);
    const res = await handle({ cmd: "set_debug", level: 0x58, file: fifo });
    assert.deepEqual(res.ok ? undefined : { code: res.error.code, errno: res.error.errno }, { code: AdminError.SYS_ERR, errno: "ENXIO" });
    assert.deepEqual(logs.destination, { kind: "stderr" });
    assert.equal(logs.debugLevel, 0, "a refused request changes nothing");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
