import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair, pskText, settle, ruleText, type Pair } from "./harness.js";
import { esp, requestFor } from "./qm-helpers.js";
import { ExchangeType } from "../../src/codec/index.js";

const xf = (secs: number): string => `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) p1_lifetime_secs ${secs} }`;

function pair(secsA: number, secsB: number, mode?: "aggressive"): Pair {
  const psk = (l: string, r: string): string =>
    mode === undefined ? pskText(l, r, "life-secret") : `{ localidtype ip localid ${l} remoteidtype ip remoteid ${r} ike_mode aggressive key "life-secret" }\n`;
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", xf(secsA)),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", xf(secsB)),
    pskA: psk("10.0.0.1", "10.0.0.2"),
    pskB: psk("10.0.0.2", "10.0.0.1"),
    ipsecA: esp("10.0.0.2"),
    ipsecB: esp("10.0.0.1"),
  });
}

/** Exchange types of the datagrams b sent to a. */
function fromB(p: Pair): number[] {
  const types: number[] = [];
  p.network.tap((r) => {
    if (r.from.address === "10.0.0.2") types.push(r.datagram[18]!);
  });
  return types;
}

async function advance(p: Pair, ms: number): Promise<void> {
  p.clock.advance(ms);
  await settle(p, 40);
}

function close(p: Pair): void {
  p.a.engine.close();
  p.b.engine.close();
}

test("Phase 1 RESPONDER-LIFETIME (Main Mode): the responder with a shorter lifetime accepts, tells in a protected Informational after MM6, and the initiator expires and rekeys by it", async () => {
  const p = pair(3600, 100);
  const types = fromB(p);
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const a = p.a.engine.sas.all()[0]!;
  const b = p.b.engine.sas.all()[0]!;
  assert.equal(a.state, "established");
  assert.equal(b.lifeSecs, 100, "the responder keeps the shorter of the proposed and its own");
  assert.equal(a.lifeSecs, 100, "the initiator honoured the notify");
  assert.deepEqual(types.slice(0, 4), [2, 2, 2, ExchangeType.Informational], "MM2, MM4, MM6, then the Informational");
  assert.equal(p.b.engine.stats.engine.dropped + p.a.engine.stats.engine.dropped, 0, "the Informational decrypted and verified (HASH(1))");
  await advance(p, 91_000);
  assert.equal(p.a.engine.sas.all().filter((s) => s.state === "established").length, 2, "rekeyed at 90 % of 100 s, not of 3600 s");
  await advance(p, 10_000);
  assert.equal(a.state, "dead");
  assert.equal(b.state, "dead");
  close(p);
});

test("Phase 1 RESPONDER-LIFETIME (Aggressive Mode): sent after AM3 and honoured", async () => {
  const p = pair(7200, 600, "aggressive");
  const types = fromB(p);
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.equal(sa.phase1?.exchange, "aggressive");
  assert.deepEqual(types, [ExchangeType.Aggressive, ExchangeType.Informational]);
  assert.equal(sa.lifeSecs, 600);
  assert.equal(p.a.engine.stats.engine.dropped, 0);
  await advance(p, 601_000);
  assert.equal(sa.state, "dead", "expired at the responder's lifetime");
  close(p);
});

test("no Phase 1 RESPONDER-LIFETIME when the responder's lifetime is not shorter; both keep the proposed one", async () => {
  const p = pair(100, 3600);
  const types = fromB(p);
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.deepEqual(types, [2, 2, 2], "MM2, MM4, MM6 only");
  assert.equal(sa.lifeSecs, 100);
  assert.equal(p.b.engine.sas.all()[0]!.lifeSecs, 100);
  close(p);
});
