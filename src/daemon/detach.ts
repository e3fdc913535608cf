/**
 * Running in the background without a fork(2): the launcher re-spawns itself detached (own
 * session, stdin closed, stdout/stderr appended to the log file) with an IPC channel, and waits
 * until the child reports that it is serving — or why it is not — before exiting with 0 or the
 * child's code. The child closes the channel once it has reported, so nothing ties it to the
 * parent afterwards. A SIGTERM or SIGINT to the launcher before it exits (Ctrl-C in the shell that
 * ran it) is passed on to the child, which stops start-up cleanly and reports that it did (or,
 * when it was up already, stops as on any SIGTERM).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { refClock } from "../clock.js";
import { oldGenerationArgs } from "./old-generation.js";
import { youngGenerationArgs } from "./young-generation.js";

/** Set in the child's environment so it knows it is the detached daemon. */
export const DETACHED_ENV = "IKED_DETACHED_CHILD";

/** Signals the waiting launcher passes on to the starting daemon. */
const FORWARDED: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];

/** Message from the detached child to the waiting launcher. */
export type StartupReport = { up: true; pid: number } | { up: false; exitCode: number; message: string };

/** True in the detached child. */
export function isDetachedChild(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[DETACHED_ENV] === "1" && typeof process.send === "function";
}

/** In the child: tell the launcher how startup went, then drop the channel. */
export function reportStartup(report: StartupReport): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== "function" || !process.connected) return resolve();
    process.send(report, undefined, {}, () => {
      if (process.connected) process.disconnect();
      resolve();
    });
  });
}

/**
 * In the launcher: start the detached child with the same node flags and arguments (plus the
 * daemon's young-generation size and old-generation floor unless given: young-generation.ts,
 * old-generation.ts), wait for its report
 * and return the exit code the launcher should use.
 */
export function detachAndWait(args: readonly string[], logFile: string, timeoutMs = 60_000): Promise<{ code: number; message?: string; pid?: number }> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o755 });
  const fd = fs.openSync(logFile, "a", 0o600);
  const script = process.argv[1] ?? "";
  const heapArgs = [...youngGenerationArgs(process.execArgv, process.env.NODE_OPTIONS), ...oldGenerationArgs(process.execArgv, process.env.NODE_OPTIONS)];
  const child = spawn(process.execPath, [...process.execArgv, ...heapArgs, script, ...args], {
    detached: true,
    stdio: ["ignore", fd, fd, "ipc"],
    env: { ...process.env, [DETACHED_ENV]: "1" },
  });
  fs.closeSync(fd);
  return new Promise((resolve) => {
    let settled = false;
    // Left in place until the launcher exits: a stop request that comes just as the daemon
    // reports that it is up still reaches the daemon.
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const sig of FORWARDED) process.on(sig, forward);
    const finish = (r: { code: number; message?: string; pid?: number }) => {
      if (settled) return;
      settled = true;
      refClock.clearTimer(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(r);
    };
    const timer = refClock.setTimer(() => finish({ code: 1, message: `no startup report from the daemon within ${timeoutMs / 1000} s; see ${logFile}` }), timeoutMs);
    child.on("message", (m: StartupReport) => {
      if (m && m.up === true) finish({ code: 0, pid: m.pid });
      else if (m && m.up === false) finish({ code: m.exitCode || 1, message: m.message });
    });
    // 'close' (not 'exit'): it comes after the IPC channel is drained, so a report sent just
    // before exiting is seen first.
    child.on("close", (code, signal) => finish({ code: code || 1, message: `daemon exited during startup (${signal ?? `status ${code}`}); see ${logFile}` }));
    child.on("error", (err) => finish({ code: 1, message: `cannot start the daemon: ${err.message}` }));
  });
}
