import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { Notify } from "../../src/codec/notify-constants.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }";

function pair(pskA = "secret123", pskB = "secret123", xfA = XF, xfB = XF): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", xfA),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", xfB),
    pskA: pskText("10.0.0.1", "10.0.0.2", pskA),
    pskB: pskText("10.0.0.2", "10.0.0.1", pskB),
  });
}

/** Both sides hold the same keys: compare what the Keymat computes, never the keys themselves. */
function assertSameKeys(x: IsakmpSa, y: IsakmpSa): void {
  const kx = x.keymat!;
  const ky = y.keymat!;
  const rest = Buffer.from("quick mode payloads");
  assert.ok(kx.quickModeHash1(0x1234, rest).equals(ky.quickModeHash1(0x1234, rest)), "SKEYID_a");
  const ni = Buffer.alloc(16, 1);
  const nr = Buffer.alloc(16, 2);
  const km1 = kx.keymat(3, 0xc0000001, ni, nr, undefined, 36);
  const km2 = ky.keymat(3, 0xc0000001, ni, nr, undefined, 36);
  try {
    assert.ok(km1.use((a) => km2.use((b) => a.equals(b))), "SKEYID_d");
  } finally {
    km1.destroy();
    km2.destroy();
  }
  const ct = kx.encrypt(0x55, Buffer.from("informational body"));
  const pt = ky.decrypt(0x55, ct);
  assert.ok(pt.ok && pt.plaintext.subarray(0, 18).toString() === "informational body", "Ka and IV");
}

test("Main Mode PSK: both engines reach established with equal keys", async () => {
  const p = pair();
  const ups: string[] = [];
  p.a.engine.on("phase1-up", (sa, r) => ups.push(`a ${sa.role} ${r.peerId} ${r.lifeSecs}`));
  p.b.engine.on("phase1-up", (sa, r) => ups.push(`b ${sa.role} ${r.peerId} ${r.lifeSecs}`));
  const sent: number[] = [];
  p.network.tap((r) => sent.push(r.datagram[18]!)); // exchange type byte
  const saA = initiate(p, "to-b");
  await settle(p);
  assert.equal(saA.state, "established");
  const [saB] = p.b.engine.sas.all();
  assert.ok(saB);
  assert.equal(saB.state, "established");
  assert.ok(saA.rcookie.equals(saB.rcookie) && saA.icookie.equals(saB.icookie));
  assert.deepEqual(ups.sort(), ["a initiator 10.0.0.2 28800", "b responder 10.0.0.1 28800"]);
  assert.deepEqual(sent, [2, 2, 2, 2, 2, 2], "six Main Mode messages, no retransmissions");
  assertSameKeys(saA, saB);
  const d = saB.describe();
  assert.deepEqual(d.phase1, { exchange: "main", encr: 7, keyBits: 128, hash: 2, group: 2, auth: 1, localId: "10.0.0.2", peerId: "10.0.0.1" });
  assert.equal(d.state, "established");
  assert.ok(!JSON.stringify(d).includes("secret"), "no key material in a description");
  const sa = p.a.engine.stats.snapshot();
  const sb = p.b.engine.stats.snapshot();
  assert.equal(sa.init_p1_current, 1);
  assert.equal(sa.init_p1_attempts, 1);
  assert.equal(sb.resp_p1_current, 1);
  assert.equal(sb.resp_p1_total, 1);
  assert.equal(p.a.engine.sas.halfOpenCount + p.b.engine.sas.halfOpenCount, 0);
  p.a.engine.close();
  p.b.engine.close();
  assert.equal(saA.keymat, undefined, "keys wiped on destroy");
  assert.equal(p.clock.timerCount, 0, "all SA timers died with the SAs");
});

test("Main Mode PSK: a wrong pre-shared key fails on both sides, with a notify and counters", async () => {
  const p = pair("secret123", "other-secret");
  const failures: string[] = [];
  p.a.engine.on("phase1-failed", (_sa, reason, notify) => failures.push(`a ${notify} ${reason}`));
  p.b.engine.on("phase1-failed", (_sa, reason, notify) => failures.push(`b ${notify} ${reason}`));
  const saA = initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 0);
  // The responder cannot read MM5 (different Ka): PAYLOAD-MALFORMED or, if the garbage happens to
  // parse, AUTHENTICATION-FAILED, in the clear. After MM2 the initiator cannot tell that notify
  // from a forgery, so it ignores it and gives up at its retransmission limit.
  assert.equal(saA.state, "negotiating");
  p.clock.advance(120_000);
  await settle(p);
  assert.equal(saA.state, "dead");
  assert.equal(p.a.engine.sas.size, 0);
  assert.equal(failures.length, 2, failures.join("\n"));
  const b = failures.find((f) => f.startsWith("b "))!;
  assert.ok(b.startsWith(`b ${Notify.PayloadMalformed} `) || b.startsWith(`b ${Notify.AuthenticationFailed} `), b);
  assert.ok(failures.some((f) => f.startsWith("a ")));
  assert.equal(p.a.engine.stats.p1.init_p1_respfail, 1);
  assert.equal(p.b.engine.stats.p1.resp_p1_fail, 1);
  assert.equal(p.clock.timerCount, 0);
});

test("Main Mode: no common proposal gives NO-PROPOSAL-CHOSEN to the initiator", async () => {
  const p = pair("k", "k", XF, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg 3des }");
  const failures: (number | undefined)[] = [];
  p.a.engine.on("phase1-failed", (_sa, _r, notify) => failures.push(notify));
  initiate(p, "to-b");
  await settle(p);
  assert.deepEqual(failures, [Notify.NoProposalChosen]);
  assert.equal(p.b.engine.sas.size, 0);
});

test("Phase 1 lifetime: the initiator's shorter lifetime wins, and at its end the peer is told", async () => {
  const p = pair("k", "k", "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) p1_lifetime_secs 120 }", XF);
  const deathB: string[] = [];
  p.b.engine.on("sa-dead", (_sa, reason) => deathB.push(reason));
  const sa = initiate(p, "to-b");
  await settle(p);
  assert.equal(sa.state, "established");
  assert.equal(p.b.engine.sas.all()[0]!.lifeSecs, 120, "responder took min(120, 28800)");
  p.clock.advance(120_000);
  await settle(p);
  assert.equal(sa.state, "dead");
  assert.equal(sa.deathReason, "lifetime expired");
  assert.equal(deathB.length, 1);
  assert.ok(deathB[0] === "deleted by peer" || deathB[0] === "lifetime expired", deathB[0]);
  assert.equal(p.clock.timerCount, 0);
});
