import { test } from "node:test";
import assert from "node:assert/strict";
import { pooledRandom } from "../../src/crypto/random-pool.js";

test("pooled random: values of the asked length, each its own memory, never handed out twice, across refills", () => {
  const random = pooledRandom(64);
  const seen = new Set<string>();
  const values: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const n = [4, 16, 8, 1][i % 4]!;
    const v = random(n);
    assert.equal(v.length, n);
    assert.equal(v.byteOffset, 0, "not a view into a pool or Node's slab");
    assert.equal(v.buffer.byteLength, n);
    values.push(v);
    if (n >= 8) {
      const hex = v.toString("hex");
      assert.ok(!seen.has(hex), "a value of 8 bytes or more repeats only by chance (2^-64)");
      seen.add(hex);
    }
  }
  const all = Buffer.concat(values);
  const zeros = all.filter((b) => b === 0).length;
  assert.ok(zeros < all.length / 16, `random bytes, not zeroed pool memory (${zeros} zero bytes of ${all.length})`);
  // Changing a value handed out changes no later one.
  values[0]!.fill(0xff);
  assert.ok(!random(16).equals(Buffer.alloc(16, 0xff)));
});

test("pooled random: long values straight from the CSPRNG, zero length allowed, bad lengths refused", () => {
  const random = pooledRandom(64);
  const long = random(200);
  assert.equal(long.length, 200);
  assert.ok(long.some((b) => b !== 0));
  assert.equal(random(0).length, 0);
  assert.throws(() => random(-1), RangeError);
  assert.throws(() => random(1.5), RangeError);
});
