import { test } from "node:test";
import assert from "node:assert/strict";
import { AcquireTable } from "../../src/kernel/acquire-table.js";

test("one pending ACQUIRE per flow until answered or expired", () => {
  const t = new AcquireTable(1000);
  const a = t.open("f1", 0);
  assert.deepEqual(a, { seq: 1, fresh: true });
  assert.deepEqual(t.open("f1", 999), { seq: 1, fresh: false });
  assert.deepEqual(t.open("f2", 0), { seq: 2, fresh: true });
  t.answer(1);
  assert.deepEqual(t.open("f1", 10), { seq: 3, fresh: true });
  assert.deepEqual(t.open("f2", 1000), { seq: 4, fresh: true });
  assert.equal(t.size, 2);
});

test("the table stays bounded: expired entries go first, then the oldest", () => {
  const t = new AcquireTable(1000, 3);
  t.open("a", 0);
  t.open("b", 0);
  t.open("c", 500);
  t.open("d", 1200);
  assert.equal(t.size, 2, "a and b had expired");
  t.open("e", 1200);
  t.open("f", 1200);
  assert.equal(t.size, 3);
  assert.equal(t.open("c", 1201).fresh, true, "c was the oldest and was dropped");
});
