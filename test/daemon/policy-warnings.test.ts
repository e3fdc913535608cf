/**
 * Weak algorithms in ipsecinit.conf (des, md5) are warned about where an operator looks (issue 11
 * item 9): by `in.iked -c`, which reads the IPsec policy file like the daemon and counts its
 * errors too, and in the daemon's log each time the policy loads (start and SIGHUP reload).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { Daemon } from "../../src/daemon/daemon.js";
import { ikeServiceFactory } from "../../src/daemon/ike-service.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { IN_IKED, makeRoot, run } from "./harness.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function rootWith(policy: string | undefined): { root: string; file: string } {
  const root = makeRoot();
  roots.push(root);
  const file = path.join(root, "etc/inet/ipsecinit.conf");
  if (policy !== undefined) fs.writeFileSync(file, policy);
  return { root, file };
}

const WEAK = [
  "{ raddr 127.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha256 }",
  "{ raddr 127.0.0.3 } ipsec { encr_algs des encr_auth_algs md5 }",
].join("\n");

test("in.iked -c prints each weak policy entry with file:line and passes the file", async () => {
  const { root, file } = rootWith(WEAK);
  const res = await run(IN_IKED, ["-c", "--root", root]);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(res.stderr.includes(`${file}:2: warning: policy entry 2 uses weak encr_algs des (56-bit key), encr_auth_algs md5 (MD5)`), res.stderr);
  assert.match(res.stdout, new RegExp(`^${file.replace(/[.]/g, "\\.")}: 2 policy entries$`, "m"));
  assert.match(res.stdout, /configuration OK/);
});

test("in.iked -c counts IPsec policy errors and fails", async () => {
  const { root, file } = rootWith("{ raddr 127.0.0.2 } ipsec { encr_algs aes }\n{ raddr nowhere.invalid } ipsec { encr_algs rot13 }\n");
  const res = await run(IN_IKED, ["-c", "--root", root]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`^${file.replace(/[.]/g, "\\.")}:2:\\d+: `, "m"));
  assert.match(res.stderr, /configuration check failed \(\d+ errors?\)/);
  assert.doesNotMatch(res.stdout, /configuration OK/);
});

test("in.iked -c without ipsecinit.conf says Quick Mode will be refused, and passes", async () => {
  const { root, file } = rootWith(undefined);
  const res = await run(IN_IKED, ["-c", "--root", root]);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(res.stdout.includes(`${file}: not found; Quick Mode will be refused`), res.stdout);
});

test("the daemon logs the weak entries when the policy loads, at start and on reload", async () => {
  const { root, file } = rootWith(WEAK);
  const log = path.join(root, "d.log");
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"], { debug_logfile: log });
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  const d = await Daemon.start(parsed.options, { engineFactory: ikeServiceFactory });
  try {
    const warning = `${file}:2: warning: policy entry 2 uses weak encr_algs des`;
    assert.equal(fs.readFileSync(log, "utf8").split(warning).length - 1, 1, "one warning at start");
    fs.writeFileSync(file, `${WEAK}\n{ raddr 127.0.0.4 } ipsec { auth_algs md5 }\n`);
    assert.equal(await d.reload(), true);
    const text = fs.readFileSync(log, "utf8");
    assert.equal(text.split(warning).length - 1, 2, "again on reload");
    assert.ok(text.includes(`${file}:3: warning: policy entry 3 uses weak auth_algs`), "the new entry too");
  } finally {
    await d.stop();
  }
});
