/**
 * ikeadm against a real daemon: privilege boundaries at each level, `set priv` only lowering,
 * rule and key editing, read/write round trips through the daemon, debug levels, output layout,
 * `--json`, interactive mode, and honest errors for what this version lacks.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { parseIkeConfig } from "../../src/config/index.js";
import { GOOD_CONFIG, PSK_KEY_HEX, ikeadm, makeRoot, rootPath, startDaemon, type RunningDaemon } from "../daemon/harness.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function daemonAt(priv: string): Promise<{ root: string; d: RunningDaemon }> {
  const root = makeRoot();
  const d = await startDaemon(root, ["-p", priv]);
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }), () => d.stop());
  return { root, d };
}

describe("privilege level 0 (base)", () => {
  test("no pre-shared key information leaves or enters; rules and listings work", async () => {
    const { root } = await daemonAt("base");
    const file = path.join(root, "keys.out");
    for (const args of [["dump", "preshared"], ["get", "preshared", "127.0.0.1", "127.0.0.2"], ["del", "preshared", "127.0.0.1", "127.0.0.2"], ["read", "preshared"], ["write", "preshared", file], ["add", "preshared", rootPath.preshared(root)]]) {
      const r = await ikeadm(root, args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /not allowed at current privilege level/, args.join(" "));
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PSK_KEY_HEX));
    }
    assert.equal(fs.existsSync(file), false);
    assert.equal((await ikeadm(root, ["dump", "rule"])).code, 0);
    assert.match((await ikeadm(root, ["get", "priv"])).stdout, /^Current privilege level is 0x0, base privileges$/m);
  });

  test("set priv cannot raise the level", async () => {
    const { root } = await daemonAt("0");
    for (const lv of ["modkeys", "2"]) {
      const r = await ikeadm(root, ["set", "priv", lv]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not allowed at current privilege level/);
    }
    assert.match((await ikeadm(root, ["get", "priv"])).stdout, /0x0/);
    assert.equal((await ikeadm(root, ["set", "priv", "base"])).code, 0);
  });
});

describe("privilege level 1 (modkeys)", () => {
  test("pre-shared keys are listed without key bytes and can be changed", async () => {
    const { root } = await daemonAt("modkeys");
    const dump = await ikeadm(root, ["dump", "preshared"]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /^PSKEY: For main mode exchanges$/m);
    assert.match(dump.stdout, /^LOCIP: Local IP address: 127\.0\.0\.1$/m);
    assert.match(dump.stdout, /^REMIP: Remote IP address: 127\.0\.0\.2$/m);
    assert.doesNotMatch(dump.stdout, /Pre-shared key \(/);
    assert.doesNotMatch(dump.stdout, new RegExp(PSK_KEY_HEX));
    assert.match(dump.stdout, /\nCompleted dump of preshared keys\n$/);

    const json = await ikeadm(root, ["--json", "dump", "preshared"]);
    assert.equal(JSON.parse(json.stdout).items[0].keyHex, undefined);

    assert.equal((await ikeadm(root, ["del", "preshared", "127.0.0.1", "127.0.0.2"])).code, 0);
    assert.match((await ikeadm(root, ["dump", "preshared"])).stdout, /^\nCompleted dump of preshared keys\n$/);
    assert.equal((await ikeadm(root, ["add", "preshared", rootPath.preshared(root)])).code, 0);
    assert.match((await ikeadm(root, ["get", "preshared", "ip", "127.0.0.1", "ip", "127.0.0.2"])).stdout, /REMIP: Remote IP address: 127\.0\.0\.2/);
  });

  test("write preshared is refused: the file would hold the key bytes modkeys may not see", async () => {
    const { root } = await daemonAt("modkeys");
    const out = path.join(root, "keys.out");
    const r = await ikeadm(root, ["write", "preshared", out]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /not allowed at current privilege level \(needs 2, /);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PSK_KEY_HEX));
    assert.equal(fs.existsSync(out), false, "no file is created");
    // Everything else modkeys may do with keys still works (see the test above), and so does
    // writing the rules.
    assert.equal((await ikeadm(root, ["write", "rule", path.join(root, "rules.out")])).code, 0);
  });

  test("lowering to base takes pre-shared key access away", async () => {
    const { root } = await daemonAt("1");
    const r = await ikeadm(root, ["set", "priv", "base"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /from 0x1 to 0x0/);
    assert.equal((await ikeadm(root, ["dump", "preshared"])).code, 1);
    assert.equal((await ikeadm(root, ["set", "priv", "modkeys"])).code, 1);
  });
});

describe("privilege level 2 (keymat)", () => {
  test("key bytes are shown, and -p masks them", async () => {
    const { root } = await daemonAt("keymat");
    const dump = await ikeadm(root, ["dump", "preshared"]);
    assert.match(dump.stdout, new RegExp(`^PSKEY: Pre-shared key \\(16 bytes\\): ${PSK_KEY_HEX}/128$`, "m"));
    const paranoid = await ikeadm(root, ["-p", "dump", "preshared"]);
    assert.match(paranoid.stdout, /^PSKEY: Pre-shared key \(16 bytes\): (XX){16}\/128$/m);
    assert.doesNotMatch(paranoid.stdout, new RegExp(PSK_KEY_HEX));
    const json = await ikeadm(root, ["-p", "--json", "dump", "preshared"]);
    assert.equal(JSON.parse(json.stdout).items[0].keyHex, "XX".repeat(16));
  });

  test("written keys read back identically", async () => {
    const { root } = await daemonAt("2");
    const out = path.join(root, "keys.out");
    assert.equal((await ikeadm(root, ["write", "preshared", out])).code, 0);
    const before = (await ikeadm(root, ["--json", "dump", "preshared"])).stdout;
    const r = await ikeadm(root, ["read", "preshared", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ikeadm(root, ["--json", "dump", "preshared"])).stdout, before);
  });
});

describe("rules", () => {
  test("write rule output parses to the same rules (round trip through the daemon)", async () => {
    const { root } = await daemonAt("base");
    const out = path.join(root, "rules.out");
    const w = await ikeadm(root, ["write", "rule", out]);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const original = parseIkeConfig(GOOD_CONFIG, "a");
    const written = parseIkeConfig(fs.readFileSync(out, "utf8"), "b");
    assert.ok(written.ok, JSON.stringify(written.diagnostics));
    assert.deepEqual(written.value, original.value);

    const again = await ikeadm(root, ["write", "rule", out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);

    assert.equal((await ikeadm(root, ["read", "rule", out])).code, 0);
    const dumped = await ikeadm(root, ["--json", "dump", "rule"]);
    assert.deepEqual(JSON.parse(dumped.stdout).items.map((r: { label: string }) => r.label), ["loop a", "loop b"]);
  });

  test("add, get and del a rule; duplicates and bad definitions are refused", async () => {
    const { root } = await daemonAt("base");
    const add = await ikeadm(root, ["add", "rule", "{", "label", "new one", "local_addr", "10.0.0.1", "remote_addr", "10.0.0.0/24", "}"]);
    assert.equal(add.code, 0, add.stderr);
    const get = await ikeadm(root, ["get", "rule", "new one"]);
    assert.match(get.stdout, /^GLOBL: Label 'new one', key manager cookie 3$/m);
    assert.match(get.stdout, /^REMIP:     10\.0\.0\.0\/24$/m);
    assert.match(get.stdout, /^XF  0: Auth method: pre-shared key; Encryption alg: AES-CBC\(128\.\.256\); Authentication alg: SHA256; Oakley Group: 2048-bit MODP \(group 14\); Lifetime 14400 seconds \(4 hours\)$/m);

    const dup = await ikeadm(root, ["add", "rule", "{label", "new one", "local_addr", "10.0.0.1", "remote_addr", "10.0.0.9}"]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /duplicate entry/);

    const bad = await ikeadm(root, ["add", "rule", "{", "label", "x", "local_addr", "10.0.0.999", "remote_addr", "10.0.0.1", "}"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\(command line\):\d+:\d+: /);

    for (const notFile of ["/dev/zero", root]) {
      const r = await ikeadm(root, ["add", "rule", notFile]);
      assert.equal(r.code, 1, notFile);
      assert.equal(r.stderr, `ikeadm: cannot read ${notFile}: not a regular file\n`);
    }

    assert.equal((await ikeadm(root, ["del", "rule", "new one"])).code, 0);
    const gone = await ikeadm(root, ["get", "rule", "new one"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /could not find requested policy rule/);
  });

  test("read rule with a bad file keeps the running rules", async () => {
    const { root, d } = await daemonAt("base");
    const badFile = path.join(root, "bad.conf");
    fs.writeFileSync(badFile, "{ label \"z\" local_addr 1.2.3.4 }\n");
    const r = await ikeadm(root, ["read", "rule", badFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.conf:1:\d+: /);
    assert.match(r.stderr, /running rules are unchanged/);
    assert.match((await ikeadm(root, ["dump", "rule"])).stdout, /Label 'loop a'[\s\S]*Label 'loop b'/);
    assert.doesNotMatch(d.output(), /configuration reloaded/);
  });
});

describe("other commands", () => {
  test("set debug takes nicknames and numbers and a log file", async () => {
    const { root } = await daemonAt("base");
    const s = await ikeadm(root, ["set", "debug", "phase1+phase2+policy"]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /changed debug level from 0x7ff to 0x58/);
    const g = await ikeadm(root, ["get", "debug"]);
    assert.equal(g.stdout, "Current debug level is 0x58\nDebug categories enabled:\n\tPhase 1 SA creation\n\tPhase 2 SA creation\n\tPolicy management\n");
    assert.equal((await ikeadm(root, ["set", "debug", "bogus"])).code, 1);
    const logFile = path.join(root, "debug.log");
    assert.equal((await ikeadm(root, ["set", "debug", "0x100", logFile])).code, 0);
    assert.equal((await ikeadm(root, ["get", "debug"])).code, 0);
    assert.match(fs.readFileSync(logFile, "utf8"), /admin request cat=door cmd=get_debug/);
    assert.equal(fs.statSync(logFile).mode & 0o777, 0o600);
  });

  test("get defaults and the algorithm listings follow the original layout", async () => {
    const { root } = await daemonAt("base");
    const d = (await ikeadm(root, ["get", "defaults"])).stdout.split("\n");
    assert.equal(d[3], "Token:            Source:        Value: Unit:     Description:");
    assert.equal(d[4], "p1_lifetime_secs  config          14400 seconds   phase 1 lifetime");
    // Test daemons take free ports (--port 0), so the port row shows a configured value.
    assert.ok(d.includes("-                 config              0           IKE port number"), d.join("\n"));
    const groups = (await ikeadm(root, ["dump", "groups"])).stdout;
    assert.match(groups, /^14    112      2048-bit MODP \(group 14\)$/m);
    assert.match(groups, /\nCompleted dump of groups\n$/);
    assert.match((await ikeadm(root, ["dump", "encralgs"])).stdout, /^7     AES-CBC             128-256$/m);
    assert.match((await ikeadm(root, ["dump", "authalgs"])).stdout, /^4     SHA256$/m);
  });

  test("certificates and tokens with an empty store: an empty dump, a flush, no token to log out of", async () => {
    const { root } = await daemonAt("base");
    const dump = await ikeadm(root, ["dump", "certcache"]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(dump.stdout, "\nCompleted dump of certcache\n");
    const flush = await ikeadm(root, ["flush", "certcache"]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.equal(flush.stdout, "Successfully flushed cert cache.\n");
    const out = await ikeadm(root, ["token", "logout", "tok"]);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /token logout failed or no objects on device: no private key in .* lives on token "tok"/);
  });

  test("usage errors, help, and inline preshared definitions outside interactive mode", async () => {
    const { root } = await daemonAt("modkeys");
    const unknown = await ikeadm(root, ["frobnicate", "rule"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unrecognized command 'frobnicate'/);
    assert.equal((await ikeadm(root, ["get", "rules"])).code, 1);
    assert.equal((await ikeadm(root, ["help"])).code, 0);
    assert.match((await ikeadm(root, ["help", "set"])).stdout, /set priv/);
    const inline = await ikeadm(root, ["add", "preshared", "{", "localid", "1.1.1.1", "remoteid", "2.2.2.2", "key", "00ff", "}"]);
    assert.equal(inline.code, 1);
    assert.match(inline.stderr, /only in interactive mode/);
  });

  test("interactive mode: comments, quotes, continuation, errors, inline keys", async () => {
    const { root } = await daemonAt("keymat");
    const script = [
      "# a comment",
      "get priv",
      'add preshared { localidtype ip localid 127.0.0.1 remoteidtype ip \\',
      '  remoteid 127.0.0.9 key "a quoted key" }',
      "get preshared 127.0.0.1 127.0.0.9",
      "frobnicate",
      "get rule \"loop a\"",
      "quit",
      "get debug",
    ].join("\n") + "\n";
    const r = await ikeadm(root, [], { input: script });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Current privilege level is 0x2, access to keying material/);
    assert.match(r.stdout, /PSKEY: Pre-shared key \(12 bytes\): 612071756f746564206b6579\/96/);
    assert.match(r.stderr, /unrecognized command 'frobnicate'/);
    assert.match(r.stdout, /Label 'loop a'/);
    assert.doesNotMatch(r.stdout, /Current debug level/);
  });

  test("no daemon: a clear error", async () => {
    const root = makeRoot();
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const r = await ikeadm(root, ["get", "priv"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot communicate with in\.iked at .*ike_door: ENOENT/);
  });
});
