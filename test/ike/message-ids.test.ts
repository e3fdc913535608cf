import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MESSAGE_ID_LIMIT, MessageIdSet } from "../../src/ike/message-ids.js";

test("MessageIdSet answers like a Set for random IDs, however many (no window forgets old ones)", () => {
  const ids = new MessageIdSet();
  const ref = new Set<number>();
  const buf = randomBytes(4 * 5000);
  for (let i = 0; i < 5000; i++) {
    // Some repeats, the extremes of the 32-bit range included.
    const mid = i % 7 === 0 && i > 0 ? [...ref][i % ref.size]! : i === 1 ? 0xffff_ffff : buf.readUInt32BE(i * 4);
    assert.equal(ids.add(mid), true);
    ref.add(mid >>> 0);
  }
  assert.equal(ids.size, ref.size);
  for (const mid of ref) assert.ok(ids.has(mid));
  for (let i = 0; i < 2000; i++) {
    const probe = randomBytes(4).readUInt32BE(0);
    assert.equal(ids.has(probe), ref.has(probe));
  }
  // A negative number is the same 32-bit ID.
  assert.ok(ids.has(-1));
});

test("MessageIdSet refuses a new ID once full, still knows every old one", () => {
  const ids = new MessageIdSet(40);
  for (let i = 0; i < 40; i++) assert.equal(ids.add(1000 - i * 3), true);
  assert.equal(ids.add(5), false, "full");
  assert.equal(ids.add(1000), true, "an ID it has is still fine");
  assert.equal(ids.size, 40);
  for (let i = 0; i < 40; i++) assert.ok(ids.has(1000 - i * 3));
  assert.equal(ids.has(5), false);
  assert.equal(MESSAGE_ID_LIMIT, 65_536);
});

test("MessageIdSet across its change from a plain array to a typed one: every ID kept, in any insertion order", () => {
  for (const order of ["ascending", "descending", "alternating"] as const) {
    const ids = new MessageIdSet();
    const all: number[] = [];
    for (let i = 0; i < 40; i++) {
      const n = order === "ascending" ? i : order === "descending" ? 39 - i : i % 2 === 0 ? i : 80 - i;
      const mid = (0x8000_0000 + n * 0x0101_0101) >>> 0; // above 2^31 too: no sign trouble
      assert.equal(ids.add(mid), true);
      all.push(mid);
      assert.equal(ids.size, all.length, `${order} ${i}`);
      for (const m of all) assert.ok(ids.has(m), `${order}: ${m} after ${i + 1} adds`);
      assert.equal(ids.has((mid + 1) >>> 0), all.includes((mid + 1) >>> 0));
    }
  }
});

test("MessageIdSet keeps its first ID without an array (a held SA has used one), then an array of two in order", () => {
  for (const [first, second] of [[0xfffffff0, 7], [7, 0xfffffff0], [-1, 0]] as const) {
    const ids = new MessageIdSet();
    assert.equal(ids.storage, "none");
    assert.equal(ids.has(first), false);
    assert.equal(ids.add(first), true);
    assert.equal(ids.storage, "one", "the one ID itself");
    assert.equal(ids.size, 1);
    assert.ok(ids.has(first));
    assert.ok(ids.has(first >>> 0), "the same ID unsigned");
    assert.equal(ids.has(second), false);
    assert.equal(ids.has((first + 1) >>> 0), false);
    assert.equal(ids.add(first), true, "again: already there");
    assert.equal(ids.size, 1);
    assert.equal(ids.add(second), true);
    assert.equal(ids.storage, "array");
    assert.equal(ids.size, 2);
    assert.ok(ids.has(first) && ids.has(second));
    assert.equal(ids.has(3), false);
  }
  const one = new MessageIdSet(1);
  assert.equal(one.add(5), true);
  assert.equal(one.add(6), false, "a limit of one: full after the first");
  assert.ok(one.has(5) && !one.has(6));
});
