/** Regressions found in the issue-5 review of the engine's packet and teardown paths. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

test("deleteSa racing engine.close(): the pending Delete settles without a TypeError and sends nothing more", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const sa = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(sa.state, "established");
  const sentBefore = p.a.engine.stats.engine.datagramsOut;
  // deleteSa sends the ESP Delete, then awaits the kernel; close() runs while it waits.
  const pending = p.a.engine.deleteSa(sa);
  p.a.engine.close();
  await assert.doesNotReject(pending);
  assert.equal(sa.state, "dead");
  assert.equal(p.a.engine.stats.engine.datagramsOut, sentBefore + 1, "only the Delete sent before close()");
  await closePair(p);
});

test("a forged Informational with an open Quick Mode's M-ID does not end that exchange's IV chain", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, { ...requestFor(p) });
  let qmFromA = 0;
  let held: Buffer | undefined;
  p.network.setImpairment({
    filter: (d, from) => {
      if (from.address !== "10.0.0.1" || d[18] !== 32) return "pass";
      qmFromA++;
      if (qmFromA !== 2) return "pass";
      held = Buffer.from(d);
      return "drop";
    },
  });
  await settle(p, 40);
  assert.ok(held !== undefined, "QM3 held back");
  // Same cookies and M-ID as the open Quick Mode, exchange type Informational, E flag, junk body.
  const forged = Buffer.alloc(28 + 32, 0x5a);
  held.copy(forged, 0, 0, 28);
  forged[18] = 5;
  forged.writeUInt32BE(forged.length, 24);
  p.b.engine.receive(forged, p.b.endpoint, p.a.endpoint);
  await settle(p);
  p.b.engine.receive(held, p.b.endpoint, p.a.endpoint);
  await settle(p);
  const mature = async (k: typeof p.a.kernel) => (await k.dump()).filter((s) => s.state === "mature").length;
  assert.equal(await mature(p.b.kernel), 2, "the responder accepted the real QM3");
  await closePair(p);
});

test("destroying an ISAKMP SA stops its Quick Mode retransmissions", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const sa = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  // b never answers Quick Mode, so a keeps resending QM1.
  p.network.setImpairment({ filter: (d, from) => (from.address === "10.0.0.2" && d[18] === 32 ? "drop" : "pass") });
  await settle(p, 40);
  assert.equal(sa.state, "established");
  const failed: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, reason) => failed.push(reason));
  sa.destroy("test");
  const sentAtDeath = p.a.engine.stats.engine.datagramsOut;
  for (let i = 0; i < 10; i++) {
    p.clock.advance(30_000);
    await settle(p);
  }
  assert.equal(p.a.engine.stats.engine.datagramsOut, sentAtDeath, "no QM1 for a dead ISAKMP SA");
  assert.deepEqual(await p.a.kernel.dump(), [], "the Quick Mode's larval SPI is freed");
  await closePair(p);
});

test("an ISAKMP SA destroyed while its first message is being built sends nothing and arms no timer", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  // Aggressive Mode's first message carries KE: building it awaits the DH key pair.
  const sa = p.a.engine.initiate(rule, p.a.endpoint, p.b.endpoint, "aggressive");
  sa.destroy("test");
  for (let i = 0; i < 10; i++) {
    p.clock.advance(30_000);
    await settle(p);
  }
  assert.equal(p.a.engine.stats.engine.datagramsOut, 0);
  assert.equal(sa.retransmitter, undefined);
  await closePair(p);
});

test("an ISAKMP SA deleted while our QM1 is being built: no error, nothing sent", async () => {
  const errors: string[] = [];
  const log = { debug() {}, info() {}, warn() {}, error: (f: Record<string, unknown>, m: string) => void errors.push(`${m} ${String(f.err)}`) };
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", { engine: { log } });
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const sa = p.a.engine.initiate(rule, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.equal(sa.state, "established");
  const sent = p.a.engine.stats.engine.datagramsOut;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  sa.destroy("deleted by peer");
  await settle(p);
  assert.deepEqual(errors, []);
  assert.equal(p.a.engine.stats.engine.datagramsOut, sent);
  await closePair(p);
});
