/**
 * What an established ISAKMP SA keeps while it is held (issue 14 goal 5: 100,000 held pairs in
 * 1 GiB): nothing of the finished Phase 1 exchange that produced it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle } from "./harness.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }";

test("an established ISAKMP SA no longer holds its Phase 1 exchange (nonces, DH values, SA payload), on both sides", async () => {
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "held"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "held"),
  });
  const sa = initiate(p, "to-b");
  await settle(p);
  assert.equal(sa.state, "established");
  assert.equal(p.b.engine.sas.all()[0]!.state, "established");
  assert.equal(p.a.engine.debugSizes().tasks, 0, "initiator");
  assert.equal(p.b.engine.debugSizes().tasks, 0, "responder");
  p.a.engine.close();
  p.b.engine.close();
});
