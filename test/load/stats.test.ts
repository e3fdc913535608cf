/** Latency statistics and failure classification of ikeload (src/load/stats.ts, failures.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Notify } from "../../src/codec/index.js";
import { FailureCounter, classifyPhase1Failure, classifyPhase2Failure, failureKey } from "../../src/load/failures.js";
import { LatencyRecorder, percentile } from "../../src/load/stats.js";

test("nearest-rank percentiles", () => {
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(s, 50), 5);
  assert.equal(percentile(s, 90), 9);
  assert.equal(percentile(s, 99), 10);
  assert.equal(percentile(s, 100), 10);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile([7], 50), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  // Out-of-range p is clamped, not an index error.
  assert.equal(percentile(s, 250), 10);
  assert.equal(percentile(s, -3), 1);
});

test("recorder: percentiles over unsorted input, exact count/max/mean", () => {
  const r = new LatencyRecorder();
  for (const v of [30, 10, 20, 50, 40]) r.add(v);
  assert.deepEqual(r.summary(), { count: 5, p50: 30, p90: 50, p99: 50, max: 50, mean: 30 });
});

test("recorder: empty summary is zeros", () => {
  assert.deepEqual(new LatencyRecorder().summary(), { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
});

test("recorder: bounded memory keeps exact count and max, estimates percentiles", () => {
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
  const r = new LatencyRecorder(1000, rnd);
  for (let i = 1; i <= 100_000; i++) r.add(i % 1000);
  r.add(5000);
  const s = r.summary();
  assert.equal(s.count, 100_001);
  assert.equal(s.max, 5000);
  // Uniform 0..999: the reservoir's median lands near 500.
  assert.ok(s.p50 > 400 && s.p50 < 600, `p50 ${s.p50}`);
});

test("recorder: refuses negative and non-finite latencies (caller bug)", () => {
  const r = new LatencyRecorder();
  assert.throws(() => r.add(-1), RangeError);
  assert.throws(() => r.add(Number.NaN), RangeError);
});

test("failure classes from the engine's phase1-failed reasons", () => {
  const cases: [string, number | undefined, string][] = [
    ["no answer after 3 retransmissions", undefined, "timeout"],
    ["expire_timer: Phase 1 not finished", undefined, "timeout"],
    ["peer sent notify 14", Notify.NoProposalChosen, "notify-received:NO-PROPOSAL-CHOSEN"],
    ["peer sent notify 24", Notify.AuthenticationFailed, "notify-received:AUTHENTICATION-FAILED"],
    ["HASH_R does not verify (pre-shared key mismatch?)", Notify.AuthenticationFailed, "auth-failed:AUTHENTICATION-FAILED"],
    ["decrypted body: IKE_ERR_X (wrong pre-shared key?)", Notify.PayloadMalformed, "auth-failed:PAYLOAD-MALFORMED"],
    ["no pre-shared key for 127.4.0.1 <-> 127.0.0.1", Notify.AuthenticationFailed, "auth-failed:AUTHENTICATION-FAILED"],
    ["MM2: encr 7 not offered", Notify.NoProposalChosen, "protocol:NO-PROPOSAL-CHOSEN"],
    ["MM4 without KE or nonce", Notify.PayloadMalformed, "protocol:PAYLOAD-MALFORMED"],
    ["internal error: pool closed", undefined, "internal"],
    ["SA destroyed during DH", undefined, "protocol"],
  ];
  for (const [reason, notify, want] of cases) assert.equal(failureKey(classifyPhase1Failure(reason, notify)), want, reason);
});

test("Quick Mode failures are keyed apart from Phase 1 ones", () => {
  assert.equal(failureKey(classifyPhase2Failure("Quick Mode: no answer")), "phase2-timeout");
  assert.equal(failureKey(classifyPhase2Failure("ISAKMP SA died before Quick Mode (127.0.4.1/32)")), "phase2-aborted");
  assert.equal(failureKey(classifyPhase2Failure("internal error: kernel closed")), "phase2-internal");
  assert.equal(failureKey(classifyPhase2Failure("QM2: HASH(2) does not verify")), "phase2-protocol");
});

test("failure counter: totals and sorted keys", () => {
  const c = new FailureCounter();
  c.add({ kind: "timeout" });
  c.add({ kind: "notify-received", notify: "NO-PROPOSAL-CHOSEN" });
  c.add({ kind: "timeout" });
  c.add({ kind: "aborted" });
  assert.equal(c.total, 4);
  assert.deepEqual(c.toJSON(), { aborted: 1, "notify-received:NO-PROPOSAL-CHOSEN": 1, timeout: 2 });
  assert.deepEqual(Object.keys(c.toJSON()), ["aborted", "notify-received:NO-PROPOSAL-CHOSEN", "timeout"]);
});
