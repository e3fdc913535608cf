/**
 * Real signals to a real in.iked during start-up: the test watches the daemon come up (its pid
 * file and admin socket appearing, its log lines on stderr) and sends SIGHUP or SIGTERM at each
 * of those points, at once and again after a random few milliseconds. A SIGHUP always ends in
 * exactly one reload after start-up; a SIGTERM always ends in exit status 0 with no pid file or
 * admin socket left. Also: SIGTERM to the launcher of a detaching in.iked is passed on to the
 * starting daemon (held in start-up by a large configuration to parse). The in-process sweep over every stage is signals.test.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { poll, WAIT_MS } from "../helpers/wait.js";
import { GOOD_CONFIG, IN_IKED, makeRoot, rootPath, waitForSocket } from "./harness.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

/** Points of start-up the test can see from outside, in the order they happen. */
const POINTS = [
  { name: "pid file", file: "in.iked.pid" },
  { name: "configuration loaded", line: "configuration loaded" },
  { name: "IKE engine started", line: "IKE engine started" },
  { name: "admin socket", file: "ike_door" },
  { name: "in.iked started", line: "in.iked started" },
] as const;
type Point = (typeof POINTS)[number];

interface Run {
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** False when the process had already exited. */
  kill(sig: NodeJS.Signals): boolean;
}

const DAEMON_ARGS = ["--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"];

/** Start in.iked with `args` on `root` and call `onPoint` once the daemon reaches `point`. */
function startAt(root: string, args: readonly string[], point: Point, onPoint: () => void): Run {
  const run = path.join(root, "var/run");
  fs.mkdirSync(run, { recursive: true });
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    watcher.close();
    onPoint();
  };
  const watcher = fs.watch(run, (_event, name) => {
    if ("file" in point && name === point.file && fs.existsSync(path.join(run, point.file))) fire();
  });
  const p = spawn(process.execPath, ["--openssl-legacy-provider", IN_IKED, ...args, "--root", root, ...DAEMON_ARGS], { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  p.stderr.on("data", (d: Buffer) => {
    out += d.toString();
    if ("line" in point && out.includes(point.line)) fire();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on("exit", (code, signal) => {
      watcher.close();
      resolve({ code, signal });
    }),
  );
  return { output: () => out, exit, kill: (sig) => p.kill(sig) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const delays = () => [0, 1 + Math.floor(Math.random() * 15)];

test("SIGTERM at each visible point of start-up: exit 0, nothing left behind", { timeout: 240_000 }, async () => {
  for (const point of POINTS) {
    for (const delay of delays()) {
      const root = makeRoot();
      roots.push(root);
      const what = `SIGTERM ${delay} ms after ${point.name}`;
      const r = startAt(root, ["-d"], point, () => setTimeout(() => r.kill("SIGTERM"), delay));
      const { code, signal } = await r.exit;
      assert.equal(signal, null, `${what}: killed by ${signal}\n${r.output()}`);
      assert.equal(code, 0, `${what}: exit ${code}\n${r.output()}`);
      assert.match(r.output(), /in\.iked stopped/, what);
      assert.equal(fs.existsSync(rootPath.pid(root)), false, `${what}: pid file left behind`);
      assert.equal(fs.existsSync(rootPath.socket(root)), false, `${what}: admin socket left behind`);
    }
  }
});

test("SIGHUP at each visible point of start-up: the daemon comes up and reloads exactly once", { timeout: 240_000 }, async () => {
  for (const point of POINTS) {
    for (const delay of delays()) {
      const root = makeRoot();
      roots.push(root);
      const what = `SIGHUP ${delay} ms after ${point.name}`;
      let sent = false;
      const r = startAt(root, ["-d"], point, () => setTimeout(() => (r.kill("SIGHUP"), (sent = true)), delay));
      const died = r.exit.then(({ code, signal }) => {
        throw new Error(`${what}: the daemon exited (${signal ?? code})\n${r.output()}`);
      });
      await Promise.race([died, (async () => {
        await waitForSocket(rootPath.socket(root));
        await poll(() => sent && /configuration reloaded/.test(r.output()), `${what}: the reload`, WAIT_MS, 10);
      })()]);
      r.kill("SIGTERM");
      void died.catch(() => {});
      const { code } = await r.exit;
      assert.equal(code, 0, `${what}\n${r.output()}`);
      const out = r.output();
      assert.equal(out.match(/configuration reloaded/g)?.length, 1, `${what}: one reload\n${out}`);
      assert.ok(out.indexOf("in.iked started") < out.indexOf("configuration reloaded"), `${what}: the reload came before start-up ended\n${out}`);
    }
  }
});

/**
 * An ike.config of 20,000 rules (about 2.9 MB, under the 4 MB limit): parsing it keeps start-up in
 * its configuration stage for a few hundred milliseconds after the pid file has appeared, so the
 * signal usually lands in start-up.
 */
function slowConfig(): string {
  let text = GOOD_CONFIG;
  for (let i = 0; i < 20_000; i++) {
    text += `{\n label "r${i}"\n local_addr 127.0.0.1\n remote_addr 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }\n}\n`;
  }
  return text;
}

test("SIGTERM to the launcher while the detached daemon starts: passed on to the daemon, which stops; nothing left", { timeout: 120_000 }, async () => {
  const root = makeRoot(slowConfig());
  roots.push(root);
  let pid = 0;
  let delivered = false;
  // The pid file exists (created empty, then written): the daemon has its handlers.
  const r = startAt(root, [], POINTS[0], () => void poll(() => /^\d+\n$/.test(fs.readFileSync(rootPath.pid(root), "utf8")), "the pid", WAIT_MS, 5).then(() => {
    pid = Number(fs.readFileSync(rootPath.pid(root), "utf8"));
    delivered = r.kill("SIGTERM");
  }));
  const { code, signal } = await r.exit;
  assert.equal(signal, null, "the launcher handles SIGTERM");
  assert.ok(pid > 0);
  try {
    // Only a test process slower than the whole start-up could miss the launcher.
    assert.ok(delivered, "the launcher had exited before the test could signal it");
    await poll(() => !alive(pid), `daemon pid ${pid} to exit`);
  } finally {
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  const log = fs.readFileSync(rootPath.log(root), "utf8");
  // Usually the signal lands in start-up and the launcher reports it; on a loaded machine the
  // daemon may have come up first (the launcher then exits 0), and the signal stops it right after.
  if (code === 1) {
    assert.match(r.output(), /in\.iked: stopped by SIGTERM during start-up/);
    assert.match(log, /in\.iked stopping signal=SIGTERM during=start-up[\s\S]*in\.iked stopped/);
  } else {
    assert.equal(code, 0, r.output());
    assert.match(log, /in\.iked started[\s\S]*in\.iked stopping signal=SIGTERM[\s\S]*in\.iked stopped/);
  }
  assert.equal(fs.existsSync(rootPath.pid(root)), false);
  assert.equal(fs.existsSync(rootPath.socket(root)), false);
});
