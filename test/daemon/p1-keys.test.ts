/**
 * Phase 1 keying material through the real admin socket, at each privilege level (reference
 * ikeadm.md sections 3.6 and 4): two compiled in.iked processes negotiate; at keymat (2) `get|dump
 * p1` carry SKEYID, SKEYID_d/a/e, Ka and the IV (both ends agree on every byte), `ikeadm -p`
 * masks them, and `--keys-file` holds `icookie,Ka`; lowered to modkeys (1) and base (0), no reply
 * carries any of those bytes. Also the startup refusals of `--keys-file`.
 *
 * Addresses and ports (shared machine): 127.0.6.12 / 127.0.6.13, UDP 16030-16033, 16040-16041.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { AdminClient } from "../../src/control/client.js";
import type { AdminRequest } from "../../src/control/messages.js";
import type { ListResult, P1KeysView, P1View, SadbView } from "../../src/control/results.js";
import { IN_IKED, ikeadm, makeRoot, rootPath, run, startDaemon, type RunningDaemon } from "./harness.js";
import { poll } from "../helpers/wait.js";

const A = "127.0.6.12";
const B = "127.0.6.13";
const PORT_A = 16030;
const PORT_B = 16032;
const PSK = "daemon-p1-keys-test";

const rule = (local: string, remote: string, remotePort: number) =>
  `p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(256..256) }\n{\n  label "to ${remote}"\n  local_addr ${local}\n  remote_addr ${remote}\n  remote_port ${remotePort}\n}\n`;
const psk = (local: string, remote: string) => `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key "${PSK}"\n}\n`;
const policy = (peer: string) => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function daemon(local: string, remote: string, port: number, remotePort: number, extra: string[]): Promise<{ root: string; d: RunningDaemon }> {
  const root = makeRoot(rule(local, remote, remotePort), psk(local, remote));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), policy(remote));
  const d = await startDaemon(root, ["--port", String(port), "--natt-port", String(port + 1), ...extra]);
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }), () => d.stop());
  return { root, d };
}

/** One request on the admin socket, the raw reply as the daemon sent it. */
async function raw(root: string, req: AdminRequest): Promise<{ ok: boolean; result?: unknown; text: string }> {
  const c = await AdminClient.connect(rootPath.socket(root));
  try {
    const r = await c.request(req);
    return { ok: r.ok, ...(r.ok ? { result: r.result } : {}), text: JSON.stringify(r) };
  } finally {
    c.close();
  }
}

const mature = async (root: string) => ((await raw(root, { cmd: "dump_sadb" })).result as ListResult<SadbView>).items.filter((s) => s.state === "mature").length;
const p1s = async (root: string) => ((await raw(root, { cmd: "dump_p1" })).result as ListResult<P1View>).items;

test("KEY: material at keymat only, equal at both ends, masked by -p, in the keys file; nothing at modkeys or base", { timeout: 90_000 }, async () => {
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-keys-"));
  cleanups.push(() => fs.rmSync(keysDir, { recursive: true, force: true }));
  const keysFile = path.join(keysDir, "p1keys.csv");
  const b = await daemon(B, A, PORT_B, PORT_A, ["-p", "keymat"]);
  const a = await daemon(A, B, PORT_A, PORT_B, ["-p", "keymat", "--keys-file", keysFile]);
  assert.equal(fs.statSync(keysFile).mode & 0o777, 0o600);

  const acq = await ikeadm(a.root, ["acquire", A, B, "proto", "tcp", "dport", "22"]);
  assert.equal(acq.code, 0, acq.stderr + acq.stdout);
  await poll(async () => (await mature(a.root)) === 2 && (await mature(b.root)) === 2, "both ends' IPsec SAs");

  // Level 2: both ends send the keys, and they agree on every byte (RFC 2409: same SKEYID*, Ka, IV).
  const [pa] = await p1s(a.root);
  const [pb] = await p1s(b.root);
  assert.ok(pa?.keys && pb?.keys, "keys at keymat");
  assert.deepEqual(pa.keys, pb.keys);
  const k: P1KeysView = pa.keys;
  assert.deepEqual(
    [k.skeyidHex, k.skeyidDHex, k.skeyidAHex, k.skeyidEHex, k.encKeyHex, k.ivHex].map((h) => h.length / 2),
    [20, 20, 20, 20, 32, 16],
    "SHA-1 SKEYIDs, AES-256 Ka (expanded per RFC 2409 appendix B), one AES block of IV",
  );
  const secrets = [k.skeyidHex, k.skeyidDHex, k.skeyidAHex, k.skeyidEHex, k.encKeyHex];

  // The keys file: one line for the SA, icookie and Ka, mode 0600.
  assert.equal(fs.readFileSync(keysFile, "utf8"), `${pa.icookie},${k.encKeyHex}\n`);
  assert.equal(fs.statSync(keysFile).mode & 0o777, 0o600);

  // Text: the original's KEY: lines; -p masks each byte, in text and in JSON.
  const text = (await ikeadm(a.root, ["get", "p1", A, B])).stdout;
  assert.match(text, new RegExp(`^KEY:   SKEYID \\(20 bytes\\): ${k.skeyidHex}/160$`, "m"));
  assert.match(text, new RegExp(`^KEY:   SKEYID_d \\(20 bytes\\): ${k.skeyidDHex}/160$`, "m"));
  assert.match(text, new RegExp(`^KEY:   SKEYID_a \\(20 bytes\\): ${k.skeyidAHex}/160$`, "m"));
  assert.match(text, new RegExp(`^KEY:   SKEYID_e \\(20 bytes\\): ${k.skeyidEHex}/160$`, "m"));
  assert.match(text, new RegExp(`^KEY:   Encryption key \\(32 bytes\\): ${k.encKeyHex}/256$`, "m"));
  assert.match(text, new RegExp(`^KEY:   Initialization vector \\(16 bytes\\): ${k.ivHex}/128$`, "m"));
  const masked = (await ikeadm(a.root, ["-p", "dump", "p1"])).stdout;
  assert.match(masked, /^KEY:   Encryption key \(32 bytes\): (XX){32}\/256$/m);
  assert.equal(masked.match(/^KEY: /gm)?.length, 6);
  const maskedJson = (await ikeadm(a.root, ["-p", "--json", "dump", "p1"])).stdout;
  for (const s of [...secrets, k.ivHex]) assert.ok(!maskedJson.includes(s), "-p --json masks every key field");
  assert.match(maskedJson, /"encKeyHex": "(XX){32}"/);

  // Levels 1 and 0: no key byte in any reply (get p1, dump p1, dump sadb), over the raw socket.
  for (const level of ["modkeys", "base"] as const) {
    assert.equal((await ikeadm(b.root, ["set", "priv", level])).code, 0);
    for (const req of [{ cmd: "dump_p1" }, { cmd: "get_p1", id: { kind: "addr", local: B, remote: A } }] satisfies AdminRequest[]) {
      const r = await raw(b.root, req);
      assert.ok(r.ok, r.text);
      const items = (r.result as ListResult<P1View>).items;
      assert.equal(items.length, 1);
      assert.equal(items[0]!.keys, undefined, `${level}: ${req.cmd} has no keys`);
      for (const s of secrets) assert.ok(!r.text.includes(s), `${level}: ${req.cmd} carries no key bytes`);
    }
    const sadb = await raw(b.root, { cmd: "dump_sadb" });
    assert.ok(!/KeyHex/.test(sadb.text), `${level}: dump sadb carries no keys`);
    assert.doesNotMatch((await ikeadm(b.root, ["dump", "p1"])).stdout, /KEY:/);
  }

  // A lowered to base writes no more lines: a new SA after a flush leaves the file as it was.
  assert.equal((await ikeadm(a.root, ["set", "priv", "base"])).code, 0);
  assert.equal((await ikeadm(a.root, ["flush", "p1"])).code, 0);
  await poll(async () => (await p1s(b.root)).length === 0, "B to drop the flushed SA");
  assert.equal((await ikeadm(a.root, ["acquire", A, B, "proto", "udp"])).code, 0);
  await poll(async () => (await p1s(a.root)).some((p) => p.state === "ACTIVE"), "a second Phase 1 SA");
  await a.d.waitFor("no more lines in the keys file");
  assert.equal(fs.readFileSync(keysFile, "utf8"), `${pa.icookie},${k.encKeyHex}\n`);
  // Nothing key-related reached the daemons' logs either.
  for (const s of secrets) assert.ok(!a.d.output().includes(s) && !b.d.output().includes(s), "no key bytes in the logs");
});

test("--keys-file refusals: without -p keymat, a file others can read, a symbolic link", { timeout: 60_000 }, async () => {
  const root = makeRoot(rule(A, B, PORT_B), psk(A, B));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const base = ["-d", "--root", root, "--kernel", "memory", "--workers", "0", "--port", "16040", "--natt-port", "16041"];
  const noPriv = await run(IN_IKED, [...base, "--keys-file", path.join(root, "k")]);
  assert.equal(noPriv.code, 1);
  assert.match(noPriv.stderr, /--keys-file writes Phase 1 encryption keys and is allowed only at privilege keymat/);

  const open = path.join(root, "open.csv");
  fs.writeFileSync(open, "", { mode: 0o644 });
  fs.chmodSync(open, 0o644);
  const readable = await run(IN_IKED, [...base, "-p", "keymat", "--keys-file", open]);
  assert.equal(readable.code, 1);
  assert.match(readable.stderr, /--keys-file .*open\.csv: mode 644 lets others read it/);

  const link = path.join(root, "link.csv");
  fs.symlinkSync(open, link);
  const linked = await run(IN_IKED, [...base, "-p", "keymat", "--keys-file", link]);
  assert.equal(linked.code, 1);
  assert.match(linked.stderr, /--keys-file .*link\.csv: is a symbolic link/);
  assert.equal(fs.readFileSync(open, "utf8"), "", "nothing written through the link");
});
