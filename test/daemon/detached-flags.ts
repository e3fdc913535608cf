/**
 * Test helper (not a test file): the node flags the detached daemon runs with, read from
 * /proc/PID/cmdline of a daemon started through `node` (no #! line), which is then stopped.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { poll } from "../helpers/wait.js";
import { IN_IKED, makeRoot, rootPath, waitForSocket } from "./harness.js";

const exec = promisify(execFile);

/**
 * Start a detached daemon as `node [nodeFlags] --openssl-legacy-provider in-iked.js` with `env`,
 * return its node flags (those before the script), stop it.
 */
export async function detachedFlags(env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): Promise<string[]> {
  const r = makeRoot();
  try {
    const args = [...nodeFlags, "--openssl-legacy-provider", IN_IKED, "--root", r, "--kernel", "memory", "--workers", "0"];
    await assert.doesNotReject(exec(process.execPath, args, { env: { ...process.env, ...env } }), "the launcher exits with 0");
    await waitForSocket(rootPath.socket(r));
    const pid = Number(fs.readFileSync(rootPath.pid(r), "utf8"));
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    process.kill(pid, "SIGTERM");
    await poll(() => !fs.existsSync(rootPath.pid(r)), "the daemon to remove its pid file");
    return argv.slice(1, argv.findIndex((a) => a.endsWith("in-iked.js")));
  } finally {
    fs.rmSync(r, { recursive: true, force: true });
  }
}
