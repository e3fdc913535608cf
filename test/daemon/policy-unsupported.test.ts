/**
 * An ipsecinit.conf entry the kernel's SPD cannot express (an ICMP type range, a tunnel without
 * known endpoints) fails the file at `in.iked -c`, naming the entry with file:line:col and
 * IKE_ERR_POLICY_UNSUPPORTED's message: the file is applied whole or not at all (issue 11). With
 * `--kernel memory` there is no SPD, and the same file passes. Start-up and reload in a real
 * kernel: test/kernel/daemon-host.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { IN_IKED, makeRoot, run } from "./harness.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function rootWith(policy: string): { root: string; file: string } {
  const root = makeRoot();
  roots.push(root);
  const file = path.join(root, "etc/inet/ipsecinit.conf");
  fs.writeFileSync(file, policy);
  return { root, file };
}

const POLICY = [
  "{ raddr 127.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha256 }",
  "{ ulp icmp type 0-8 } drop {}",
  "  { tunnel ip.tun9 negotiate tunnel raddr 10.2.0.0/16 } ipsec { encr_algs aes encr_auth_algs sha256 }",
].join("\n");

test("in.iked -c fails on entries the kernel cannot express, naming each with file:line:col", async () => {
  const { root, file } = rootWith(POLICY);
  const res = await run(IN_IKED, ["-c", "--root", root]);
  assert.equal(res.code, 1, res.stderr);
  assert.ok(res.stderr.includes(`${file}:2:1: policy entry 2 cannot be put in the kernel: an ICMP type or code range`), res.stderr);
  assert.ok(res.stderr.includes(`${file}:3:3: policy entry 3 cannot be put in the kernel: no endpoints known for tunnel ip.tun9`), res.stderr);
  assert.match(res.stderr, /configuration check failed \(2 errors\)/);
  assert.doesNotMatch(res.stdout, /configuration OK/);
});

test("in.iked -c takes a tunnel name whose ike.config rule gives the endpoints", async () => {
  const { root } = rootWith("{ tunnel ip.tun9 negotiate tunnel raddr 10.2.0.0/16 } ipsec { encr_algs aes encr_auth_algs sha256 }\n");
  const config = path.join(root, "etc/inet/ike/config");
  fs.appendFileSync(config, '{\n\tlabel "ip.tun9"\n\tlocal_addr 127.0.0.1\n\tremote_addr 127.0.0.9\n}\n');
  fs.appendFileSync(path.join(root, "etc/inet/secret/ike.preshared"), "{\n\tlocalidtype IP\n\tlocalid 127.0.0.1\n\tremoteidtype IP\n\tremoteid 127.0.0.9\n\tkey 00112233445566778899aabbccddeeff\n}\n");
  const res = await run(IN_IKED, ["-c", "--root", root]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /configuration OK/);
});

test("in.iked -c --kernel memory (no SPD) passes the same file", async () => {
  const { root } = rootWith(POLICY);
  const res = await run(IN_IKED, ["-c", "--root", root, "--kernel", "memory"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /configuration OK/);
});
