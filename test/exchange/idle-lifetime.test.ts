/**
 * `p2_idletime_secs` enforced by the engine for kernels that keep no idle lifetime (Linux XFRM and
 * PF_KEY; here the in-memory SADB with its own idle handling off): two engines on the manual clock,
 * the kernel's counters moved by hand. Traffic either way keeps the pair; a pair still for the idle
 * time is deleted as a hard EXPIRE would be (both kernel SAs, a Delete the peer acts on); without
 * an idle time, or with a kernel that keeps it itself, there is no polling timer; a pair removed
 * otherwise leaves no timer behind; a look the kernel fails to answer is skipped, not taken for the
 * pair's end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IDLE_TIMER } from "../../src/ike/idle-sas.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { SaInfo } from "../../src/kernel/kernel.js";
import { makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import { XF, closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { failGets } from "./kernel-faults.js";

const IDLE = "p2_idletime_secs 60";

/** a (idle time `extraA`) and b (none) with a Quick Mode pair up; kernels keep no idle lifetime unless `kernelIdle`. */
async function upPair(extraA = IDLE, kernelIdle = false): Promise<{ p: Pair; sa: IsakmpSa; peer: IsakmpSa }> {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), extraA, "", { kernelOptions: { idleLifetimes: kernelIdle } });
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  const peer = p.b.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(sa !== undefined && peer !== undefined);
  assert.equal(sa.ipsecCreated, 1);
  assert.equal((await p.a.kernel.dump()).length, 2);
  assert.equal((await p.b.kernel.dump()).length, 2);
  return { p, sa, peer };
}

/** Advance the clock `steps` times by `ms`, letting the engines run in between. */
async function tick(p: Pair, ms: number, steps = 1): Promise<void> {
  for (let i = 0; i < steps; i++) {
    p.clock.advance(ms);
    await settle(p, 10);
  }
}

/** a's inbound (from b) or outbound (to b) kernel SA. */
async function aSa(p: Pair, dir: "in" | "out"): Promise<SaInfo> {
  const dst = dir === "in" ? "10.0.0.1" : "10.0.0.2";
  return (await p.a.kernel.dump()).find((s) => s.dst === dst && s.state === "mature")!;
}

test("counters moving in either direction keep the pair; once still for p2_idletime_secs it is deleted, Delete to the peer", async () => {
  const { p, sa, peer } = await upPair();
  assert.ok(sa.timerNames().includes(IDLE_TIMER), "a polls its pair's counters");
  assert.ok(!peer.timerNames().includes(IDLE_TIMER), "b has no idle time: no polling");
  const inbound = await aSa(p, "in");
  const outbound = await aSa(p, "out");
  // Ten minutes of traffic, alternately inbound and outbound, a packet every 40 s (less than the idle time).
  for (let i = 0; i < 15; i++) {
    const s = i % 2 === 0 ? inbound : outbound;
    p.a.kernel.account(s.src, s.dst, s.proto, s.spi, { bytes: 100 });
    await tick(p, 10_000, 4);
  }
  assert.equal((await p.a.kernel.dump()).length, 2, "traffic kept the pair");
  assert.equal(sa.ipsecDeleted, 0);
  // Still from now on (the last packet was 40 s ago): gone after 60 s idle, within one more period (30 s).
  await tick(p, 10_000, 1);
  assert.equal((await p.a.kernel.dump()).length, 2, "50 s idle: kept");
  await tick(p, 10_000, 4);
  assert.deepEqual(await p.a.kernel.dump(), [], "idle for the idle time: both kernel SAs removed");
  assert.equal(sa.ipsecDeleted, 1);
  assert.equal(sa.state, "established", "the ISAKMP SA stays");
  assert.deepEqual(await p.b.kernel.dump(), [], "the peer got the Delete and removed its SAs");
  assert.equal(peer.ipsecDeleted, 1);
  await tick(p, 30_000);
  assert.ok(!sa.timerNames().includes(IDLE_TIMER), "no pair left to watch: no timer");
  await closePair(p);
});

test("a pair never used is deleted after the idle time, counted from its install", async () => {
  const { p, sa } = await upPair("p2_idletime_secs 4");
  await tick(p, 1_000, 3);
  assert.equal((await p.a.kernel.dump()).length, 2, "3 s: kept");
  await tick(p, 1_000, 2);
  assert.deepEqual(await p.a.kernel.dump(), [], "4 s idle (polled every 2 s): deleted");
  assert.deepEqual(await p.b.kernel.dump(), []);
  assert.equal(sa.ipsecDeleted, 1);
  await closePair(p);
});

test("a look the kernel cannot answer (ETIMEDOUT, not 'no such SA') is skipped: the pair is still deleted once idle", async () => {
  const { p, sa } = await upPair("p2_idletime_secs 4");
  // The look at 2 s fails for both halves of the pair.
  const faults = failGets(p.a.kernel, 2);
  await tick(p, 1_000, 3);
  assert.equal(faults.failed(), 2, "the look at 2 s asked the kernel and got errors");
  assert.ok(sa.timerNames().includes(IDLE_TIMER), "the pair is still watched");
  assert.equal((await p.a.kernel.dump()).length, 2, "3 s: kept");
  await tick(p, 1_000, 2);
  assert.deepEqual(await p.a.kernel.dump(), [], "4 s idle: deleted all the same");
  assert.equal(sa.ipsecDeleted, 1);
  await closePair(p);
});

test("no p2_idletime_secs: no polling timer, the pair stays", async () => {
  const { p, sa } = await upPair("");
  assert.ok(!sa.timerNames().includes(IDLE_TIMER));
  await tick(p, 60_000, 10);
  assert.equal((await p.a.kernel.dump()).length, 2);
  await closePair(p);
});

test("a kernel that keeps idle lifetimes itself (the in-memory SADB) is not double-enforced: no timer", async () => {
  const { p, sa } = await upPair(IDLE, true);
  assert.equal(p.a.kernel.enforcesIdle, true);
  assert.ok(!sa.timerNames().includes(IDLE_TIMER));
  assert.equal((await p.a.kernel.dump())[0]!.hard.idleSeconds, 60, "the kernel got the idle lifetime");
  await closePair(p);
});

test("a pair removed otherwise (someone deleted it from the kernel) leaves no timer; an ended ISAKMP SA neither", async () => {
  const { p, sa } = await upPair();
  const outbound = await aSa(p, "out");
  await p.a.kernel.delete(outbound.src, outbound.dst, outbound.proto, outbound.spi);
  assert.equal(p.a.engine.kernelRemoved({ type: "delete", proto: outbound.proto, spi: outbound.spi, src: outbound.src, dst: outbound.dst }), 1);
  await tick(p, 30_000);
  assert.equal(sa.ipsecDeleted, 1);
  assert.ok(!sa.timerNames().includes(IDLE_TIMER), "nothing left to watch");
  assert.equal(sa.state, "established");
  await closePair(p);

  const again = await upPair();
  assert.ok(again.sa.timerNames().includes(IDLE_TIMER));
  again.sa.destroy("test");
  assert.deepEqual(again.sa.timerNames(), [], "the SA's end clears the timer");
  await closePair(again.p);
});

test("the watch follows the pair when an expiring ISAKMP SA hands it over to its successor", async () => {
  const xf = XF.replace(" }", " p1_lifetime_secs 100 }");
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${xf}\n  p2_idletime_secs 300`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", xf),
    pskA: pskText("10.0.0.1", "10.0.0.2", "qm-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "qm-secret"),
    ipsecA: esp("10.0.0.2"),
    ipsecB: esp("10.0.0.1"),
    kernelOptions: { idleLifetimes: false },
  });
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const old = p.a.engine.sas.all()[0]!;
  assert.ok(old.timerNames().includes(IDLE_TIMER));
  const inbound = await aSa(p, "in");
  for (let i = 0; i < 12; i++) {
    p.a.kernel.account(inbound.src, inbound.dst, inbound.proto, inbound.spi, { bytes: 100 });
    await tick(p, 10_000);
  }
  assert.equal(old.state, "dead", "the first ISAKMP SA expired");
  const fresh = p.a.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(fresh !== undefined && fresh !== old);
  assert.ok(fresh.timerNames().includes(IDLE_TIMER), "the successor watches the handed-over pair");
  assert.equal((await p.a.kernel.dump()).length, 2);
  // Still from now on: gone within the idle time and one period (30 s), though the successor
  // itself is replaced meanwhile (its 100 s lifetime) and hands the pair on again.
  await tick(p, 10_000, 29);
  assert.equal((await p.a.kernel.dump()).length, 2, "290 s idle: kept");
  await tick(p, 10_000, 4);
  assert.deepEqual(await p.a.kernel.dump(), [], "deleted as idle under a successor");
  assert.deepEqual(await p.b.kernel.dump(), [], "the peer was told");
  assert.equal(fresh.state, "dead", "the successor was replaced in turn");
  const last = p.a.engine.sas.all().filter((s) => s.state === "established");
  assert.equal(last.length, 1);
  assert.equal(last[0]!.ipsecDeleted, 1, "its heir deleted the pair");
  await closePair(p);
});
