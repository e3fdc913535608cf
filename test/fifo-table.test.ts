/**
 * FifoTable (src/fifo-table.ts): bounded, oldest first out, O(1) eviction whatever was deleted
 * before; the tables a flood fills (embryonic exchanges, amplification accounts, the ldap_server
 * cache) are built on it, some bounded by weight (bytes) too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { FifoTable } from "../src/fifo-table.js";

test("the oldest live entry goes first when full; deleted and replaced entries are skipped", () => {
  const t = new FifoTable<number>(3);
  assert.equal(t.add("a", 1), 0);
  t.add("b", 2);
  t.add("c", 3);
  t.delete("a");
  assert.equal(t.size, 2);
  assert.equal(t.oldest(), 2);
  t.add("d", 4);
  assert.equal(t.add("e", 5), 1, "b evicted");
  assert.equal(t.get("b"), undefined);
  t.add("c", 33);
  assert.equal(t.oldest(), 4, "c was replaced: its old place in line is stale");
  assert.equal(t.add("f", 6), 1);
  assert.equal(t.get("d"), undefined);
  assert.deepEqual(["c", "e", "f"].map((k) => t.get(k)), [33, 5, 6]);
  t.shift();
  assert.equal(t.get("e"), undefined);
  assert.equal(t.oldest(), 33, "c is next: it was re-added after e");
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.oldest(), undefined);
});

test("a million insertions and deletions keep the size bounded and the order right", () => {
  const t = new FifoTable<number>(1000);
  let evicted = 0;
  for (let i = 0; i < 1_000_000; i++) {
    evicted += t.add(`k${i}`, i);
    if (i % 3 === 0) t.delete(`k${i - 500}`);
  }
  assert.ok(t.size <= 1000 && t.size >= 999, `size ${t.size}`);
  assert.ok(evicted > 600_000);
  const first = t.oldest()!;
  assert.ok(first >= 1_000_000 - 1500 && first < 1_000_000 - 999, `oldest ${first}`);
});

test("a weighted table keeps its total weight under its bound, the oldest going first; deletes and replacements give weight back", () => {
  const t = new FifoTable<string>(100, 10, (v) => v.length);
  t.add("a", "xxxx");
  t.add("b", "xxx");
  assert.equal(t.weight, 7);
  assert.equal(t.add("c", "xxxx"), 1, "a went to make room");
  assert.equal(t.get("a"), undefined);
  assert.equal(t.weight, 7);
  t.add("b", "x");
  assert.equal(t.weight, 5, "b's old weight given back");
  t.delete("c");
  t.delete("c");
  assert.equal(t.weight, 1);
  assert.equal(t.add("d", "x".repeat(11)), 0, "heavier than the bound alone: d is not held, and pushes nothing out");
  assert.equal(t.get("d"), undefined);
  assert.equal(t.get("b"), "x");
  assert.equal(t.weight, 1);
  t.add("b", "x".repeat(11));
  assert.equal(t.get("b"), undefined, "too heavy a replacement: the key holds nothing");
  assert.equal(t.size, 0);
  assert.equal(t.weight, 0);
  t.add("e", "xx");
  t.shift();
  assert.equal(t.weight, 0);
  t.add("f", "xx");
  t.clear();
  assert.equal(t.weight, 0);
});

test("the queue keeps no value alive: an evicted, deleted or replaced entry is garbage at once", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const t = new FifoTable<object>(4);
  // Filled in a function of its own, so no value lingers in this one's suspended frame.
  const fill = (): WeakRef<object>[] => Array.from({ length: 12 }, (_, i) => {
    const v = { i };
    t.add(`k${i}`, v);
    return new WeakRef(v);
  });
  const refs = fill();
  t.delete("k10");
  t.add("k11", { i: 111 });
  // WeakRefs hold their targets until the job that made them ends.
  await new Promise((r) => setImmediate(r));
  gc();
  const alive = refs.map((r, i) => (r.deref() !== undefined ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(alive, [8, 9], "only the live entries' values remain");
  assert.equal(t.size, 3);
});
