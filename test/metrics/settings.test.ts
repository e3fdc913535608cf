/**
 * Where the metrics endpoint may listen (`--metrics`, ike.config `metrics`), the options that go
 * with running under systemd (`--foreground`, `--log-format`) and the journal's line format.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMetricsSetting, metricsExposureWarning, isLoopbackAddress, formatMetricsSetting } from "../../src/config/metrics-address.js";
import { parseIkeConfig } from "../../src/config/index.js";
import { formatIkeConfig } from "../../src/config/ike-config-writer.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { journalLine, journalStreamIsStderr, syslogPriority } from "../../src/log/journal.js";

test("metrics addresses: a port alone is loopback; only IP literals; unix: absolute", () => {
  const ok = (t: string) => {
    const r = parseMetricsSetting(t);
    assert.ok(r.ok, `${t}: ${r.ok ? "" : r.message}`);
    return r.value;
  };
  assert.deepEqual(ok("9712"), { kind: "tcp", host: "127.0.0.1", port: 9712, loopback: true });
  assert.deepEqual(ok("localhost:9712"), { kind: "tcp", host: "127.0.0.1", port: 9712, loopback: true });
  assert.deepEqual(ok("127.0.0.2:1"), { kind: "tcp", host: "127.0.0.2", port: 1, loopback: true });
  assert.deepEqual(ok("[::1]:9712"), { kind: "tcp", host: "::1", port: 9712, loopback: true });
  assert.deepEqual(ok("192.0.2.7:9712"), { kind: "tcp", host: "192.0.2.7", port: 9712, loopback: false });
  assert.deepEqual(ok("0.0.0.0:9712"), { kind: "tcp", host: "0.0.0.0", port: 9712, loopback: false });
  assert.deepEqual(ok("unix:/run/iked/metrics.sock"), { kind: "unix", path: "/run/iked/metrics.sock" });
  assert.deepEqual(ok("off"), { kind: "off" });
  for (const [bad, why] of [
    [":9712", /name the address/], ["gw.example.com:9712", /not an IP address/], ["::1:9712", /brackets/], ["[gw]:1", /not an IPv6/],
    ["70000", /out of range/], ["127.0.0.1:", /port number/], ["unix:relative", /absolute/], [`unix:/${"x".repeat(200)}`, /usable/], ["", /port number/],
  ] as const) {
    const r = parseMetricsSetting(bad);
    assert.ok(!r.ok, bad);
    if (!r.ok) assert.match(r.message, why, bad);
  }
  assert.ok(isLoopbackAddress("::ffff:127.0.0.1") && !isLoopbackAddress("::ffff:10.0.0.1") && !isLoopbackAddress("::"));
  assert.equal(formatMetricsSetting(ok("[::1]:9")), "[::1]:9");
});

test("a non-loopback address is warned about; loopback, unix and off are not", () => {
  assert.match(metricsExposureWarning(parseOk("192.0.2.7:9712")) ?? "", /non-loopback address 192\.0\.2\.7: it has no authentication/);
  assert.match(metricsExposureWarning(parseOk("[::]:9712")) ?? "", /every address/);
  for (const t of ["9712", "[::1]:9", "unix:/x", "off"]) assert.equal(metricsExposureWarning(parseOk(t)), undefined, t);
});

function parseOk(t: string) {
  const r = parseMetricsSetting(t);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

test("ike.config metrics: an extension keyword at file level, checked with file:line:col, written back", () => {
  const good = parseIkeConfig('metrics "127.0.0.1:9712"\n', "cfg");
  assert.ok(good.ok);
  assert.deepEqual(good.value.globals.metrics, { kind: "tcp", host: "127.0.0.1", port: 9712, loopback: true });
  assert.match(formatIkeConfig(good.value), /^metrics "127\.0\.0\.1:9712"$/m);
  const again = parseIkeConfig(formatIkeConfig(good.value), "cfg2");
  assert.deepEqual(again.value.globals.metrics, good.value.globals.metrics);

  const bad = parseIkeConfig("\nmetrics gw.example.com:80\n", "cfg");
  assert.ok(!bad.ok);
  assert.deepEqual(bad.diagnostics.map((d) => [d.severity, d.line, d.col, d.code]), [["error", 2, 9, "IKE_ERR_CFG_BAD_VALUE"]]);
  assert.match(bad.diagnostics[0]!.message, /not an IP address/);

  const exposed = parseIkeConfig("metrics 192.0.2.7:9712\n", "cfg");
  assert.ok(exposed.ok);
  assert.deepEqual(exposed.diagnostics.map((d) => [d.severity, d.code]), [["warning", "IKE_ERR_CFG_METRICS_EXPOSED"]]);

  const inRule = parseIkeConfig('{ label "r" local_addr 10.0.0.1 remote_addr 10.0.0.2 metrics 9712 p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes } }\n', "cfg");
  assert.ok(!inRule.ok, "metrics is a file-level keyword");
  const twice = parseIkeConfig("metrics 1\nmetrics 2\n", "cfg");
  assert.ok(!twice.ok && twice.diagnostics.some((d) => d.code === "IKE_ERR_CFG_DUPLICATE"));
});

test("in.iked --metrics, --foreground, --log-format", () => {
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = parseDaemonOptions(argv, env);
    assert.equal(r.kind, "run", JSON.stringify(r));
    return r.kind === "run" ? r.options : undefined!;
  };
  assert.equal(run([]).metrics, undefined, "off by default");
  assert.deepEqual(run(["--metrics", "9100"]).metrics, { kind: "tcp", host: "127.0.0.1", port: 9100, loopback: true });
  assert.deepEqual(run(["--metrics=off"]).metrics, { kind: "off" });
  const bad = parseDaemonOptions(["--metrics", "gw.example.com:9100"], {});
  assert.equal(bad.kind, "error");
  assert.match(bad.kind === "error" ? bad.message : "", /--metrics 'gw\.example\.com:9100': 'gw\.example\.com' is not an IP address/);

  const fg = run(["--foreground", "-f", "/x/config"]);
  assert.equal(fg.foreground, true);
  assert.equal(fg.debugLevel, 0x4, "--foreground leaves the debug level alone");
  assert.equal(fg.configFile, "/x/config", "--foreground takes no value");
  assert.equal(run(["-d"]).debugLevel, 0x7ff);
  assert.equal(run([]).logFormat, "pretty");
  assert.equal(run(["--log-format", "json"]).logFormat, "json");
  assert.equal(parseDaemonOptions(["--log-format", "xml"], {}).kind, "error");
  // JOURNAL_STREAM naming another stream than our stderr: not the journal.
  assert.equal(run([], { JOURNAL_STREAM: "1:1" }).logFormat, "pretty");
});

test("journal lines: JSON behind the syslog priority of its level", () => {
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2]);
  assert.equal(journalLine('{"level":40,"sub":"ike","msg":"x"}'), '<4>{"level":40,"sub":"ike","msg":"x"}\n');
  assert.equal(journalLine('{"level":20,"cat":"phase1","msg":"y"}\n'), '<7>{"level":20,"cat":"phase1","msg":"y"}\n');
  assert.equal(journalStreamIsStderr({}), false);
  assert.equal(journalStreamIsStderr({ JOURNAL_STREAM: "garbage" }), false);
});
