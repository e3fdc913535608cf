/**
 * in.iked as a process: `-c`, start, SIGHUP reload (good and bad files), stop, the pid lock,
 * the secrets-file permission check, ignore_errors and detaching.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { poll } from "../helpers/wait.js";
import { GOOD_CONFIG, IN_IKED, ikeadm, makeRoot, rootPath, run, startDaemon, waitForSocket } from "./harness.js";

const roots: string[] = [];
const root = (...a: Parameters<typeof makeRoot>) => {
  const r = makeRoot(...a);
  roots.push(r);
  return r;
};
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

describe("in.iked -c", () => {
  test("a good configuration exits 0", async () => {
    const r = root();
    const res = await run(IN_IKED, ["-c", "--root", r]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /2 rules; .* 1 pre-shared keys; configuration OK/);
  });

  test("a bad file exits non-zero with file:line:col messages", async () => {
    const r = root(GOOD_CONFIG + "\n{\n\tlabel \"x\"\n\tlocal_addr 10.0.0.300\n\tremote_addr 10.0.0.2\n}\n");
    const res = await run(IN_IKED, ["-c", "--root", r]);
    assert.equal(res.code, 1);
    const line = GOOD_CONFIG.split("\n").length + 3;
    assert.match(res.stderr, new RegExp(`${rootPath.config(r).replace(/[/.]/g, "\\$&")}:${line}:\\d+: `));
    assert.match(res.stderr, /configuration check failed \(\d+ errors?\)/);
  });

  test("-f names another file; a missing file is an error", async () => {
    const r = root();
    fs.writeFileSync(`${r}/other.conf`, "retry_limit 3\n");
    assert.equal((await run(IN_IKED, ["-c", "-f", `${r}/other.conf`, "--root", r])).code, 0);
    const res = await run(IN_IKED, ["-c", "-f", `${r}/missing.conf`, "--root", r]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /missing\.conf.*ENOENT/);
  });

  test("a pre-shared key file readable by others is refused, naming the fix", async () => {
    const r = root();
    fs.chmodSync(rootPath.preshared(r), 0o644);
    const res = await run(IN_IKED, ["-c", "--root", r]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /mode 0644.*chmod 600 /);
    assert.doesNotMatch(res.stderr, /0123456789abcdef/);
  });

  test("p2_idletime_secs is enforced with every kernel backend: no warning from -c", async () => {
    const r = root(GOOD_CONFIG + "\np2_idletime_secs 300\n");
    for (const kernel of ["auto", "xfrm", "pfkey", "memory"]) {
      const res = await run(IN_IKED, ["-c", "--root", r, "--kernel", kernel]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /configuration OK/, kernel);
      assert.doesNotMatch(res.stderr, /p2_idletime_secs|idle|not enforced/, kernel);
    }
  });

  test("usage errors exit 1 and --help exits 0", async () => {
    assert.equal((await run(IN_IKED, ["-x"])).code, 1);
    assert.equal((await run(IN_IKED, ["--kernel", "bogus", "-c"])).code, 1);
    const help = await run(IN_IKED, ["--help"]);
    assert.equal(help.code, 0);
    for (const opt of ["--root", "--port", "--natt-port", "--kernel", "--workers", "-c", "-d", "-f", "-p"]) assert.ok(help.stdout.includes(opt), opt);
  });
});

/** This test needs a kernel without AF_KEY (this project's machines; the kernel VM has one). */
const hasAfKey = fs.existsSync("/proc/net/pfkey");
const AF_KEY_PRESENT = "this kernel has AF_KEY (in.iked on PF_KEY runs in the kernel VM suite)";

describe("in.iked daemon", () => {
  test("starts, reloads on SIGHUP, keeps the old config on a bad file, stops cleanly", async () => {
    const r = root();
    const d = await startDaemon(r);
    assert.equal(fs.statSync(rootPath.socket(r)).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(rootPath.pid(r), "utf8").trim(), String(d.pid));

    fs.writeFileSync(rootPath.config(r), GOOD_CONFIG.replace('"loop b"', '"loop c"'));
    d.signal("SIGHUP");
    await d.waitFor("configuration reloaded");
    let dump = await ikeadm(r, ["dump", "rule"]);
    assert.match(dump.stdout, /Label 'loop c'/);

    fs.writeFileSync(rootPath.config(r), "{ label \"broken\"\n");
    d.signal("SIGHUP");
    await d.waitFor("reload refused");
    assert.match(d.output(), /config:\d+:\d+: .*\n.*reload refused: the running configuration stays in effect/);
    dump = await ikeadm(r, ["dump", "rule"]);
    assert.match(dump.stdout, /Label 'loop c'/);
    assert.doesNotMatch(dump.stdout, /broken/);

    assert.equal(await d.stop(), 0);
    assert.equal(fs.existsSync(rootPath.socket(r)), false);
    assert.equal(fs.existsSync(rootPath.pid(r)), false);
  });

  test("a bad pre-shared key file on reload keeps the old keys", async () => {
    const r = root();
    const d = await startDaemon(r, ["-p", "1"]);
    fs.chmodSync(rootPath.preshared(r), 0o640);
    d.signal("SIGHUP");
    await d.waitFor("reload refused");
    assert.match(d.output(), /mode 0640.*chmod 600/);
    const ps = await ikeadm(r, ["dump", "preshared"]);
    assert.match(ps.stdout, /LOCIP: Local IP address: 127\.0\.0\.1/);
    await d.stop();
  });

  test("a second instance is refused while the first runs", async () => {
    const r = root();
    const d = await startDaemon(r);
    const second = await run(IN_IKED, ["-d", "--root", r, "--kernel", "memory", "--workers", "0"]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${d.pid}`));
    assert.equal(fs.readFileSync(rootPath.pid(r), "utf8").trim(), String(d.pid));
    await d.stop();
  });

  test("a stale pid file (dead process) is recovered", async () => {
    const r = root();
    fs.mkdirSync(`${r}/var/run`, { recursive: true });
    // A pid that does not exist: above the kernel's pid_max default range.
    fs.writeFileSync(rootPath.pid(r), "4194399\n");
    const d = await startDaemon(r);
    await d.waitFor("removed stale pid file");
    assert.equal(fs.readFileSync(rootPath.pid(r), "utf8").trim(), String(d.pid));
    await d.stop();
  });

  test("a stale socket file is replaced", async () => {
    const r = root();
    fs.mkdirSync(`${r}/var/run`, { recursive: true });
    fs.writeFileSync(rootPath.socket(r), "");
    const d = await startDaemon(r);
    assert.ok(fs.statSync(rootPath.socket(r)).isSocket());
    await d.stop();
  });

  test("a bad configuration stops startup unless ignore_errors is set", async () => {
    const bad = GOOD_CONFIG + "\nbogus_keyword 1\n";
    const r = root(bad);
    const res = await run(IN_IKED, ["-d", "--root", r, "--kernel", "memory", "--workers", "0"]);
    assert.equal(res.code, 95);
    assert.match(res.stderr, /config:\d+:1: /);
    assert.equal(fs.existsSync(rootPath.pid(r)), false);

    const d = await startDaemon(r, [], { ignore_errors: "true" });
    await d.waitFor("ignore_errors is set");
    const dump = await ikeadm(r, ["dump", "rule"]);
    assert.match(dump.stdout, /Label 'loop a'/);
    await d.stop();
  });

  test("without -d it detaches, the launcher exits 0, and the daemon logs to the log file", async () => {
    const r = root();
    const res = await run(IN_IKED, ["--root", r, "--kernel", "memory", "--workers", "0"]);
    assert.equal(res.code, 0, res.stderr);
    await waitForSocket(rootPath.socket(r));
    const pid = Number(fs.readFileSync(rootPath.pid(r), "utf8"));
    assert.ok(pid > 0);
    assert.match((await ikeadm(r, ["get", "priv"])).stdout, /Current privilege level is 0x0/);
    process.kill(pid, "SIGTERM");
    await poll(() => !fs.existsSync(rootPath.pid(r)), "the daemon to remove its pid file");
    assert.match(fs.readFileSync(rootPath.log(r), "utf8"), /in\.iked started[\s\S]*in\.iked stopped/);
  });

  test("without -d a startup failure is reported by the launcher", async () => {
    const r = root();
    fs.chmodSync(rootPath.preshared(r), 0o604);
    const res = await run(IN_IKED, ["--root", r, "--kernel", "memory", "--workers", "0"]);
    assert.equal(res.code, 95);
    assert.match(res.stderr, /chmod 600/);
  });

  test("--kernel pfkey where the kernel has no AF_KEY: start-up fails and says why, never falls back", { skip: hasAfKey && process.env.CI !== "true" ? AF_KEY_PRESENT : false }, async () => {
    if (hasAfKey) assert.fail(`cannot run under CI: ${AF_KEY_PRESENT}`);
    const r = root();
    const res = await run(IN_IKED, ["-d", "--root", r, "--kernel", "pfkey", "--workers", "0"]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot open the kernel's IPsec key-management interface \(--kernel pfkey\).*PF_KEY/);
    assert.match(res.stderr, /--kernel memory/);
    assert.equal(fs.existsSync(rootPath.pid(r)), false, "nothing left running");
  });
});
