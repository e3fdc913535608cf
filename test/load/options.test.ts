/** ikeload's command line, source ranges and generated rule (src/load/options.ts, sources.ts, policy.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigOk } from "./config-helper.js";
import { encrText, ipsecActionText, isLoopback, parseEndpoint, parseLoadArgs } from "../../src/load/options.js";
import { loadRuleText } from "../../src/load/policy.js";
import { sourceAddresses } from "../../src/load/sources.js";

function ok(args: string[]) {
  const a = parseLoadArgs(args);
  if (!a.ok || a.help) assert.fail(JSON.stringify(a));
  return a.value;
}

function usageError(args: string[]): string {
  const a = parseLoadArgs(args);
  assert.ok(!a.ok, `accepted: ${args.join(" ")}`);
  assert.equal(a.error.code, "IKE_ERR_LOAD_USAGE");
  return a.error.message;
}

test("defaults: closed loop of 8, 100 negotiations, Main Mode aes128/sha1/group 2, Deletes on", () => {
  const o = ok(["--target", "127.0.0.1", "--psk", "k"]);
  assert.deepEqual(o.target, { address: "127.0.0.1", port: 500 });
  assert.deepEqual(o.pacing, { kind: "closed", concurrency: 8 });
  assert.equal(o.sources, 8);
  assert.equal(o.count, 100);
  assert.equal(o.durationMs, undefined);
  assert.equal(o.encr, "aes(128..128)");
  assert.equal(o.hash, "sha1");
  assert.equal(o.dhGroup, 2);
  assert.equal(o.sendDelete, true);
  assert.equal(o.hold, false);
  assert.equal(o.reuseDh, true);
  assert.equal(o.sourcePort, 500);
  assert.deepEqual(o.retransmit, { initMs: 500, maxMs: 4000, limit: 3 });
});

test("rate, duration, ports and transform options", () => {
  const o = ok(["--target", "127.0.4.1:14100", "--rate", "250/s", "--duration", "2.5", "--psk", "k", "--cipher", "3des", "--hash", "sha256", "--dh", "14", "--no-delete", "--json", "--workers", "0"]);
  assert.deepEqual(o.target, { address: "127.0.4.1", port: 14100 });
  assert.deepEqual(o.pacing, { kind: "rate", perSecond: 250 });
  assert.equal(o.count, undefined);
  assert.equal(o.durationMs, 2500);
  assert.equal(o.sources, 64);
  assert.equal(o.encr, "3des");
  assert.equal(o.dhGroup, 14);
  assert.equal(o.sendDelete, false);
  assert.equal(o.hold, false);
  assert.equal(o.json, true);
  assert.equal(o.workers, 0);
  assert.deepEqual(ok(["--target", "[::1]:14000", "--source", "::1", "--psk", "k", "--sources", "8"]).target, { address: "::1", port: 14000 });
});

test("--hold sends no Deletes; --fresh-dh turns DH key pair reuse off", () => {
  const o = ok(["--target", "127.0.0.1", "--psk", "k", "--hold", "--fresh-dh"]);
  assert.equal(o.hold, true);
  assert.equal(o.sendDelete, false);
  assert.equal(o.reuseDh, false);
});

test("--help is not an error", () => {
  const a = parseLoadArgs(["--help"]);
  assert.ok(a.ok && a.help);
});

test("usage errors are values that name the problem", () => {
  assert.match(usageError([]), /--target is required/);
  assert.match(usageError(["--target", "192.0.2.1", "--psk", "k"]), /not a loopback address/);
  assert.ok(parseLoadArgs(["--target", "192.0.2.1", "--psk", "k", "--allow-remote", "--source", "192.0.2.100"]).ok);
  assert.match(usageError(["--target", "127.0.0.1:99999", "--psk", "k"]), /--target/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--rate", "5", "--concurrency", "2"]), /exclude/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--rate", "fast"]), /--rate/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--count", "-1"]), /count/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--concurrency", "10", "--sources", "4"]), /at least as many --sources/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--mode", "quick"]), /--mode/);
  assert.equal(ok(["--target", "127.0.0.1", "--psk", "k", "--mode", "aggressive"]).mode, "aggressive");
  assert.match(usageError(["--target", "127.0.0.1"]), /exactly one of --psk and --preshared/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--preshared", "/x"]), /exactly one/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--bogus"]), /bogus/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--source", "::1"]), /family/);
  assert.match(usageError(["--target", "127.0.0.1", "--psk", "k", "--duration", "0"]), /--duration/);
});

test("usage errors never echo the key", () => {
  const a = parseLoadArgs(["--target", "10.0.0.1", "--psk", "hunter2-secret"]);
  assert.ok(!a.ok);
  assert.ok(!a.error.message.includes("hunter2"));
});

test("endpoints, loopback and cipher shorthand", () => {
  assert.deepEqual(parseEndpoint("127.0.0.2", 500), { address: "127.0.0.2", port: 500 });
  assert.deepEqual(parseEndpoint("::1", 500), { address: "::1", port: 500 });
  assert.equal(parseEndpoint("127.0.0.2:x", 500), undefined);
  assert.equal(parseEndpoint("host.example", 500), undefined);
  assert.equal(isLoopback("127.200.0.1"), true);
  assert.equal(isLoopback("::1"), true);
  assert.equal(isLoopback("10.0.0.1"), false);
  assert.equal(encrText("aes256"), "aes(256..256)");
  assert.equal(encrText("blowfish128"), "blowfish(128..128)");
  assert.equal(encrText("3des"), "3des");
});

test("source ranges", () => {
  const r = sourceAddresses("127.4.0.254", 4);
  assert.ok(r.ok);
  assert.deepEqual(r.value, ["127.4.0.254", "127.4.0.255", "127.4.1.0", "127.4.1.1"]);
  const v6 = sourceAddresses("fd00::fffe", 3);
  assert.ok(v6.ok);
  assert.deepEqual(v6.value, ["fd00:0:0:0:0:0:0:fffe", "fd00:0:0:0:0:0:0:ffff", "fd00:0:0:0:0:0:1:0"]);
  const out = sourceAddresses("127.255.255.250", 10);
  assert.ok(!out.ok && /leave 127/.test(out.message));
  assert.ok(!sourceAddresses("255.255.255.255", 2).ok);
  assert.ok(!sourceAddresses("nope", 1).ok);
});

test("the generated rule parses with the daemon's ike.config parser", () => {
  const text = loadRuleText(
    { encr: "aes(256..256)", hash: "sha256", dhGroup: 14, p1LifetimeSecs: 600, pfsGroup: 5, p2LifetimeSecs: 900, target: { address: "127.0.4.1", port: 14100 } },
    "127.4.0.1",
    "127.4.0.9",
  );
  const c = parseConfigOk(text);
  assert.equal(c.rules.length, 1);
  assert.equal(c.rules[0]!.label, "ikeload");
  assert.match(text, /p2_pfs 5/);
  assert.match(text, /p2_lifetime_secs 900/);
});

test("Phase 2 options become an ipsecinit.conf action from a fixed vocabulary", () => {
  assert.equal(ipsecActionText(undefined, undefined), "encr_algs aes(128..128) encr_auth_algs sha1");
  assert.equal(ipsecActionText("3des-md5", undefined), "encr_algs 3des encr_auth_algs md5");
  assert.equal(ipsecActionText("aes-sha256", undefined), "encr_algs aes encr_auth_algs sha256");
  assert.equal(ipsecActionText(undefined, "sha1"), "auth_algs sha1");
  assert.deepEqual(ipsecActionText("aes128-sha1 } bypass {", undefined), { error: "--esp: not ENC-AUTH (e.g. aes128-sha1): aes128-sha1 } bypass {" });
  assert.ok(typeof ipsecActionText("des128-sha1", undefined) !== "string");
  assert.ok(typeof ipsecActionText("aes128-sha1", "sha1") !== "string");
  assert.ok(typeof ipsecActionText(undefined, "crc32") !== "string");
  const o = ok(["--target", "127.0.0.1", "--psk", "k", "--esp", "aes256-sha512", "--pfs", "14", "--p2-lifetime", "600"]);
  assert.equal(o.phase2, true);
  assert.equal(o.ipsecAction, "encr_algs aes(256..256) encr_auth_algs sha512");
  assert.equal(o.pfsGroup, 14);
  assert.equal(o.p2LifetimeSecs, 600);
  assert.equal(ok(["--target", "127.0.0.1", "--psk", "k", "--phase1-only"]).phase2, false);
});
