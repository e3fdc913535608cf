/**
 * Pre-shared keys in secure memory: the parser puts each key in a slab slot, release zeroes it and
 * gives the slot back, and the keys stay hidden from inspect/JSON.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { isSecureKey, loadPreshared, parsePreshared, releasePreshared, type PresharedEntry } from "../../src/config/index.js";
import { slabAllocate, slabFreeSlots, slabRelease } from "../../src/crypto/secure-slab.js";

const entry = (remote: string, key: string, mode = ""): string =>
  `{ localidtype IP localid 10.0.0.1 remoteidtype IP remoteid ${remote} ${mode} key ${key} }\n`;

/** Free 64-byte slots, after making sure at least `n` are free so parsing does not grow the slab. */
function free64(n = 16): number {
  const held = Array.from({ length: n }, () => slabAllocate(1)!);
  for (const b of held) slabRelease(b);
  return slabFreeSlots()[64]!;
}

const zero = (b: Buffer): boolean => b.every((x) => x === 0);

test("parsed keys live in slab slots with the right bytes; release zeroes them and returns the slots", () => {
  const before = free64();
  const r = parsePreshared(entry("10.0.0.2", "0x0123456789abcdef") + entry("10.0.0.3", '"a secret phrase"') + entry("10.0.0.4", "abc/10"), "t");
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  assert.equal(r.value.length, 3);
  assert.equal(slabFreeSlots()[64], before - 3);
  const [hex, str, bits] = r.value.map((e) => e.key) as [Buffer, Buffer, Buffer];
  assert.equal(hex.toString("hex"), "0123456789abcdef");
  assert.equal(str.toString("latin1"), "a secret phrase");
  assert.equal(bits.toString("hex"), "abc0");
  assert.ok(r.value.every((e) => isSecureKey(e.key)));

  assert.equal(releasePreshared(r.value), 3);
  assert.equal(slabFreeSlots()[64], before);
  assert.ok(zero(hex) && zero(str) && zero(bits), "released keys read all zero");
  assert.ok(r.value.every((e) => !isSecureKey(e.key)));
  assert.equal(releasePreshared(r.value), 0, "a second release is a no-op");
  assert.equal(slabFreeSlots()[64], before);
});

test("a duplicate entry and an entry with errors hold no secure memory", () => {
  const before = free64();
  const dup = parsePreshared(entry("10.0.0.2", "01020304") + entry("10.0.0.2", "05060708"), "t");
  assert.equal(dup.value.length, 1);
  assert.ok(dup.diagnostics.some((d) => d.code === "IKE_ERR_PSK_DUPLICATE"));
  assert.equal(slabFreeSlots()[64], before - 1);
  assert.equal(dup.value[0]!.key.toString("hex"), "01020304");
  releasePreshared(dup.value);

  const bad = parsePreshared(entry("not-an-address", "01020304") + entry("10.0.0.9", "0a0b"), "t");
  assert.equal(bad.ok, false);
  assert.equal(bad.value.length, 1);
  assert.equal(slabFreeSlots()[64], before - 1);
  releasePreshared(bad.value);
  assert.equal(slabFreeSlots()[64], before);
});

test("keys longer than 64 bytes take a larger slot; the 1024-byte maximum fits", () => {
  free64();
  const big = "ab".repeat(1024);
  const r = parsePreshared(entry("10.0.0.2", big), "t");
  assert.equal(r.ok, true);
  const key = r.value[0]!.key;
  assert.equal(key.length, 1024);
  assert.equal(key.toString("hex"), big);
  const free1024 = slabFreeSlots()[1024]!;
  releasePreshared(r.value);
  assert.equal(slabFreeSlots()[1024], free1024 + 1);
  assert.ok(zero(key));
});

test("releasePreshared keeps the keys the new set still shares, and skips keys it did not allocate", () => {
  const before = free64();
  const r = parsePreshared(entry("10.0.0.2", "1111") + entry("10.0.0.3", "2222"), "t");
  const [a, b] = r.value as [PresharedEntry, PresharedEntry];
  assert.equal(releasePreshared(r.value, [b]), 1);
  assert.ok(zero(a.key));
  assert.equal(b.key.toString("hex"), "2222");
  const handMade: PresharedEntry = { ...b, key: Buffer.from("3333", "hex") };
  assert.equal(releasePreshared([b, handMade]), 1);
  assert.equal(handMade.key.toString("hex"), "3333", "a key that is not slab memory is left alone");
  assert.equal(slabFreeSlots()[64], before);
});

test("secure keys stay hidden from inspect and JSON", () => {
  const r = parsePreshared(entry("10.0.0.2", "0x0123456789abcdef"), "t");
  const e = r.value[0]!;
  assert.doesNotMatch(inspect(e), /0123456789abcdef|01 23 45/);
  assert.match(inspect(e), /\[redacted 8-byte key\]/);
  assert.doesNotMatch(JSON.stringify(e), /0123456789abcdef|"data"/);
  assert.match(JSON.stringify(e), /redacted 8-byte key/);
  releasePreshared(r.value);
});

test("loadPreshared returns slab keys from a 0600 file", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-psk-"));
  const file = path.join(dir, "ike.preshared");
  fs.writeFileSync(file, entry("10.0.0.2", "feedface"), { mode: 0o600 });
  const before = free64();
  const r = await loadPreshared(file);
  assert.equal(r.ok, true);
  assert.equal(slabFreeSlots()[64], before - 1);
  assert.ok(isSecureKey(r.value[0]!.key));
  assert.equal(r.value[0]!.key.toString("hex"), "feedface");
  releasePreshared(r.value);
  assert.equal(slabFreeSlots()[64], before);
  fs.rmSync(dir, { recursive: true, force: true });
});
