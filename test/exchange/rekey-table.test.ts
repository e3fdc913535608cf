import { test } from "node:test";
import assert from "node:assert/strict";
import { settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

test("IPsec SAs deleted by the peer leave nothing in the rekey table (bounded memory; no EXPIRE will come for them)", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(p.a.engine.rekeyable, 2, "one ESP pair, both directions");
  assert.equal(p.b.engine.rekeyable, 0, "the responder does not rekey");
  await p.b.engine.deleteSa(p.b.engine.sas.all()[0]!);
  await settle(p, 40);
  assert.equal(p.a.engine.rekeyable, 0);
  assert.deepEqual(await p.a.kernel.dump(), []);
  await closePair(p);
});

test("our own Delete forgets the rekey entries too", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const sa = p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(p.a.engine.rekeyable, 2);
  await p.a.engine.deleteSa(sa);
  assert.equal(p.a.engine.rekeyable, 0);
  await closePair(p);
});
