import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

test("INITIAL-CONTACT from a rebooted peer: the responder drops the older ISAKMP SA and the stale IPsec SAs, keeps the new one", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const oldB = p.b.engine.sas.all()[0]!;
  assert.equal(oldB.state, "established");
  assert.equal(oldB.ipsecCreated, 1);
  assert.equal((await p.b.kernel.dump()).length, 2);
  // a "reboots": it forgets its SAs without telling b, so its next Main Mode has INITIAL-CONTACT.
  p.a.engine.sas.all()[0]!.destroy("reboot");
  await p.a.kernel.flush();
  const ic: boolean[] = [];
  p.b.engine.on("phase1-up", (_sa, r) => ic.push(r.initialContact));
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(ic, [true]);
  assert.equal(oldB.state, "dead");
  assert.equal(oldB.deathReason, "INITIAL-CONTACT from peer");
  assert.equal(oldB.ipsecDeleted, 1);
  const live = p.b.engine.sas.all().filter((s) => !s.isDead());
  assert.equal(live.length, 1);
  assert.equal(live[0]!.state, "established");
  assert.deepEqual(await p.b.kernel.dump(), [], "the stale IPsec SAs are gone from b's kernel");
  // The new ISAKMP SA carries the next Quick Mode.
  let up = 0;
  p.b.engine.on("phase2-up", () => up++);
  assert.ok(p.a.engine.quickMode(p.a.engine.sas.all().find((s) => s.state === "established")!, requestFor(p)));
  await settle(p, 40);
  assert.equal(up, 1);
  assert.equal(live[0]!.ipsecCreated, 1);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  await closePair(p);
});

test("no INITIAL-CONTACT while an ISAKMP SA with the peer is up; IPsec SA counters follow Deletes", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const ic: boolean[] = [];
  p.b.engine.on("phase1-up", (_sa, r) => ic.push(r.initialContact));
  initiate(p, "to-b");
  await settle(p, 40);
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(ic, [true, false]);
  assert.equal(p.b.engine.sas.all().filter((s) => s.state === "established").length, 2);
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p, 40);
  assert.equal(sa.ipsecCreated, 1);
  assert.equal(sa.phase1?.exchange, "main");
  await p.a.engine.deleteSa(sa);
  assert.equal(sa.ipsecDeleted, 1);
  await closePair(p);
});

test("no INITIAL-CONTACT while IPsec SAs with the peer outlive their ISAKMP SA: the peer keeps the pair that the new Phase 1 is there to rekey", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  // The ISAKMP SA goes alone (a's Delete of it, as at its lifetime with no newer SA): the pair lives on.
  await p.a.engine.deleteSa(p.a.engine.sas.all()[0]!, "test: ISAKMP SA only", false);
  await settle(p, 40);
  assert.equal(p.b.engine.sas.all().filter((s) => !s.isDead()).length, 0);
  const ic: boolean[] = [];
  p.b.engine.on("phase1-up", (_sa, r) => ic.push(r.initialContact));
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(ic, [false]);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2, "b keeps the pair");
  // Once the pair has left a's kernel (and a's engine heard of it), a holds nothing with b: INITIAL-CONTACT again.
  // (The first half's DELETE has a remove the other half itself: a fresh dump each time.)
  for (let s = (await p.a.kernel.dump())[0]; s !== undefined; s = (await p.a.kernel.dump())[0]) {
    await p.a.kernel.delete(s.src, s.dst, s.proto, s.spi);
    p.a.engine.kernelRemoved({ type: "delete", src: s.src, dst: s.dst, proto: "esp", spi: s.spi });
  }
  for (const s of p.a.engine.sas.all()) await p.a.engine.deleteSa(s, "test", false);
  await settle(p, 40);
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(ic, [false, true]);
  await closePair(p);
});
