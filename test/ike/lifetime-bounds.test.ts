/**
 * An initiator never keeps an SA longer than it proposed (issue 11, timers): whatever lifetime the
 * responder echoes or announces with RESPONDER-LIFETIME (RFC 2407 section 4.6.3.1), each kind —
 * Phase 1 seconds, Phase 2 seconds and kilobytes — ends up as min(ours, theirs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IkeAttr, LifeType, type DataAttribute } from "../../src/codec/index.js";
import { Phase1Lifetime } from "../../src/ike/phase1/lifetime.js";
import { matchP1Reply, transformsFromXforms } from "../../src/ike/phase1/proposal.js";
import { honourNotify, narrow } from "../../src/ike/phase2/lifetimes.js";
import { responderLifetime } from "../../src/ike/phase2/responder-lifetime.js";
import { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { nullLog } from "../../src/ike/log.js";
import { IkeStats } from "../../src/ike/stats.js";
import { ManualClock } from "../helpers/manual-clock.js";

const tv = (type: number, value: number): DataAttribute => ({ format: "tv", type, value });
/** 3DES, SHA-1, MODP 1024, pre-shared key: the transform the tests propose. */
const base = [tv(IkeAttr.EncryptionAlgorithm, 5), tv(IkeAttr.HashAlgorithm, 2), tv(IkeAttr.GroupDescription, 2), tv(IkeAttr.AuthenticationMethod, 1)];
const life = (secs: number): DataAttribute[] => [tv(IkeAttr.LifeType, LifeType.Seconds), tv(IkeAttr.LifeDuration, secs)];

test("Phase 1 seconds: MM2/AM2 echoing a longer lifetime than proposed gets ours; a shorter one is taken", () => {
  const proposed = transformsFromXforms([{ authMethod: 1, oakleyGroup: 2, encrAlg: 5, authAlg: 2, p1LifetimeSecs: 3600 }]);
  const longer = matchP1Reply([...base, ...life(60_000)], proposed);
  assert.ok("index" in longer);
  assert.equal(longer.lifeSecs, 3600, "a responder cannot stretch our Phase 1 lifetime");
  const shorter = matchP1Reply([...base, ...life(600)], proposed);
  assert.ok("index" in shorter && shorter.lifeSecs === 600);
  const none = matchP1Reply(base, proposed);
  assert.ok("index" in none && none.lifeSecs === 3600);
});

test("Phase 1 RESPONDER-LIFETIME: a longer one is not applied, a shorter one is", () => {
  const clock = new ManualClock();
  const sa = new IsakmpSa(
    { role: "initiator", icookie: Buffer.alloc(8, 7), local: { address: "10.0.0.1", port: 500 }, remote: { address: "10.0.0.2", port: 500 } },
    { clock, log: nullLog, stats: new IkeStats() },
  );
  sa.transition("negotiating", "test");
  sa.transition("established", "test");
  sa.lifeSecs = 3600;
  const lt = new Phase1Lifetime({ sas: undefined as never, ipsec: undefined as never, io: undefined as never, clock, log: nullLog, rekey: () => {} });
  assert.equal(lt.honour(sa, 7200), false);
  assert.equal(sa.lifeSecs, 3600);
  assert.equal(lt.honour(sa, 1800), true);
  assert.equal(sa.lifeSecs, 1800);
  sa.destroy("test");
});

test("Phase 2 seconds and kilobytes: QM2's echo never lengthens what we proposed", () => {
  const ours = { secs: 3600, kb: 10_000 };
  assert.deepEqual(narrow(ours, { lifeSecs: 86_400, lifeKb: 1_000_000 }), ours);
  assert.deepEqual(narrow(ours, { lifeSecs: 600, lifeKb: 500 }), { secs: 600, kb: 500 });
  // We proposed no byte limit: a limit in the echo only shortens, so it is kept.
  assert.deepEqual(narrow({ secs: 3600 }, { lifeKb: 500 }), { secs: 3600, kb: 500 });
});

test("Phase 2 RESPONDER-LIFETIME: longer seconds or kilobytes are ignored, shorter ones honoured", () => {
  const ours = { secs: 3600, kb: 10_000 };
  const longer = responderLifetime("esp", 0x1234, 86_400, 1_000_000).data;
  assert.deepEqual(honourNotify(ours, longer), ours);
  const longerSecs = responderLifetime("esp", 0x1234, 86_400).data;
  assert.deepEqual(honourNotify(ours, longerSecs), ours);
  const longerKb = responderLifetime("esp", 0x1234, undefined, 1_000_000).data;
  assert.deepEqual(honourNotify(ours, longerKb), ours);
  const shorter = responderLifetime("esp", 0x1234, 900, 800).data;
  assert.deepEqual(honourNotify(ours, shorter), { secs: 900, kb: 800 });
});
