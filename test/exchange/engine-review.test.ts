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
