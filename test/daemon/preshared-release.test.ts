/**
 * The daemon releases pre-shared key sets it no longer uses: a reload zeroes the old keys, a
 * refused reload or `ikeadm add|read` keeps nothing it parsed, `ikeadm del` zeroes only the
 * removed keys, shutdown zeroes the rest, and `in.iked -c` exits with no slab slot in use.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { isSecureKey } from "../../src/config/index.js";
import { slabAllocate, slabFreeSlots, slabRelease } from "../../src/crypto/secure-slab.js";
import { presharedCommands } from "../../src/daemon/admin-config.js";
import { Daemon } from "../../src/daemon/daemon.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { GOOD_PRESHARED, IN_IKED, makeRoot, PSK_KEY_HEX, rootPath, run } from "./harness.js";

const PRELOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "slab-at-exit.js");
const zero = (b: Buffer): boolean => b.every((x) => x === 0);
const entry = (remote: string, key: string): string => `{ localid 127.0.0.1 remoteid ${remote} key ${key} }\n`;

/** Free 64-byte slots, with at least 16 free beforehand so that parsing does not grow the slab. */
function free64(): number {
  const held = Array.from({ length: 16 }, () => slabAllocate(1)!);
  for (const b of held) slabRelease(b);
  return slabFreeSlots()[64]!;
}

test("reload, refused reload, ikeadm add/del/read and stop release exactly the keys no longer used", async () => {
  const root = makeRoot();
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0"], { debug_logfile: path.join(root, "d.log") });
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  const baseline = free64();
  const d = await Daemon.start(parsed.options);
  const live = d.live;
  const k1 = live.current.preshared[0]!.key;
  assert.ok(isSecureKey(k1));
  assert.equal(k1.toString("hex"), PSK_KEY_HEX);
  assert.equal(slabFreeSlots()[64], baseline - 1);

  fs.writeFileSync(rootPath.preshared(root), GOOD_PRESHARED.replace(PSK_KEY_HEX, "cafebabe"), { mode: 0o600 });
  assert.equal(await d.reload(), true);
  const k2 = live.current.preshared[0]!.key;
  assert.equal(k2.toString("hex"), "cafebabe");
  assert.ok(zero(k1) && !isSecureKey(k1), "the replaced key is zeroed and released");
  assert.equal(slabFreeSlots()[64], baseline - 1);

  // One good entry next to a bad one: the reload is refused and the good key is not kept.
  fs.writeFileSync(rootPath.preshared(root), entry("127.0.0.5", "01020304") + entry("bad address", "0506"), { mode: 0o600 });
  assert.equal(await d.reload(), false);
  assert.equal(slabFreeSlots()[64], baseline - 1);
  const bad = await presharedCommands.read(live, rootPath.preshared(root));
  assert.equal(bad.ok, false);
  assert.equal(slabFreeSlots()[64], baseline - 1);

  const added = presharedCommands.add(live, entry("127.0.0.9", "0909"), "test");
  assert.equal(added.ok, true);
  assert.equal(live.current.preshared.length, 2);
  assert.equal(k2.toString("hex"), "cafebabe", "the entries the new set shares keep their keys");
  assert.equal(slabFreeSlots()[64], baseline - 2);
  assert.equal(presharedCommands.add(live, entry("127.0.0.9", "0a0a"), "test").ok, false, "duplicate");
  assert.equal(slabFreeSlots()[64], baseline - 2);

  const k3 = live.current.preshared[1]!.key;
  assert.equal(presharedCommands.del(live, { kind: "addr", local: "127.0.0.1", remote: "127.0.0.2" }).ok, true);
  assert.ok(zero(k2), "the deleted key is zeroed");
  assert.equal(k3.toString("hex"), "0909");
  assert.equal(slabFreeSlots()[64], baseline - 1);

  await d.stop();
  assert.ok(zero(k3), "shutdown zeroes the last keys");
  assert.equal(slabFreeSlots()[64], baseline);
  fs.rmSync(root, { recursive: true, force: true });
});

test("in.iked -c leaves no secure slab slot in use", async () => {
  const root = makeRoot();
  fs.appendFileSync(rootPath.preshared(root), entry("127.0.0.3", "ab".repeat(100)));
  const res = await run(IN_IKED, ["-c", "--root", root], { env: { NODE_OPTIONS: `--import ${pathToFileURL(PRELOAD).href}` } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /2 pre-shared keys; configuration OK/);
  const line = /SLAB_FREE (\{.*\})/.exec(res.stderr);
  assert.ok(line, res.stderr);
  const free = JSON.parse(line[1]!) as Record<string, number>;
  // A key was allocated in the 64- and 128-byte classes (one arena each), and every slot is back.
  assert.equal(free["64"], 65536 / 64);
  assert.equal(free["128"], 65536 / 128);
  for (const [size, n] of Object.entries(free)) assert.equal(n % (65536 / Number(size)), 0, `slots of ${size} bytes still in use`);
  fs.rmSync(root, { recursive: true, force: true });
});
