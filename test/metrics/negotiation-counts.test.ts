/**
 * The engine's negotiation counters (src/ike/negotiation-stats.ts) and what the metrics registry
 * makes of them: two engines in one process, Main Mode + Quick Mode, a pre-shared key mismatch, an
 * unacceptable proposal and a peer that never answers, each counted under its exchange, role and
 * failure class, started = established + failed once every exchange has ended.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { initiate, makePair, pskText, ruleText, settle, type Pair } from "../exchange/harness.js";
import { registerDaemonMetrics } from "../../src/metrics/collectors.js";
import { KernelCounters } from "../../src/metrics/kernel-counters.js";
import { LatencyHistograms } from "../../src/metrics/latency.js";
import { FAILURE_CLASSES, type NegotiationCounts, type OutcomeCounts } from "../../src/ike/negotiation-stats.js";
import { selectForAcquire } from "../../src/policy/index.js";
import type { IkeEngine } from "../../src/ike/engine.js";

const XF = (encr = "aes(256..256)") => `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg ${encr} }`;
const POLICY = (peer: string) => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;

function pair(o: { pskB?: string; xfA?: string; xfB?: string } = {}): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF(o.xfA)),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF(o.xfB)),
    pskA: pskText("10.0.0.1", "10.0.0.2", "count-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", o.pskB ?? "count-secret"),
    ipsecA: POLICY("10.0.0.2"),
    ipsecB: POLICY("10.0.0.1"),
  });
}

const failedTotal = (o: OutcomeCounts) => FAILURE_CLASSES.reduce((n, c) => n + o.failed[c], 0);
const nonZeroFailures = (o: OutcomeCounts) => Object.fromEntries(Object.entries(o.failed).filter(([, n]) => n > 0));

/** Every exchange ended: started = established + failed in every table. */
function assertBalanced(n: NegotiationCounts): void {
  for (const t of [n.phase1.main, n.phase1.aggressive, n.quick]) {
    for (const o of [t.initiator, t.responder]) assert.equal(o.started, o.established + failedTotal(o), JSON.stringify(o));
  }
}

function registryFor(engine: IkeEngine, p: Pair): { registry: Registry; latency: LatencyHistograms } {
  const registry = new Registry();
  registerDaemonMetrics(registry, "iked_", {
    engine: () => engine, pool: () => undefined, kernel: new KernelCounters("memory"), transport: () => undefined, ipsecSas: async () => [],
  });
  const latency = new LatencyHistograms(registry, "iked_");
  latency.observe(engine, p.clock);
  return { registry, latency };
}

async function close(p: Pair): Promise<void> {
  p.a.engine.close();
  p.b.engine.close();
  await p.a.kernel.close();
  await p.b.kernel.close();
}

test("Main Mode + Quick Mode: started and established on both sides, latency observed, exported with bounded labels", async () => {
  const p = pair();
  const { registry } = registryFor(p.a.engine, p);
  const sel = selectForAcquire(p.a.ipsec!, { src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.2", port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") return;
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
  await settle(p, 40);
  const a = p.a.engine.stats.negotiations;
  const b = p.b.engine.stats.negotiations;
  assert.deepEqual([a.phase1.main.initiator.started, a.phase1.main.initiator.established], [1, 1]);
  assert.deepEqual([b.phase1.main.responder.started, b.phase1.main.responder.established], [1, 1]);
  assert.deepEqual([a.quick.initiator.started, a.quick.initiator.established], [1, 1]);
  assert.deepEqual([b.quick.responder.started, b.quick.responder.established], [1, 1]);
  assert.equal(a.phase1.aggressive.initiator.started, 0);

  const text = await registry.metrics();
  assert.match(text, /^iked_negotiations_established_total\{phase="1",exchange="main",role="initiator"\} 1$/m);
  assert.match(text, /^iked_negotiations_established_total\{phase="2",exchange="quick",role="initiator"\} 1$/m);
  assert.match(text, /^iked_isakmp_sas\{role="initiator"\} 1$/m);
  assert.match(text, /^iked_half_open_exchanges 0$/m);
  assert.match(text, /^iked_phase1_duration_seconds_count\{exchange="main",role="initiator"\} 1$/m);
  assert.match(text, /^iked_negotiation_duration_seconds_count\{role="initiator"\} 1$/m);
  // No label value ever holds an address or a cookie.
  for (const line of text.split("\n").filter((l) => l.startsWith("iked_"))) {
    assert.doesNotMatch(line, /10\.0\.0\.|[0-9a-f]{16}/, line);
  }
  await close(p);
  // Closing aborts nothing that was running: every negotiation had already ended.
  assertBalanced(a);
  assertBalanced(b);
});

test("a pre-shared key mismatch: authentication_failed at the responder, a timeout at the initiator", async () => {
  const p = pair({ pskB: "another-secret" });
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(nonZeroFailures(p.b.engine.stats.negotiations.phase1.main.responder), { authentication_failed: 1 });
  // The responder's PAYLOAD-MALFORMED goes in the clear (no shared keys) after MM2: the initiator
  // cannot tell it from a forgery, ignores it, and gives up at its retransmission limit.
  p.clock.advance(120_000);
  await settle(p, 10);
  assert.deepEqual(nonZeroFailures(p.a.engine.stats.negotiations.phase1.main.initiator), { timeout: 1 });
  assertBalanced(p.a.engine.stats.negotiations);
  assertBalanced(p.b.engine.stats.negotiations);
  await close(p);
});

test("a peer that never answers: timeout, after the retransmissions the counters show", async () => {
  const p = pair();
  p.b.engine.close();
  initiate(p, "to-b");
  await settle(p, 10);
  for (let i = 0; i < 10 && failedTotal(p.a.engine.stats.negotiations.phase1.main.initiator) === 0; i++) {
    p.clock.advance(30_000);
    await settle(p, 5);
  }
  assert.deepEqual(nonZeroFailures(p.a.engine.stats.negotiations.phase1.main.initiator), { timeout: 1 });
  assert.equal(p.a.engine.stats.engine.retransmitsSent, 5);
  assert.equal(p.a.engine.stats.p1.init_p1_noresp, 1, "the original's counters agree");
  await close(p);
});

test("no acceptable transform: no_proposal_chosen on both sides (ours and the peer's notify)", async () => {
  const p = pair({ xfA: "aes(256..256)", xfB: "3des" });
  initiate(p, "to-b");
  await settle(p, 40);
  assert.deepEqual(nonZeroFailures(p.b.engine.stats.negotiations.phase1.main.responder), { no_proposal_chosen: 1 });
  assert.deepEqual(nonZeroFailures(p.a.engine.stats.negotiations.phase1.main.initiator), { no_proposal_chosen: 1 });
  assert.equal(p.a.engine.stats.p1.init_p1_respfail, 1, "the original's counters agree");
  await close(p);
});

test("an SA torn down while negotiating counts as aborted", async () => {
  const p = pair();
  const sa = initiate(p, "to-b");
  sa.destroy("test");
  await settle(p, 10);
  assert.deepEqual(nonZeroFailures(p.a.engine.stats.negotiations.phase1.main.initiator), { aborted: 1 });
  await close(p);
});
