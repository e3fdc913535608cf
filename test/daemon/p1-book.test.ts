/**
 * The `ikeadm get|dump p1` view (p1-book.ts) is assembled from the engine's SA itself: the book
 * keeps nothing per SA (a held SA costs no entry beside it), so a book made after an SA came up
 * shows it exactly as one that watched it come up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { P1Book } from "../../src/daemon/p1-book.js";
import { initiate, makePair, pskText, ruleText, settle } from "../exchange/harness.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) p1_lifetime_secs 3600 }";

test("a Phase 1 view comes from the SA: a book made after the SA came up shows its transform, lifetime and identities", async () => {
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "book"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "book"),
  });
  const sa = initiate(p, "to-b");
  await settle(p);
  assert.equal(sa.state, "established");
  const saB = p.b.engine.sas.all()[0]!;
  for (const [engine, s, local, remote] of [
    [p.a.engine, sa, "10.0.0.1", "10.0.0.2"],
    [p.b.engine, saB, "10.0.0.2", "10.0.0.1"],
  ] as const) {
    const book = new P1Book(engine, () => 99);
    const v = book.view(s);
    assert.equal(v.state, "ACTIVE");
    // pfs: the SA's own rule's p2_pfs (0 here), not the fallback for SAs without a rule.
    assert.deepEqual(v.xform, { authMethod: 1, encrAlg: 7, keyBits: 128, hashAlg: 2, group: 2, pfs: 0, lifeSecs: 3600, lifeKb: 0 });
    assert.equal(v.localId, local);
    assert.equal(v.remoteId, remote);
    assert.deepEqual(book.find({ kind: "ident", localType: "ipv4", local, remoteType: "ipv4", remote }), [s]);
    assert.deepEqual(book.find({ kind: "ident", localType: "ipv4", local: remote, remoteType: "ipv4", remote: local }), []);
  }
  p.a.engine.close();
  p.b.engine.close();
});
