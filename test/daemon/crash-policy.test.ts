/**
 * The crash policy (src/daemon/crash-policy.ts, issue 11 item 9): escaped errors are logged and
 * counted and the daemon carries on, up to a budget; an invariant failure (InvariantError, a failed
 * assert, or fatal() from an SA boundary) or too many escapes stop it cleanly, then exit non-zero
 * with a status systemd's Restart=on-failure restarts. Last, the same in a real process.
 */
import assert, { AssertionError } from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CrashPolicy, isInvariantFailure, type CrashLog } from "../../src/daemon/crash-policy.js";
import { InvariantError, KernelError } from "../../src/errors.js";

const here = path.dirname(fileURLToPath(import.meta.url));

function harness(opts: { stop?: (reason: string) => Promise<void>; stopTimeoutMs?: number } = {}) {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const log: CrashLog = {
    error: (msg, fields = {}) => void lines.push({ level: "error", msg, fields }),
    warn: (msg, fields = {}) => void lines.push({ level: "warn", msg, fields }),
  };
  let t = 1_000_000;
  const stops: string[] = [];
  let exited: number | undefined;
  let onExit: () => void = () => {};
  const exitedP = new Promise<void>((resolve) => (onExit = resolve));
  const policy = new CrashPolicy({
    log,
    stop: opts.stop ?? (async (reason) => void stops.push(reason)),
    exit: (code) => {
      exited = code;
      onExit();
    },
    maxEscapes: 3,
    windowMs: 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 5_000,
    now: () => t,
  });
  return { policy, lines, stops, exitedP, advance: (ms: number) => void (t += ms), exitCode: () => exited };
}

test("an escaped error is logged and counted and the daemon carries on", () => {
  const h = harness();
  assert.equal(h.policy.handle(new TypeError("x is undefined"), "uncaughtException"), "continue");
  assert.equal(h.policy.handle(new KernelError("IKE_ERR_KERNEL", "refused"), "unhandledRejection"), "continue");
  assert.deepEqual(h.policy.stats(), { uncaughtExceptions: 1, unhandledRejections: 1, invariantFailures: 0, stopping: false });
  assert.equal(h.lines.length, 2);
  assert.match(h.lines[0]!.msg, /escaped every SA boundary; the daemon carries on/);
  assert.equal(h.lines[0]!.fields.err, "x is undefined");
  assert.equal(h.lines[1]!.fields.code, "IKE_ERR_KERNEL");
  assert.deepEqual(h.stops, []);
  assert.equal(h.exitCode(), undefined);
});

test("escapes spread wider than the window never add up to a stop", () => {
  const h = harness();
  for (let i = 0; i < 20; i++) {
    assert.equal(h.policy.handle(new Error(`e${i}`), "uncaughtException"), "continue");
    h.advance(4_000);
  }
  assert.deepEqual(h.stops, []);
});

test("more escapes than the budget within the window stop cleanly and exit 70", async () => {
  const h = harness();
  for (let i = 0; i < 3; i++) assert.equal(h.policy.handle(new Error(`e${i}`), "uncaughtException"), "continue");
  assert.equal(h.policy.handle(new Error("e3"), "unhandledRejection"), "stop");
  await h.exitedP;
  assert.equal(h.stops.length, 1);
  assert.match(h.stops[0]!, /4 errors escaped within 10 s \(limit 3\)/);
  assert.equal(h.exitCode(), 70);
  assert.equal(h.policy.stats().stopping, true);
});

test("an invariant failure stops at once: InvariantError, a failed assert, or fatal() from an SA boundary", async () => {
  const failures: unknown[] = [new InvariantError("SA table and kernel disagree")];
  try {
    assert.equal(1, 2);
  } catch (e) {
    failures.push(e);
  }
  assert.ok(failures[1] instanceof AssertionError);
  for (const [i, err] of failures.entries()) {
    assert.ok(isInvariantFailure(err));
    const h = harness();
    assert.equal(h.policy.handle(err, i === 0 ? "uncaughtException" : "unhandledRejection"), "stop");
    await h.exitedP;
    assert.deepEqual(h.stops, ["an invariant no longer holds"]);
    assert.equal(h.exitCode(), 70);
    assert.equal(h.policy.stats().invariantFailures, 1);
  }
  const h = harness();
  h.policy.fatal(new Error("key holder used after destroy"));
  await h.exitedP;
  assert.equal(h.stops.length, 1);
  assert.ok(!isInvariantFailure(new KernelError("IKE_ERR_KERNEL", "x")) && !isInvariantFailure("text"));
});

test("a stop that fails or hangs still ends in exit 70; errors while stopping stop nothing twice", async () => {
  const failing = harness({ stop: () => Promise.reject(new Error("kernel gone")) });
  failing.policy.handle(new InvariantError("x"), "uncaughtException");
  await failing.exitedP;
  assert.equal(failing.exitCode(), 70);
  assert.ok(failing.lines.some((l) => /clean stop failed; exiting anyway/.test(l.msg)));

  let calls = 0;
  const hanging = harness({ stop: () => (calls++, new Promise(() => {})), stopTimeoutMs: 50 });
  hanging.policy.handle(new InvariantError("x"), "uncaughtException");
  assert.equal(hanging.policy.handle(new Error("during stop"), "uncaughtException"), "stop");
  await hanging.exitedP;
  assert.equal(hanging.exitCode(), 70);
  assert.equal(calls, 1);
  assert.ok(hanging.lines.some((l) => /error while stopping/.test(l.msg)));
  assert.ok(hanging.lines.some((l) => /did not finish in time/.test(l.msg)));
});

test("installed on a real process: a throw in a timer and a lost rejection are survived, an invariant failure exits 70 after the stop", async () => {
  const policyUrl = pathToFileURL(path.resolve(here, "../../src/daemon/crash-policy.js")).href;
  const errorsUrl = pathToFileURL(path.resolve(here, "../../src/errors.js")).href;
  const script = `
    const { CrashPolicy } = await import(${JSON.stringify(policyUrl)});
    const { InvariantError } = await import(${JSON.stringify(errorsUrl)});
    const say = (s) => process.stdout.write(s + "\\n");
    const policy = new CrashPolicy({
      log: { error: (m) => say("log: " + m), warn: (m) => say("log: " + m) },
      stop: async (reason) => say("stop: " + reason),
    });
    policy.install();
    const keepAlive = setInterval(() => {}, 1000);
    setTimeout(() => { throw new TypeError("bug in a timer"); }, 10);
    setTimeout(() => { Promise.reject(new Error("nobody awaited this")); }, 30);
    setTimeout(() => say("still running"), 60);
    setTimeout(() => { throw new InvariantError("SA table corrupt"); }, 90);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 70, out);
  const lines = out.trim().split("\n");
  assert.deepEqual(lines, [
    "log: error escaped every SA boundary; the daemon carries on",
    "log: error escaped every SA boundary; the daemon carries on",
    "still running",
    "log: stopping cleanly: an invariant no longer holds",
    "stop: an invariant no longer holds",
  ]);
});

test("the systemd unit restarts the daemon on the crash policy's exit status", () => {
  const unit = fs.readFileSync(path.resolve(here, "../../../etc/systemd/in.iked.service"), "utf8");
  assert.match(unit, /^Restart=on-failure$/m);
  const prevent = /^RestartPreventExitStatus=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  assert.ok(!prevent.includes("70"), `RestartPreventExitStatus ${prevent.join(" ")} must not hold 70`);
});
