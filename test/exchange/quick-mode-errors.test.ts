import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { Notify } from "../../src/codec/index.js";

test("a protected NO-PROPOSAL-CHOSEN ends our Quick Mode at once: no retransmission, larval SPI freed", async () => {
  const p = qmPair(esp("10.0.0.2"), "{ raddr 10.0.0.1 } ipsec { encr_algs 3des encr_auth_algs md5 }\n");
  const failsA: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, r) => failsA.push(r));
  initiate(p, "to-b");
  await settle(p);
  const sa = p.a.engine.sas.all()[0]!;
  assert.equal(sa.state, "established");
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.deepEqual(failsA, [`peer refused Quick Mode: notify ${Notify.NoProposalChosen}`]);
  assert.deepEqual(await p.a.kernel.dump(), [], "the GETSPI larval SA is deleted");
  const sent = p.a.engine.stats.engine.retransmitsSent;
  p.clock.advance(60_000);
  await settle(p);
  assert.equal(p.a.engine.stats.engine.retransmitsSent, sent, "QM1 is not retransmitted after the refusal");
  assert.equal(failsA.length, 1, "no second failure from the retransmission limit");
  assert.equal(sa.state, "established", "the ISAKMP SA stays up");
  await closePair(p);
});

test("INVALID-ID-INFORMATION for client IDs the responder has no policy for ends our Quick Mode", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.9"));
  const failsA: string[] = [];
  const failsB: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, r) => failsA.push(r));
  p.b.engine.on("phase2-failed", (_sa, r) => failsB.push(r));
  initiate(p, "to-b");
  await settle(p);
  const sa = p.a.engine.sas.all()[0]!;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.equal(failsB.length, 1);
  assert.deepEqual(failsA, [`peer refused Quick Mode: notify ${Notify.InvalidIdInformation}`]);
  await closePair(p);
});

test("two Quick Modes outstanding, both refused: each refusal names its exchange by SPI and ends it at once", async () => {
  const p = qmPair(esp("10.0.0.2"), "{ raddr 10.0.0.1 } ipsec { encr_algs 3des encr_auth_algs md5 }\n");
  const failsA: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, r) => failsA.push(r));
  initiate(p, "to-b");
  await settle(p);
  const sa = p.a.engine.sas.all()[0]!;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.deepEqual(failsA, [`peer refused Quick Mode: notify ${Notify.NoProposalChosen}`, `peer refused Quick Mode: notify ${Notify.NoProposalChosen}`]);
  assert.equal(p.a.engine.sas.phase2Count, 0);
  assert.deepEqual(await p.a.kernel.dump(), []);
  await closePair(p);
});
