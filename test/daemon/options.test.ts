/** in.iked options: original flags, service properties from the environment, extensions, paths. */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { ikedPaths } from "../../src/daemon/paths.js";

const opts = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = parseDaemonOptions(argv, env);
  assert.equal(r.kind, "run", JSON.stringify(r));
  return r.kind === "run" ? r.options : assert.fail();
};

test("defaults: base privilege, debug op, system paths, ports 500/4500", () => {
  const o = opts([]);
  assert.equal(o.privilege, 0);
  assert.equal(o.debugLevel, 0x4);
  assert.equal(o.configFile, "/etc/inet/ike/config");
  assert.equal(o.presharedFile, "/etc/inet/secret/ike.preshared");
  assert.equal(o.paths.adminSocket, "/var/run/ike_door");
  assert.equal(o.ikePort, 500);
  assert.equal(o.nattPort, 4500);
  assert.equal(o.kernel, "auto");
  assert.equal(o.check, false);
});

test("original flags, grouped as getopt allows", () => {
  const o = opts(["-dc", "-fmy.conf", "-p", "keymat"]);
  assert.equal(o.foreground, true);
  assert.equal(o.check, true);
  assert.equal(o.configFile, "my.conf");
  assert.equal(o.privilege, 2);
  assert.equal(o.debugLevel, 0x7ff);
});

test("service properties come from the environment; flags win", () => {
  const env = { admin_privilege: "modkeys", config_file: "/x/config", debug_level: "phase1+phase2", debug_logfile: "/x/log", ignore_errors: "true" };
  const o = opts([], env);
  assert.deepEqual([o.privilege, o.configFile, o.debugLevel, o.debugLogfile, o.ignoreErrors], [1, "/x/config", 0x18, "/x/log", true]);
  const f = opts(["-p", "0", "-f", "/y"], env);
  assert.deepEqual([f.privilege, f.configFile], [0, "/y"]);
  assert.equal(parseDaemonOptions([], { debug_level: "nonsense" }).kind, "error");
  assert.equal(parseDaemonOptions([], { ignore_errors: "maybe" }).kind, "error");
});

test("--port 0 and --natt-port 0 ask for free ports", () => {
  const o = opts(["--port", "0", "--natt-port", "0"]);
  assert.equal(o.ikePort, 0);
  assert.equal(o.nattPort, 0);
});

test("extensions: --root moves every default path; ports, kernel, workers", () => {
  const o = opts(["--root", "/srv/ike", "--port=5500", "--natt-port", "5501", "--kernel", "memory", "--workers", "3"]);
  assert.deepEqual(o.paths, ikedPaths("/srv/ike"));
  assert.equal(o.configFile, "/srv/ike/etc/inet/ike/config");
  assert.equal(o.paths.privateKeysDir, "/srv/ike/etc/inet/secret/ike.privatekeys");
  assert.equal(o.paths.publicKeysDir, "/srv/ike/etc/inet/ike/publickeys");
  assert.equal(o.paths.crlsDir, "/srv/ike/etc/inet/ike/crls");
  assert.equal(o.paths.pidFile, "/srv/ike/var/run/in.iked.pid");
  assert.deepEqual([o.ikePort, o.nattPort, o.kernel, o.workers], [5500, 5501, "memory", 3]);
});

test("--kernel: xfrm, pfkey, auto or memory", () => {
  for (const k of ["xfrm", "pfkey", "auto", "memory"] as const) assert.equal(opts(["--kernel", k]).kernel, k);
  assert.equal(opts(["--kernel=pfkey"]).kernel, "pfkey");
});

test("bad options are errors, -h and --help ask for help", () => {
  for (const argv of [["-x"], ["-p", "3"], ["--port", "-1"], ["--port", "70000"], ["--kernel", "netlink"], ["--kernel"], ["--workers", "many"], ["-f"], ["stray"], ["--bogus"]]) {
    assert.equal(parseDaemonOptions(argv, {}).kind, "error", argv.join(" "));
  }
  assert.equal(parseDaemonOptions(["-h"], {}).kind, "help");
  assert.equal(parseDaemonOptions(["--help"], {}).kind, "help");
});

test("--keys-file: only at privilege keymat (flag or admin_privilege), resolved to an absolute path", () => {
  const o = opts(["-p", "keymat", "--keys-file", "keys.csv"]);
  assert.equal(o.keysFile, path.resolve("keys.csv"));
  assert.equal(opts(["--keys-file=/k"], { admin_privilege: "2" }).keysFile, "/k");
  assert.equal(opts([]).keysFile, undefined);
  for (const [argv, env] of [[["--keys-file", "/k"], {}], [["-p", "modkeys", "--keys-file", "/k"], {}], [["--keys-file", "/k"], { admin_privilege: "base" }], [["-p", "keymat", "--keys-file"], {}]] as const) {
    const r = parseDaemonOptions(argv, env);
    assert.equal(r.kind, "error", argv.join(" "));
  }
  const r = parseDaemonOptions(["-p", "1", "--keys-file", "/k"], {});
  assert.match(r.kind === "error" ? r.message : "", /allowed only at privilege keymat: add -p keymat/);
});
