/**
 * An ipsecinit.conf that exists but cannot be read is an error of the file, like a syntax error;
 * only a file that does not exist means "no IPsec policy". Before, a reload that met an unreadable
 * file took it for a missing one and emptied the policy (and with a real kernel the daemon's SPD,
 * letting protected traffic go in the clear). Now: `in.iked -c` fails, start-up runs without a
 * policy (as with an invalid file: in.iked(8)), and a reload is refused with the running policy
 * kept. Root reads past chmod 000, so the file is made unreadable in three ways that stop root too:
 * a directory in its place ("not a regular file"), a symlink to itself (ELOOP) and a symlink whose
 * target is gone (ENOENT, but the name is there: not a missing file). The same
 * reload in a real kernel's SPD: test/kernel/daemon-host.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { IN_IKED, makeRoot, run, startDaemon } from "./harness.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

const GOOD = "{ raddr 127.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha256 }\n";

function rootWithPolicy(): { root: string; file: string } {
  const root = makeRoot();
  roots.push(root);
  const file = path.join(root, "etc/inet/ipsecinit.conf");
  fs.writeFileSync(file, GOOD);
  return { root, file };
}

/** The two unreadable forms, each with the error the daemon logs for it. */
const UNREADABLE: { name: string; make: (file: string) => void; error: (file: string) => string }[] = [
  { name: "a directory", make: (f) => fs.mkdirSync(f), error: (f) => `${f}:1:1: not a regular file` },
  { name: "a symlink loop", make: (f) => fs.symlinkSync(path.basename(f), f), error: (f) => `${f}:1:1: cannot read policy file (ELOOP)` },
  // A link into a configuration volume that is not mounted: ENOENT, but the file is there.
  { name: "a dangling symlink", make: (f) => fs.symlinkSync(path.join(path.dirname(f), "unmounted", "ipsecinit.conf"), f), error: (f) => `${f}:1:1: cannot read policy file (dangling symbolic link: ENOENT)` },
];

function replaceWith(file: string, make: (file: string) => void): void {
  fs.rmSync(file, { recursive: true, force: true });
  make(file);
}

for (const u of UNREADABLE) {
  test(`in.iked -c fails on a policy file that is ${u.name}, naming it`, async () => {
    const { root, file } = rootWithPolicy();
    replaceWith(file, u.make);
    const res = await run(IN_IKED, ["-c", "--root", root, "--kernel", "memory"]);
    assert.equal(res.code, 1, res.stderr);
    assert.ok(res.stderr.includes(u.error(file)), res.stderr);
    assert.doesNotMatch(res.stdout, /configuration OK/);
  });

  test(`a policy file that is ${u.name} at start: the daemon runs without a policy, the error logged as for an invalid file`, async () => {
    const { root, file } = rootWithPolicy();
    replaceWith(file, u.make);
    const d = await startDaemon(root);
    try {
      await d.waitFor("IKE engine started");
      assert.ok(d.output().includes(u.error(file)), d.output());
      assert.match(d.output(), /IPsec policy refused: Quick Mode is refused/);
      assert.doesNotMatch(d.output(), /no IPsec policy file/);
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });
}

test("a reload that finds the policy file unreadable is refused and keeps the running policy; one that finds it gone removes it", async () => {
  const { root, file } = rootWithPolicy();
  const d = await startDaemon(root);
  try {
    await d.waitFor("IPsec policy loaded");
    let refusals = 0;
    for (const u of UNREADABLE) {
      replaceWith(file, u.make);
      d.signal("SIGHUP");
      await d.waitFor(new RegExp(`(reload refused: the running configuration stays in effect[\\s\\S]*){${++refusals}}`));
      assert.ok(d.output().includes(u.error(file)), d.output());
      assert.doesNotMatch(d.output(), /IPsec policy file gone|configuration reloaded/, "the running policy stays");
    }
    fs.rmSync(file, { recursive: true, force: true });
    d.signal("SIGHUP");
    await d.waitFor("configuration reloaded");
    assert.match(d.output(), /IPsec policy file gone: Quick Mode is refused from now on/);
  } finally {
    assert.equal(await d.stop(), 0);
  }
});
