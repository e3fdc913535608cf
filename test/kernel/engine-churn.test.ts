/**
 * Engine churn: many Phase 1 + Quick Mode negotiations between two in-process engines, each ended by
 * a Delete or by lifetime expiry, must leave the SA manager, half-open counters, Phase 2 reply cache,
 * rekey table, task tables, engine timers and both kernels where they started.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ManualClock } from "../helpers/manual-clock.js";
import { makePair, pskText, ruleText, settle, type Pair } from "../exchange/harness.js";
import { snapshot } from "../exchange/tables.js";
import { closePair, requestFor } from "../exchange/qm-helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Negotiations per run; IKED_CHURN_CYCLES=2000 for a long run by hand. */
const CYCLES = Number(process.env["IKED_CHURN_CYCLES"] ?? 240);

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }";
const ESP = (peer: string): string => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;

function churnPair(kclock: ManualClock): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  p2_lifetime_secs 600 p2_softlife_secs 500`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "churn-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "churn-secret"),
    ipsecA: ESP("10.0.0.2"),
    ipsecB: ESP("10.0.0.1"),
    kernelClock: kclock,
  });
}

/** Negotiate Phase 1 + Quick Mode, then end it: Delete (even i) or expiry of everything (odd i). */
async function cycle(p: Pair, kclock: ManualClock, i: number): Promise<void> {
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const sa = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 30);
  assert.equal(sa.state, "established", `cycle ${i}`);
  const mid = snapshot(p);
  assert.ok(mid.a["engine.installed"]! > 0 && mid.a["engine.rekeyInfo"]! > 0 && mid.b["kernel.sas"]! >= 2, `cycle ${i}: tables in use`);
  if (i % 3 === 0) {
    await p.a.engine.deleteSa(sa);
    await settle(p, 10);
  } else if (i % 3 === 1) {
    // Everything times out: IPsec SAs by their hard lifetime, then the ISAKMP SA by its own.
    kclock.advance(700_000);
    await settle(p, 10);
    p.clock.advance(100_000_000);
    await settle(p, 30);
    assert.equal(sa.state, "dead", `cycle ${i}: Phase 1 expired`);
  } else {
    // Kernel lifetimes: soft EXPIRE (a rekeys), then hard EXPIREs of every IPsec SA.
    kclock.advance(500_000);
    await settle(p, 30);
    kclock.advance(700_000);
    await settle(p, 10);
    await p.a.engine.deleteSa(sa);
    await settle(p, 10);
  }
  // Past the Phase 2 reply linger and every retransmit/expiry timer of the dead SAs.
  p.clock.advance(4_000_000);
  await settle(p, 5);
}

test(`${CYCLES} Phase 1 + Quick Mode lives (Delete and expiry) return every engine and kernel table to baseline`, async (t) => {
  const kclock = new ManualClock();
  const p = churnPair(kclock);
  p.a.kernel.on("expire", (ev) => p.a.engine.expire(ev));
  p.b.kernel.on("expire", (ev) => p.b.engine.expire(ev));
  let ups = 0;
  p.b.engine.on("phase2-up", () => ups++);
  const baseline = snapshot(p);
  for (let i = 0; i < 20; i++) await cycle(p, kclock, i); // warm up code and table capacities
  const before = heapUsed();
  for (let i = 20; i < CYCLES; i++) await cycle(p, kclock, i);
  const grown = heapUsed() - before;
  t.diagnostic(`heap ${(before / 1048576).toFixed(2)} MB -> ${((before + grown) / 1048576).toFixed(2)} MB over ${CYCLES - 20} negotiations`);
  assert.deepEqual(snapshot(p), baseline);
  assert.ok(ups >= CYCLES + Math.floor(CYCLES / 3), `Quick Modes and soft-EXPIRE rekeys ran (${ups})`);
  assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes over ${CYCLES - 20} negotiations`);
  await closePair(p);
});

test("negotiations that fail (silent peer, lost MM4 or MM6, lost QM2) leave no half-open SA, cache or timer behind", async () => {
  const kclock = new ManualClock();
  const p = churnPair(kclock);
  const baseline = snapshot(p);
  let fromB = 0;
  let passFromB = Infinity;
  p.network.setImpairment({ filter: (_d, from) => (from.address === "10.0.0.2" && ++fromB > passFromB ? "drop" : "pass") });
  const rule = p.a.policy.ruleByLabel("to-b")!;
  let dead = 0;
  p.a.engine.on("sa-dead", () => dead++);
  const CASES = 120;
  for (let i = 0; i < CASES; i++) {
    fromB = 0;
    passFromB = i % 4; // 0: b is silent; 1: MM4 is lost; 2: MM6 is lost; 3: QM2 is lost
    p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
    await settle(p, 20);
    const mid = snapshot(p);
    if (passFromB < 3) assert.equal(mid.a["sas.halfOpen"], 1, `case ${i}: a half-open`);
    if (passFromB === 1) assert.equal(mid.b["sas.halfOpen"], 1, `case ${i}: b half-open`);
    if (passFromB === 2) assert.equal(mid.b["sas.held"]! - mid.b["sas.halfOpen"]!, 1, `case ${i}: b established, a not`);
    if (passFromB === 3) assert.equal(mid.b["sas.phase2"], 1, `case ${i}: b holds the Quick Mode`);
    // Retransmits give up, half-open and established-but-unused SAs time out, Phase 2 caches linger out.
    for (let step = 0; step < 40; step++) {
      p.clock.advance(2_500_000);
      await settle(p, 3);
    }
  }
  p.network.setImpairment({});
  assert.ok(dead >= CASES, `every attempt of a ended (${dead})`);
  assert.deepEqual(snapshot(p), baseline);
  await closePair(p);
});
