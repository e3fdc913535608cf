/**
 * Test harness (not a test file): temporary `--root` trees and the real compiled launchers,
 * spawned as child processes.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WAIT_MS } from "../helpers/wait.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Compiled launchers (dist/src/cli). */
export const IN_IKED = path.resolve(here, "../../src/cli/in-iked.js");
export const IKEADM = path.resolve(here, "../../src/cli/ikeadm.js");

/** A small valid ike.config: global transform list, two rules. */
export const GOOD_CONFIG = `# test configuration
p1_lifetime_secs 14400
p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..256) }

{
	label "loop a"
	local_addr 127.0.0.1
	remote_addr 127.0.0.2
	p2_pfs 14
}
{
	label "loop b"
	local_addr 127.0.0.1
	remote_addr 127.0.0.3/32
	p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg 3des }
}
`;

/** A valid ike.preshared with one entry; the key text is recognisable in output. */
export const PSK_KEY_HEX = "0123456789abcdef0123456789abcdef";
export const GOOD_PRESHARED = `{
	localidtype IP
	localid 127.0.0.1
	remoteidtype IP
	remoteid 127.0.0.2
	key ${PSK_KEY_HEX}
}
`;

/** A temporary root with config and pre-shared key file (mode 0600). */
export function makeRoot(config = GOOD_CONFIG, preshared: string | undefined = GOOD_PRESHARED): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "iked-test-"));
  fs.mkdirSync(path.join(root, "etc/inet/ike"), { recursive: true });
  fs.mkdirSync(path.join(root, "etc/inet/secret"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, "etc/inet/ike/config"), config);
  if (preshared !== undefined) fs.writeFileSync(path.join(root, "etc/inet/secret/ike.preshared"), preshared, { mode: 0o600 });
  return root;
}

/** Paths inside a test root. */
export const rootPath = {
  config: (r: string) => path.join(r, "etc/inet/ike/config"),
  preshared: (r: string) => path.join(r, "etc/inet/secret/ike.preshared"),
  socket: (r: string) => path.join(r, "var/run/ike_door"),
  pid: (r: string) => path.join(r, "var/run/in.iked.pid"),
  log: (r: string) => path.join(r, "var/log/in.iked.log"),
};

/** Outcome of a finished process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a launcher to completion. */
export function run(script: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--openssl-legacy-provider", script, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd ?? process.cwd(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? "");
  });
}

/** ikeadm against a root. */
export function ikeadm(root: string, args: readonly string[], opts: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return run(IKEADM, ["--root", root, ...args], opts);
}

/** Wait until the admin socket accepts connections. */
export async function waitForSocket(file: string, timeoutMs = WAIT_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(file);
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`admin socket ${file} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A foreground daemon (`-d`) started for a test. */
export interface RunningDaemon {
  root: string;
  pid: number;
  /** Everything written to stderr so far. */
  output(): string;
  /** Wait until the output contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Start `in.iked -d --root <root> --kernel memory --workers 0 ...extra` and wait for its socket.
 * Unless `extra` names ports, the IKE sockets take free ports (`--port 0 --natt-port 0`), so
 * test daemons never compete for 500/4500 with each other or with interop peers. `opts.netns`
 * runs it inside that network namespace.
 */
export async function startDaemon(root: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}, opts: { netns?: string } = {}): Promise<RunningDaemon> {
  const ports = extra.includes("--port") ? [] : ["--port", "0", "--natt-port", "0"];
  const argv = [process.execPath, "--openssl-legacy-provider", IN_IKED, "-d", "--root", root, "--kernel", "memory", "--workers", "0", ...ports, ...extra];
  // `ip netns exec` execs node in the namespace, so the child's pid is the daemon's; the admin
  // socket is a file path, reachable from every namespace.
  const [cmd, ...args] = opts.netns !== undefined ? ["ip", "netns", "exec", opts.netns, ...argv] : argv;
  const p = spawn(cmd!, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.on("exit", (code) => resolve(code)));
  const d: RunningDaemon = {
    root,
    pid: p.pid ?? 0,
    output: () => out,
    async waitFor(text, timeoutMs = WAIT_MS) {
      const until = Date.now() + timeoutMs;
      while (!(typeof text === "string" ? out.includes(text) : text.test(out))) {
        if (Date.now() > until) throw new Error(`daemon output never showed ${String(text)}:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    signal: (sig) => p.kill(sig),
    async stop() {
      if (p.exitCode === null) p.kill("SIGTERM");
      return exited;
    },
    exited,
  };
  await Promise.race([
    waitForSocket(rootPath.socket(root)),
    exited.then((code) => {
      throw new Error(`daemon exited (${code}) during startup:\n${out}`);
    }),
  ]);
  return d;
}
