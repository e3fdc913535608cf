/**
 * The daemon in-process: lifecycle events on diagnostics_channel, atomic reload, and the
 * shipped service files.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Daemon } from "../../src/daemon/daemon.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { GOOD_CONFIG, makeRoot, rootPath } from "./harness.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

test("start, reload (good and bad), stop publish events; a bad reload keeps the snapshot", async () => {
  const root = makeRoot();
  const events: [string, unknown][] = [];
  const subs = ["iked:daemon:start", "iked:daemon:reload", "iked:daemon:stop"].map((name) => {
    const fn = (m: unknown) => events.push([name, m]);
    diagnostics.subscribe(name, fn);
    return () => diagnostics.unsubscribe(name, fn);
  });
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0"], { debug_logfile: path.join(root, "d.log") });
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  // Not foreground and not detached: logs go to the debug_logfile.
  const d = await Daemon.start(parsed.options);
  const first = d.live.current;
  assert.deepEqual(first.config.rules.map((r) => r.label), ["loop a", "loop b"]);

  fs.writeFileSync(rootPath.config(root), GOOD_CONFIG.replace('"loop a"', '"renamed"'));
  assert.equal(await d.reload(), true);
  const second = d.live.current;
  assert.equal(second.generation, first.generation + 1);
  assert.deepEqual(second.config.rules.map((r) => r.label), ["renamed", "loop b"]);
  assert.equal(d.live.kmcookie("loop b"), 2, "cookies stay with their labels");
  assert.equal(d.live.kmcookie("renamed"), 3);

  fs.writeFileSync(rootPath.config(root), "p1_xform { auth_method preshared }\n");
  assert.equal(await d.reload(), false);
  assert.equal(d.live.current, second);

  await d.stop();
  for (const u of subs) u();
  assert.deepEqual(events.map(([n]) => n), ["iked:daemon:start", "iked:daemon:reload", "iked:daemon:reload", "iked:daemon:stop"]);
  assert.equal((events[1]![1] as { ok: boolean }).ok, true);
  const bad = events[2]![1] as { ok: boolean; errors: string[] };
  assert.equal(bad.ok, false);
  assert.match(bad.errors[0]!, /config:1:\d+: /);
  assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8"), /reload refused: the running configuration stays in effect/);
  assert.equal(fs.existsSync(rootPath.socket(root)), false);
  fs.rmSync(root, { recursive: true, force: true });
});

test("SIGHUP reopens a rotated debug log and reloads", async () => {
  const root = makeRoot();
  const logFile = path.join(root, "d.log");
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0"], { debug_logfile: logFile });
  if (parsed.kind !== "run") return assert.fail();
  const d = await Daemon.start(parsed.options);
  fs.renameSync(logFile, `${logFile}.1`);
  const reloaded = new Promise((resolve) => diagnostics.subscribe("iked:daemon:reload", function once(m) {
    diagnostics.unsubscribe("iked:daemon:reload", once);
    resolve(m);
  }));
  process.emit("SIGHUP", "SIGHUP");
  assert.deepEqual(await reloaded, { ok: true, generation: 2 });
  assert.match(fs.readFileSync(logFile, "utf8"), /SIGHUP: reloading configuration[\s\S]*configuration reloaded/);
  assert.match(fs.readFileSync(`${logFile}.1`, "utf8"), /in\.iked started/);
  await d.stop();
  assert.equal(process.listenerCount("SIGHUP"), 0);
  fs.rmSync(root, { recursive: true, force: true });
});

test("the shipped service property file parses, and the unit reloads with SIGHUP without core dumps", () => {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(repo, "etc/default/in.iked"), "utf8").split("\n")) {
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  assert.deepEqual(Object.keys(env).sort(), ["admin_privilege", "config_file", "debug_level", "debug_logfile", "ignore_errors"]);
  const parsed = parseDaemonOptions([], env);
  assert.equal(parsed.kind, "run");
  const unit = fs.readFileSync(path.join(repo, "etc/systemd/in.iked.service"), "utf8");
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^LimitCORE=0$/m);
  assert.match(unit, /^EnvironmentFile=-\/etc\/default\/in\.iked$/m);
  // In the foreground, so its stderr (the log) is the journal: systemd tracks the process itself.
  assert.match(unit, /^Type=exec$/m);
  assert.match(unit, /^ExecStart=\S*in\.iked --foreground /m);
  const exec = /^ExecStart=\S+ (.*)$/m.exec(unit)![1]!.split(" ");
  const o = parseDaemonOptions(exec, env);
  assert.ok(o.kind === "run" && o.options.foreground && o.options.debugLevel === 0x4, "the unit's options parse; debug_level stays op");
});
