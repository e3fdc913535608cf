import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import { ExchangeType, HeaderFlag, IdType, Notify } from "../../src/codec/index.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { Phase1Keymat } from "../../src/crypto/keymat.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";

function pair(extraA = ""): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  ${extraA}`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "shared-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "shared-secret"),
  });
}

interface Seen {
  readonly exchangeType: number;
  readonly encrypted: boolean;
  readonly fromB: boolean;
}

function watch(p: Pair): Seen[] {
  const seen: Seen[] = [];
  p.network.tap((r) => seen.push({ exchangeType: r.datagram[18]!, encrypted: (r.datagram[19]! & HeaderFlag.Encryption) !== 0, fromB: r.from.address === "10.0.0.2" }));
  return seen;
}

function failures(p: Pair, side: "a" | "b"): number[] {
  const out: number[] = [];
  p[side].engine.on("phase1-failed", (_sa: IsakmpSa, _reason: string, notify: number | undefined) => out.push(notify ?? -1));
  return out;
}

test("MM5 that decrypts but whose HASH_I is wrong: AUTHENTICATION-FAILED goes back as a protected Informational, and our initiator ends at once", async (t) => {
  const p = pair();
  const seen = watch(p);
  const failA = failures(p, "a");
  const failB = failures(p, "b");
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  // Same PSK, so same SKEYID_e/a: only the hash payload a puts in MM5 is corrupted (a's keymat
  // exists only from MM2 on, so the patch picks it out at call time).
  const real = Phase1Keymat.prototype.hashI;
  Phase1Keymat.prototype.hashI = function (this: Phase1Keymat, saiB: Uint8Array, idiiB: Uint8Array): Buffer {
    const h = real.call(this, saiB, idiiB);
    if (this === sa.keymat) h[0] = h[0]! ^ 0xff;
    return h;
  };
  t.after(() => {
    Phase1Keymat.prototype.hashI = real;
  });
  await settle(p, 40);
  const last = seen.at(-1)!;
  assert.deepEqual(last, { exchangeType: ExchangeType.Informational, encrypted: true, fromB: true }, "encrypted Informational from the responder");
  assert.equal(seen.filter((s) => !s.encrypted && s.exchangeType === ExchangeType.Informational).length, 0, "nothing in the clear");
  assert.deepEqual(failB, [Notify.AuthenticationFailed]);
  assert.deepEqual(failA, [Notify.AuthenticationFailed], "the initiator verified HASH(1) and took the notify");
  assert.equal(sa.state, "dead");
  assert.equal(p.a.engine.stats.engine.dropped, 0);
  const before = seen.length;
  p.clock.advance(60_000);
  await settle(p, 20);
  assert.equal(seen.length, before, "no MM5 retransmission after the notify");
  p.a.engine.close();
  p.b.engine.close();
});

test("MM5 with an ID the pre-shared key does not name: INVALID-ID-INFORMATION, protected", async () => {
  const p = pair('local_id_type fqdn local_id "a.example"');
  // b's key for 10.0.0.1 is bound to another name, so a's (authentic) FQDN ID is refused.
  const policy = p.b.policy as { presharedFor: typeof p.b.policy.presharedFor };
  const orig = policy.presharedFor.bind(policy);
  policy.presharedFor = (l, r, m) => {
    const e = orig(l, r, m);
    return e === undefined ? undefined : { ...e, remoteId: { type: IdType.ID_FQDN, name: "someone-else.example" } };
  };
  const seen = watch(p);
  const failA = failures(p, "a");
  const failB = failures(p, "b");
  p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.deepEqual(failB, [Notify.InvalidIdInformation]);
  assert.deepEqual(failA, [Notify.InvalidIdInformation]);
  assert.deepEqual(seen.at(-1), { exchangeType: ExchangeType.Informational, encrypted: true, fromB: true });
  p.a.engine.close();
  p.b.engine.close();
});

test("different pre-shared keys: MM5 does not decrypt, so the notify stays in the clear (the keys are not shared)", async () => {
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "one-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "another-secret"),
  });
  const seen = watch(p);
  const failB = failures(p, "b");
  p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.equal(failB.length, 1);
  assert.deepEqual(seen.filter((s) => s.exchangeType === ExchangeType.Informational), [{ exchangeType: ExchangeType.Informational, encrypted: false, fromB: true }]);
  p.a.engine.close();
  p.b.engine.close();
});
