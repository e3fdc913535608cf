import { test } from "node:test";
import assert from "node:assert/strict";
import { settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

async function negotiate(extraA: string, extraB: string): Promise<{ a: number[]; b: number[]; hardA: number[]; hardB: number[] }> {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), extraA, extraB);
  const a: number[] = [];
  const b: number[] = [];
  p.a.engine.on("phase2-up", (_sa, r) => a.push(r.lifeSecs));
  p.b.engine.on("phase2-up", (_sa, r) => b.push(r.lifeSecs));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const hard = async (k: typeof p.a.kernel) => (await k.dump()).filter((s) => s.state === "mature").map((s) => s.hard.addSeconds ?? 0);
  const out = { a, b, hardA: await hard(p.a.kernel), hardB: await hard(p.b.kernel) };
  await closePair(p);
  return out;
}

test("RESPONDER-LIFETIME: a responder with a shorter p2_lifetime_secs accepts and tells; the initiator installs the shorter one", async () => {
  const r = await negotiate("p2_lifetime_secs 3600", "p2_lifetime_secs 600");
  assert.deepEqual(r.b, [600]);
  assert.deepEqual(r.a, [600], "the initiator honoured the notify (the echoed transform still says 3600)");
  assert.deepEqual(r.hardA, [600, 600]);
  assert.deepEqual(r.hardB, [600, 600]);
});

test("RESPONDER-LIFETIME: a large lifetime (32-bit attribute) is carried and honoured", async () => {
  const r = await negotiate("p2_lifetime_secs 200000", "p2_lifetime_secs 70000");
  assert.deepEqual(r.a, [70000]);
  assert.deepEqual(r.b, [70000]);
});

test("no RESPONDER-LIFETIME when the responder's lifetime is longer: both keep the initiator's", async () => {
  const r = await negotiate("p2_lifetime_secs 600", "p2_lifetime_secs 3600");
  assert.deepEqual(r.a, [600]);
  assert.deepEqual(r.b, [600]);
  assert.deepEqual(r.hardA, [600, 600]);
});
