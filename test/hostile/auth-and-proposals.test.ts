/**
 * Hostile or misconfigured peers that speak correct ISAKMP: a wrong pre-shared key, and proposals
 * we cannot accept (Phase 1 and Phase 2). Each asserts the notify that goes out (or the silence),
 * that no SA is installed, and that the SA tables and the SADB return to empty.
 *
 * Wrong key, RFC 2409 section 5: SKEYID differs, so the responder's Ka differs and MM5 decrypts to
 * garbage. The engine answers such a message with an unprotected PAYLOAD-MALFORMED (the payload
 * chain does not parse; it cannot tell a wrong key from corruption), as strongSwan does for a
 * message it cannot parse. The initiator, past MM2, cannot tell that notify from a forgery (RFC
 * 2408 section 4.8: after keying material Informationals are protected), so it logs and ignores it
 * and gives up at its retransmission limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EMPTY, Notify, PEER, VICTIM, cleartextNotifies, close, negotiate, setting, settle, tables, tick } from "./setup.js";

const failures = (e: { on(ev: "phase1-failed", fn: (sa: unknown, reason: string, notify: number | undefined) => void): unknown }) => {
  const out: { reason: string; notify: number | undefined }[] = [];
  e.on("phase1-failed", (_sa, reason, notify) => out.push({ reason, notify }));
  return out;
};

test("wrong pre-shared key, we respond: PAYLOAD-MALFORMED in the clear, no SA, no kernel call", async () => {
  const s = setting({ victimPsk: "not-the-peers-key" });
  const victimFails = failures(s.victim.engine);
  const peerFails = failures(s.peer.engine);
  negotiate(s);
  await settle(s);
  assert.deepEqual(cleartextNotifies(s, VICTIM), [Notify.PayloadMalformed]);
  assert.equal(victimFails.length, 1);
  assert.equal(victimFails[0]!.notify, Notify.PayloadMalformed);
  assert.match(victimFails[0]!.reason, /wrong pre-shared key/);
  // The initiator ignores the cleartext notify and ends at its retransmission limit.
  assert.equal(peerFails.length, 0);
  await tick(s, 120_000);
  assert.deepEqual(peerFails.map((f) => f.notify), [undefined]);
  assert.match(peerFails[0]!.reason, /no answer after 5 retransmissions/);
  assert.deepEqual(await tables(s.victim), EMPTY);
  assert.deepEqual(await tables(s.peer), EMPTY);
  assert.deepEqual(s.victim.kernel.calls, { getSpi: 0, update: 0, add: 0, delete: 0 });
  assert.equal(s.victim.engine.stats.p1.resp_p1_fail, 1);
  assert.equal(s.peer.engine.stats.p1.init_p1_respfail, 1);
  await close(s);
});

test("wrong pre-shared key, we initiate: the peer's cleartext notify is ignored, our exchange ends at its retransmission limit", async () => {
  const s = setting({ peerPsk: "not-the-victims-key" });
  const victimFails = failures(s.victim.engine);
  const rule = s.victim.policy.ruleByLabel("to-peer")!;
  s.victim.engine.initiate(rule, s.victim.endpoint, s.peer.endpoint);
  await settle(s);
  assert.deepEqual(cleartextNotifies(s, PEER), [Notify.PayloadMalformed]);
  assert.equal(victimFails.length, 0, "an unauthenticated notify after MM2 ends nothing");
  await tick(s, 120_000);
  assert.deepEqual(victimFails.map((f) => f.notify), [undefined]);
  assert.deepEqual(await tables(s.victim), EMPTY);
  const sent = s.wire.length;
  await tick(s, 120_000);
  assert.equal(s.wire.length, sent, "no retransmission after the exchange failed");
  assert.equal(s.victim.engine.stats.p1.init_p1_respfail, 1);
  await close(s);
});

test("Phase 1 proposals we cannot accept: NO-PROPOSAL-CHOSEN in the clear, no DH work, no state", async () => {
  const s = setting({ victimXform: "p1_xform { auth_method preshared oakley_group 2 auth_alg md5 encr_alg 3des }" });
  const victimFails = failures(s.victim.engine);
  const peerFails = failures(s.peer.engine);
  negotiate(s);
  await settle(s);
  assert.deepEqual(cleartextNotifies(s, VICTIM), [Notify.NoProposalChosen]);
  // MM1 is refused before any SA exists (admission.ts), so the victim has no SA to fail.
  assert.equal(victimFails.length, 0);
  assert.equal(s.victim.engine.stats.engine.dropped, 1);
  assert.deepEqual(peerFails.map((f) => f.notify), [Notify.NoProposalChosen]);
  assert.deepEqual(s.victim.dh, { generate: 0, agree: 0 });
  assert.deepEqual(await tables(s.victim), EMPTY);
  assert.deepEqual(await tables(s.peer), EMPTY);
  await close(s);
});

test("a first message from an address no rule covers: NO-PROPOSAL-CHOSEN and no SA at all", async () => {
  const s = setting();
  // The victim's only rule names PEER; the attacker's MM1 is the peer's, re-sent from elsewhere.
  negotiate(s);
  await settle(s, 2);
  const mm1 = s.wire.find((r) => r.from.address === PEER)!.datagram;
  const before = cleartextNotifies(s, VICTIM).length;
  s.attacker.send(mm1, s.attackerEndpoint, s.victim.endpoint);
  await settle(s);
  const toAttacker = s.wire.filter((r) => r.from.address === VICTIM && r.to.address === s.attackerEndpoint.address);
  assert.equal(toAttacker.length, 1);
  assert.deepEqual(cleartextNotifies(s, VICTIM).slice(before), [Notify.NoProposalChosen]);
  assert.equal(s.victim.engine.sas.byPeerAddress(s.attackerEndpoint.address).length, 0);
  await close(s);
});

test("Quick Mode proposals we cannot accept: no IPsec SA on either side, tables back to empty", async () => {
  const s = setting({ victimIpsec: "encr_algs 3des encr_auth_algs md5" });
  const victimP2Fails: string[] = [];
  const peerP2Fails: string[] = [];
  s.victim.engine.on("phase2-failed", (_sa, r) => victimP2Fails.push(r));
  s.peer.engine.on("phase2-failed", (_sa, r) => peerP2Fails.push(r));
  negotiate(s);
  await settle(s);
  assert.equal(s.victim.engine.sas.all()[0]?.state, "established", "Phase 1 is fine");
  assert.ok(victimP2Fails.length >= 1, "the victim refused QM1");
  assert.equal(s.victim.kernel.calls.add + s.victim.kernel.calls.update, 0, "nothing installed");
  // The initiator retransmits QM1, each copy refused again, then gives up.
  for (let i = 0; i < 10 && peerP2Fails.length === 0; i++) await tick(s, 10_000);
  assert.equal(peerP2Fails.length, 1, "the peer gave up on Quick Mode");
  assert.equal(s.peer.kernel.calls.add + s.peer.kernel.calls.update, 0);
  const v = await tables(s.victim);
  assert.deepEqual({ ...v, sas: 0, halfOpen: 0 }, EMPTY, "no Phase 2 state or SADB entry left on the victim");
  assert.equal(v.halfOpen, 0);
  assert.equal((await s.victim.kernel.dump()).length, 0);
  // The initiator's GETSPI made a larval SA; the engine deletes it when the exchange fails.
  assert.ok(s.peer.kernel.calls.getSpi >= 1);
  assert.equal(s.peer.kernel.calls.delete, s.peer.kernel.calls.getSpi);
  assert.equal((await s.peer.kernel.dump()).length, 0, "the initiator's larval SA is gone");
  await close(s);
});
