import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import { closePair, esp, requestFor } from "./qm-helpers.js";

const XF100 = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) p1_lifetime_secs 100 }";

function shortLived(): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF100),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF100),
    pskA: pskText("10.0.0.1", "10.0.0.2", "rekey-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "rekey-secret"),
    ipsecA: esp("10.0.0.2"),
    ipsecB: esp("10.0.0.1"),
  });
}

async function advance(p: Pair, ms: number): Promise<void> {
  p.clock.advance(ms);
  await settle(p, 40);
}

test("Phase 1 rekey: at 90 % of its lifetime the initiator brings up a new ISAKMP SA while IPsec SAs need one; the old one expires and hands them over", async () => {
  const p = shortLived();
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const old = p.a.engine.sas.all()[0]!;
  assert.equal(old.ipsecCreated, 1);
  await advance(p, 89_000);
  assert.equal(p.a.engine.sas.all().length, 1, "no rekey before the soft lifetime");
  await advance(p, 2_000);
  const up = p.a.engine.sas.all().filter((s) => s.state === "established");
  assert.equal(up.length, 2, "the new SA is up beside the old one");
  const fresh = up.find((s) => s !== old)!;
  assert.equal(fresh.phase1?.exchange, "main");
  await advance(p, 10_000);
  assert.equal(old.state, "dead");
  assert.equal(fresh.state, "established");
  assert.equal(p.b.engine.sas.all().filter((s) => s.state === "established").length, 1, "the peer was told (Delete) and keeps only the new SA");
  // The IPsec SAs now belong to the new SA: deleting it removes them from both kernels.
  assert.equal((await p.a.kernel.dump()).length, 2);
  await p.a.engine.deleteSa(fresh);
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), []);
  assert.deepEqual(await p.b.kernel.dump(), []);
  await closePair(p);
});

test("Phase 1 rekey: an ISAKMP SA without IPsec SAs is left to expire", async () => {
  const p = shortLived();
  initiate(p, "to-b");
  await settle(p, 40);
  const old = p.a.engine.sas.all()[0]!;
  assert.equal(old.state, "established");
  await advance(p, 95_000);
  assert.equal(p.a.engine.sas.all().length, 1);
  await advance(p, 10_000);
  assert.equal(old.state, "dead");
  assert.equal(p.a.engine.sas.all().filter((s) => !s.isDead()).length, 0);
  await closePair(p);
});

test("after a Phase 1 rekey, new Quick Modes use the newest ISAKMP SA", async () => {
  const p = shortLived();
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const old = p.a.engine.sas.all()[0]!;
  await advance(p, 91_000);
  const used = p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.notEqual(used, old);
  assert.equal(used.ipsecCreated, 1);
  await closePair(p);
});
