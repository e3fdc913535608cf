/**
 * The crash policy in a real in.iked process (issue 11): an exception inside one exchange ends that
 * exchange and the daemon goes on negotiating; an invariant failure stops it cleanly — established
 * SAs deleted with Delete payloads, pid file and admin socket removed — with exit status 70.
 *
 * The faults come from test/daemon/fault-hook.ts, loaded with NODE_OPTIONS=--import (no daemon
 * option exists for it): the daemon's answer to an initiator cookie beginning with fa170001 throws
 * a TypeError, one beginning with fa170002 an InvariantError. Our side is an in-process engine on
 * UDP, whose cookie jar hands out those cookies when asked.
 *
 * Addresses and ports (inside the test's network namespace): 127.0.9.1 (daemon) and 127.0.9.2
 * (our engine), UDP 16110-16112.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { Daemon } from "../../src/daemon/daemon.js";
import { ikeServiceFactory } from "../../src/daemon/ike-service.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { InvariantError } from "../../src/errors.js";
import { CookieJar } from "../../src/ike/cookies.js";
import { EngineHost } from "../helpers/engine-host.js";
import { makeRoot, rootPath, startDaemon } from "./harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const DAEMON = "127.0.9.1";
const US = "127.0.9.2";
const DAEMON_PORT = 16110;
const OUR_PORT = 16112;
const PSK = "crash-daemon-test-key";
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const rule = (label: string, local: string, remote: string, port: number) => `${XF}\n{\n  label "${label}"\n  local_addr ${local}\n  remote_addr ${remote}\n  remote_port ${port}\n}\n`;
const psk = (local: string, remote: string) => `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key "${PSK}"\n}\n`;

test("one exchange's exception ends that exchange only; an invariant failure stops the daemon cleanly with 70", { timeout: 120_000 }, async () => {
  const root = makeRoot(rule("to us", DAEMON, US, OUR_PORT), psk(DAEMON, US));
  const hook = pathToFileURL(path.join(here, "fault-hook.js")).href;
  const d = await startDaemon(root, ["--port", String(DAEMON_PORT), "--natt-port", String(DAEMON_PORT + 1)], { NODE_OPTIONS: `--import=${hook}` });
  const cookies: Buffer[] = [];
  const random = (n: number): Buffer => (n === 8 && cookies.length > 0 ? cookies.shift()! : randomBytes(n));
  const us = await EngineHost.open({
    address: US, port: OUR_PORT, ikeConfig: rule("to daemon", US, DAEMON, DAEMON_PORT), preshared: psk(US, DAEMON),
    engine: { cookies: new CookieJar({ random }), retransmit: { initMs: 200, maxMs: 400, limit: 2 } },
  });
  const daemon = { address: DAEMON, port: DAEMON_PORT };
  try {
    // 1. An ordinary bug inside one exchange: that SA is torn down at the daemon (each attempt).
    cookies.push(Buffer.from("fa17000100000001", "hex"));
    const faulted = us.initiate("to daemon", daemon);
    await d.waitFor(/internal error: SA torn down.*fa170001:/);
    await us.waitUntil(() => faulted.isDead(), "our faulted SA to give up");

    // 2. The daemon still negotiates.
    const good = us.initiate("to daemon", daemon);
    await us.waitUntil(() => good.state === "established", "Phase 1 with the daemon");
    assert.equal(d.output().includes("stopping cleanly"), false);

    // 3. An invariant failure: clean stop (our established SA gets a Delete), exit 70.
    cookies.push(Buffer.from("fa17000200000002", "hex"));
    us.initiate("to daemon", daemon);
    const code = await d.exited;
    assert.equal(code, 70, d.output());
    assert.match(d.output(), /stopping cleanly: an invariant no longer holds/);
    assert.match(d.output(), /in\.iked stopped/);
    await us.waitUntil(() => good.isDead(), "the daemon's Delete for our established SA");
    assert.equal(good.deathReason, "deleted by peer");
    assert.equal(fs.existsSync(rootPath.pid(root)), false, "pid file removed");
    assert.equal(fs.existsSync(rootPath.socket(root)), false, "admin socket removed");
  } finally {
    await us.close();
    await d.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("in-process: the policy's handlers are on the process while the daemon runs, off after a stop; fatal stops it and exits 70", async () => {
  const root = makeRoot();
  const before = process.listenerCount("uncaughtException");
  // The policy marks the process as failing (exit 70) once it stops; this test process is not the daemon's.
  const exitCodeBefore = process.exitCode;
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"], { debug_logfile: path.join(root, "d.log") });
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  const first = await Daemon.start(parsed.options, { engineFactory: ikeServiceFactory, exit: () => assert.fail("a normal stop does not exit") });
  assert.equal(process.listenerCount("uncaughtException"), before + 1);
  await first.stop();
  assert.equal(process.listenerCount("uncaughtException"), before);

  let exitCode: number | undefined;
  const exited = new Promise<void>((resolve) => {
    void Daemon.start(parsed.options, { engineFactory: ikeServiceFactory, exit: (c) => ((exitCode = c), resolve()) }).then((d) => d.crash.fatal(new InvariantError("test")));
  });
  await exited;
  assert.equal(exitCode, 70);
  assert.equal(process.listenerCount("uncaughtException"), before);
  assert.equal(fs.existsSync(rootPath.socket(root)), false);
  assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8"), /stopping cleanly: an invariant no longer holds[^\n]*\n[^]*in\.iked stopped/);
  process.exitCode = exitCodeBefore;
  fs.rmSync(root, { recursive: true, force: true });
});
