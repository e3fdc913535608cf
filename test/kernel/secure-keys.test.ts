import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_KEY_BYTES, SecureKeyStore } from "../../src/kernel/secure-keys.js";

test("slots are zeroed on free and reused only after", () => {
  const store = new SecureKeyStore();
  const a = store.allocate(20);
  assert.ok(a.every((x) => x === 0));
  a.fill(0xaa);
  const b = store.allocate(20);
  assert.notEqual(a.byteOffset, b.byteOffset);
  store.free(a);
  assert.ok(a.every((x) => x === 0));
  const c = store.allocate(24);
  assert.equal(c.byteOffset, a.byteOffset, "the freed slot is reused");
  assert.equal(store.live, 2);
  store.destroy();
  assert.equal(store.live, 0);
});

test("double free, foreign buffers and bad lengths are refused", () => {
  const store = new SecureKeyStore();
  const a = store.allocate(32);
  store.free(a);
  assert.throws(() => store.free(a), /double free/);
  assert.throws(() => store.free(Buffer.alloc(32)), /did not allocate/);
  assert.throws(() => store.allocate(0), RangeError);
  assert.throws(() => store.allocate(MAX_KEY_BYTES + 1), RangeError);
  assert.equal(store.allocate(MAX_KEY_BYTES).length, MAX_KEY_BYTES);
  store.destroy();
});

test("many keys fit without one mapping per key", () => {
  const store = new SecureKeyStore();
  const keys = Array.from({ length: 50_000 }, () => store.allocate(32));
  assert.equal(new Set(keys.map((k) => k.buffer)).size, Math.ceil(50_000 / (65536 / 32)));
  for (const k of keys) store.free(k);
  assert.equal(store.live, 0);
  store.destroy();
});

test("a slot can be freed through a new view of the same memory (the SADB keeps no view), once", () => {
  const store = new SecureKeyStore();
  const slot = store.allocate(36);
  slot.fill(0x5a);
  const again = Buffer.from(slot.buffer, slot.byteOffset, slot.length);
  assert.notEqual(again, slot);
  store.free(again);
  assert.ok(slot.every((x) => x === 0), "zeroed through the other view");
  assert.equal(store.live, 0);
  assert.throws(() => store.free(Buffer.from(slot.buffer, slot.byteOffset, slot.length)), /double free/);
  store.destroy();
});
