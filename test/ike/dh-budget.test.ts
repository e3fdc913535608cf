/**
 * The DH share of unverified peers (src/ike/dh-budget.ts) and its ike.config knob
 * `unverified_dh_share` (an iked extension): slots from the pool's threads, take/release, reload.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIkeConfig, parseIkeConfig } from "../../src/config/index.js";
import { DhBudget, unverifiedDhSlots } from "../../src/ike/dh-budget.js";

test("slots: the share of the pool's threads, at least one; inline (0 threads) counts as one", () => {
  assert.equal(unverifiedDhSlots(16, 50), 8);
  assert.equal(unverifiedDhSlots(2, 50), 1);
  assert.equal(unverifiedDhSlots(4, 100), 4);
  assert.equal(unverifiedDhSlots(0, 50), 1);
  assert.equal(unverifiedDhSlots(8, 1), 1);
});

test("take and release: never more than the slots, release is idempotent, a resize applies to later takes", () => {
  const b = new DhBudget(2);
  const r1 = b.take()!;
  const r2 = b.take()!;
  assert.equal(b.take(), undefined);
  assert.equal(b.refused, 1);
  r1();
  r1();
  assert.equal(b.inUse, 1);
  b.resize(1);
  assert.equal(b.take(), undefined, "one still in use, one slot now");
  r2();
  assert.ok(b.take() !== undefined);
});

test("ike.config unverified_dh_share: file level only, 1..100, written back as an extension", () => {
  const ok = parseIkeConfig("unverified_dh_share 25\n", "c");
  assert.ok(ok.ok);
  if (!ok.ok) return;
  assert.equal(ok.value.globals.unverifiedDhShare, 25);
  const again = parseIkeConfig(formatIkeConfig(ok.value), "c");
  assert.ok(again.ok && again.value.globals.unverifiedDhShare === 25);
  assert.match(formatIkeConfig(ok.value), /^unverified_dh_share 25\t# iked extension$/m);
  const zero = parseIkeConfig("unverified_dh_share 0\n", "c");
  assert.ok(!zero.ok);
  assert.deepEqual(zero.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`), ["IKE_ERR_CFG_BAD_VALUE@1:21"]);
  const inRule = parseIkeConfig('{ label "r" local_addr 10.0.0.1 remote_addr 10.0.0.2 unverified_dh_share 10 p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes } }\n', "c");
  assert.ok(!inRule.ok && inRule.diagnostics.some((d) => d.code === "IKE_ERR_CFG_MISPLACED_KEYWORD"));
});
