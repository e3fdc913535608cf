/**
 * Admin requests that name files (`read rule FILE`, `set debug LEVEL FILE`), answered by the
 * daemon's handler directly: a private file's words do not come back below privilege keymat (however
 * they are quoted, and however the file is swapped under the daemon), and debug output cannot be
 * pointed at a FIFO.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
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

test("quoted text with an inner apostrophe or in double quotes stays hidden below keymat", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-admin-files-"));
  try {
    const priv = path.join(dir, "secret");
    // A word with an apostrophe (it ended the old blanking early) and a double-quoted string
    // (the old blanking knew only single quotes); the numbers after keywords are file text too.
    fs.writeFileSync(priv, `"hunter2 is the password"\nretry_limit don't-tell-anyone\np2_pfs 31337\n`, { mode: 0o600 });
    for (const level of [0, 1] as const) {
      const res = await handlerAt(level).handle({ cmd: "read_rules", file: priv });
      assert.ok(!res.ok && res.error.code === AdminError.DATA_INVALID);
      const text = JSON.stringify(res);
      for (const leak of ["tell", "anyone", "hunter2", "password", "31337"]) assert.equal(text.includes(leak), false, `level ${level} shows '${leak}': ${text}`);
      assert.match(text, new RegExp(`${priv}:1:1: .*<23 characters hidden`));
      assert.match(text, new RegExp(`${priv}:2:13: .*<17 characters hidden`));
      assert.match(text, new RegExp(`${priv}:3:8: .*<5 characters hidden`));
    }
    const keymat = JSON.stringify(await handlerAt(2).handle({ cmd: "read_rules", file: priv }));
    for (const shown of ["don't-tell-anyone", "hunter2 is the password", "31337"]) assert.ok(keymat.includes(shown), shown);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a symbolic link swapped between a private and a public file never shows the private words", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-admin-files-"));
  const priv = path.join(dir, "secret");
  const pub = path.join(dir, "public");
  const link = path.join(dir, "link");
  fs.writeFileSync(priv, `${SECRET}\n`, { mode: 0o600 });
  fs.writeFileSync(pub, "public-words\n", { mode: 0o644 });
  fs.chmodSync(pub, 0o644);
  fs.symlinkSync(priv, link);
  // Another process flips the link as fast as it can, as an attacker racing the daemon would.
  const swapper = spawn(process.execPath, ["-e", `
    const fs = require("node:fs");
    const [link, a, b] = process.argv.slice(1);
    for (let i = 0; ; i++) {
      const tmp = link + ".tmp";
      try { fs.unlinkSync(tmp); } catch {}
      fs.symlinkSync(i % 2 ? a : b, tmp);
      fs.renameSync(tmp, link);
      if (i === 1) process.stdout.write("swapping\\n");
    }`, link, priv, pub], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    // Wait (bounded) until the swapper runs, so the reads below race it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the link swapper never started")), 30_000);
      swapper.stdout.once("data", () => (clearTimeout(timer), resolve()));
    });
    const { handle } = handlerAt(0);
    let hidden = 0;
    let shown = 0;
    for (let i = 0; i < 5000 && (hidden < 20 || shown < 20 || i < 200); i++) {
      const text = JSON.stringify(await handle({ cmd: "read_rules", file: link }));
      assert.equal(text.includes(SECRET), false, `attempt ${i} showed the private file: ${text}`);
      if (text.includes("characters hidden")) hidden++;
      if (text.includes("public-words")) shown++;
    }
    // Both files were read, so the race was really run.
    assert.ok(hidden > 0 && shown > 0, `hidden ${hidden}, shown ${shown}`);
  } finally {
    swapper.kill("SIGKILL");
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
