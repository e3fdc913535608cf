import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle, type Pair, type PairOptions } from "./harness.js";
import type { MemoryNetworkOptions } from "../../src/net/memory-transport.js";
import type { DhPort } from "../../src/ike/ports.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg 3des }";

function pair(network: MemoryNetworkOptions = {}, engine: PairOptions["engine"] = {}, wrapDh?: PairOptions["wrapDh"]): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "k"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "k"),
    network,
    engine,
    ...(wrapDh !== undefined ? { wrapDh } : {}),
  });
}

/** Drop the n-th datagram (1-based) sent from `from`. */
function dropNth(from: string, ...nths: number[]): MemoryNetworkOptions {
  let seen = 0;
  return {
    impair: {
      filter: (_d, src) => (src.address === from && nths.includes(++seen) ? "drop" : "pass"),
    },
  };
}

async function tick(p: Pair, ms: number): Promise<void> {
  p.clock.advance(ms);
  await settle(p);
}

test("a lost MM3 is retransmitted after retry_timer_init and the exchange completes", async () => {
  const p = pair(dropNth("10.0.0.1", 2));
  const sa = initiate(p, "to-b");
  await settle(p);
  assert.equal(sa.state, "negotiating");
  await tick(p, 500);
  assert.equal(sa.state, "established");
  assert.equal(p.a.engine.stats.engine.retransmitsSent, 1);
  p.a.engine.close();
  p.b.engine.close();
});

test("a lost MM6 makes the initiator resend MM5, answered from the cache without new DH work", async () => {
  let dhCalls = 0;
  // Count the responder's pool calls by wrapping its DH port.
  const counting = (side: "a" | "b", dh: DhPort): DhPort =>
    side === "a" ? dh : { dhGenerate: (g, o) => (dhCalls++, dh.dhGenerate(g, o)), dhAgree: (g, x, y, o) => (dhCalls++, dh.dhAgree(g, x, y, o)) };
  const p0 = pair(dropNth("10.0.0.2", 3), {}, counting);
  const sa = initiate(p0, "to-b");
  await settle(p0);
  const [saB] = p0.b.engine.sas.all();
  assert.equal(saB!.state, "established", "the responder finished when it sent MM6");
  assert.equal(sa.state, "negotiating");
  const before = dhCalls;
  assert.ok(before > 0, "the responder's DH went through the counting port");
  await tick(p0, 500);
  assert.equal(sa.state, "established");
  assert.equal(p0.b.engine.stats.engine.retransmitsAnswered, 1);
  assert.equal(dhCalls, before, "answered from the reply cache, not recomputed");
  p0.a.engine.close();
  p0.b.engine.close();
});

test("every datagram duplicated: duplicates are answered from the cache, both sides establish", async () => {
  const p = pair({ impair: { duplicate: 1 } });
  const sa = initiate(p, "to-b");
  await settle(p, 40);
  assert.equal(sa.state, "established");
  assert.equal(p.b.engine.sas.all()[0]!.state, "established");
  assert.ok(p.b.engine.stats.engine.retransmitsAnswered >= 2);
  p.a.engine.close();
  p.b.engine.close();
});

test("no answer at all: retry_limit retransmissions with backoff, then a no-response failure", async () => {
  const p = pair({ impair: { loss: 1 } });
  const sends: number[] = [];
  p.network.tap((r) => sends.push(p.clock.now()));
  const start = p.clock.now();
  const sa = initiate(p, "to-b");
  await settle(p);
  for (let i = 0; i < 70 && sa.state !== "dead"; i++) await tick(p, 500);
  assert.equal(sa.state, "dead");
  assert.deepEqual(sends.map((t) => t - start), [0, 500, 1500, 3500, 7500, 15500]);
  assert.equal(p.a.engine.stats.p1.init_p1_noresp, 1);
  assert.equal(p.a.engine.stats.p1.init_p1_respfail, 0);
  assert.equal(p.clock.timerCount, 0);
});

test("an MM1 whose MM3 never comes leaves no SA, only an embryonic record that is gone after its lifetime", async () => {
  const p = pair(dropNth("10.0.0.1", 2, 3, 4, 5, 6, 7), { expireMs: 10_000 });
  initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 0, "no ISAKMP SA before our cookie comes back");
  assert.equal(p.b.engine.sas.halfOpenCount, 0);
  assert.equal(p.b.engine.debugSizes().embryos, 1);
  assert.equal(p.b.engine.stats.engine.embryonic, 1);
  await tick(p, 10_000);
  assert.equal(p.b.engine.debugSizes().embryos, 0);
  p.a.engine.close();
  assert.equal(p.clock.timerCount, 0, "the embryonic table keeps no timer once empty");
  p.b.engine.close();
});

test("a responder left half-open after MM3 is discarded by expire_timer", async () => {
  // MM1 and MM3 arrive (the SA exists from MM3 on); MM5 and its retransmissions are lost.
  const p = pair(dropNth("10.0.0.1", 3, 4, 5, 6, 7, 8), { expireMs: 10_000 });
  initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.halfOpenCount, 1);
  for (let i = 0; i < 25; i++) await tick(p, 500);
  assert.equal(p.b.engine.sas.size, 0);
  assert.equal(p.b.engine.stats.engine.expired, 1);
  assert.equal(p.b.engine.stats.p1.resp_p1_fail, 1);
});

test("half-open limit per peer is enforced at MM3, before any DH work", async () => {
  const agree = { b: 0 };
  const p = pair({}, { halfOpen: { global: 10, perPeer: 1 } }, (side, dh) =>
    side === "a" ? dh : { dhGenerate: (g, o) => (agree.b++, dh.dhGenerate(g, o)), dhAgree: (g, x, y, o) => (agree.b++, dh.dhAgree(g, x, y, o)) },
  );
  // Hold exchanges half-open: MM4 (b's answer with KE first, payload type 4 at byte 16) is lost.
  p.network.setImpairment({ filter: (d, from) => (from.address === "10.0.0.2" && d[16] === 4 ? "drop" : "pass") });
  initiate(p, "to-b");
  initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 1);
  assert.equal(p.b.engine.stats.engine.halfOpenRefused, 1);
  assert.equal(agree.b, 2, "one DH generation and agreement, for the admitted exchange only");
  assert.equal(p.b.engine.debugSizes().embryos, 1, "the refused one keeps its record: a retransmitted MM3 may find room");
  p.a.engine.close();
  p.b.engine.close();
});

test("lossy, reordering, duplicating relay: Main Mode still completes (seeded)", async () => {
  for (const seed of [1, 2, 3]) {
    const p = pair({ seed, impair: { loss: 0.25, duplicate: 0.2, reorder: 0.2 } });
    const sa = initiate(p, "to-b");
    for (let i = 0; i < 80 && sa.state === "negotiating"; i++) await tick(p, 500);
    assert.equal(sa.state, "established", `seed ${seed}: ${sa.deathReason ?? ""}`);
    p.a.engine.close();
    p.b.engine.close();
  }
});
