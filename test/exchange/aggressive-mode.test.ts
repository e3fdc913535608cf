import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair, ruleText, settle, type Pair } from "./harness.js";
import { Notify } from "../../src/codec/index.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";

function psk(local: string, remote: string, key: string, mode = "aggressive"): string {
  return `{ localidtype ip localid ${local} remoteidtype ip remoteid ${remote} ike_mode ${mode} key "${key}" }\n`;
}

function pair(keyA: string, keyB: string): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: psk("10.0.0.1", "10.0.0.2", keyA),
    pskB: psk("10.0.0.2", "10.0.0.1", keyB),
  });
}

test("Aggressive Mode PSK: chosen from ike_mode aggressive, three messages, equal keys", async () => {
  const p = pair("am-secret", "am-secret");
  const types: number[] = [];
  p.network.tap((r) => types.push(r.datagram[18]!));
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p);
  assert.equal(sa.state, "established");
  const saB = p.b.engine.sas.all()[0]!;
  assert.equal(saB.state, "established");
  assert.deepEqual(types, [4, 4, 4], "AM1, AM2, AM3");
  const rest = Buffer.from("probe");
  assert.ok(sa.keymat!.quickModeHash1(7, rest).equals(saB.keymat!.quickModeHash1(7, rest)));
  const ct = sa.keymat!.encrypt(9, Buffer.from("same Ka and IV"));
  const pt = saB.keymat!.decrypt(9, ct);
  assert.ok(pt.ok && pt.plaintext.subarray(0, 14).toString() === "same Ka and IV");
  p.a.engine.close();
  p.b.engine.close();
  assert.equal(p.clock.timerCount, 0);
});

test("Aggressive Mode PSK: wrong key fails HASH_R at the initiator", async () => {
  const p = pair("am-secret", "other");
  const fails: (number | undefined)[] = [];
  p.a.engine.on("phase1-failed", (_sa, _r, n) => fails.push(n));
  p.b.engine.on("phase1-failed", (_sa, _r, n) => fails.push(n));
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p);
  assert.equal(sa.state, "dead");
  assert.equal(fails[0], Notify.AuthenticationFailed);
  // The initiator's AUTHENTICATION-FAILED goes in the clear after AM2: the responder cannot tell it
  // from a forgery, ignores it and gives up at its own retransmission limit.
  assert.equal(p.b.engine.sas.size, 1);
  p.clock.advance(120_000);
  await settle(p);
  assert.equal(p.b.engine.sas.size, 0, "the responder gives up at its retransmission limit");
  assert.equal(fails.length, 2);
  p.a.engine.close();
  p.b.engine.close();
});

test("Aggressive Mode: a lost AM3 is recovered by the responder retransmitting AM2", async () => {
  const p = pair("am-secret", "am-secret");
  let dropped = false;
  p.network.setImpairment({ filter: (d, from) => (!dropped && from.address === "10.0.0.1" && d[16] === 8 ? ((dropped = true), "drop") : "pass") });
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p);
  assert.equal(sa.state, "established");
  assert.equal(p.b.engine.sas.all()[0]!.state, "negotiating");
  p.clock.advance(500);
  await settle(p);
  assert.equal(p.b.engine.sas.all()[0]!.state, "established");
  assert.equal(p.a.engine.stats.engine.retransmitsAnswered, 1);
  p.a.engine.close();
  p.b.engine.close();
});
