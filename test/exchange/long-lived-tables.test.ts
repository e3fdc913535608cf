/**
 * How often one negotiation (Main Mode, Quick Mode, Delete; both ends, in memory) inserts into and
 * deletes from the engine's long-lived `Map`s and `Set`s: tables that existed before it began. V8
 * re-allocates a table in old space when a delete empties it (~150 bytes) or shrinks it, and often
 * when an insert reuses deleted slots, so these calls make most of in.iked's old-space growth per
 * negotiation, and with it its full GCs (bench/handshake/README.md, "where in.iked's old space
 * per negotiation is allocated"; issue 14, goal 6). Tables owned by the SA or the exchange (born
 * with it, garbage with it) are young and not counted.
 *
 * One negotiation, both ends together, before the change (main at c890c32): 37 inserts and 37
 * deletes, 32 of them emptying a table; with 200 pairs held, 39 and 39, 11 emptying. After: 17 and
 * 17, 12 emptying; with 200 held, 17 and 17, 1 emptying. The bounds below are the latter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeChurn, installTableChurn, type ChurnCounts } from "../helpers/table-churn.js";
import { makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import { closePair, esp, requestFor } from "./qm-helpers.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";

const churn = installTableChurn();

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }";

function pair(): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "churn"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "churn"),
    ipsecA: esp("10.0.0.2"),
    ipsecB: esp("10.0.0.1"),
  });
}

/** Main Mode then Quick Mode from a to b; the ISAKMP SA stays up. */
async function establish(p: Pair): Promise<IsakmpSa> {
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 12);
  assert.equal(sa.state, "established");
  const before = sa.ipsecCreated;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p, 12);
  assert.equal(sa.ipsecCreated, before + 1, "Quick Mode done");
  return sa;
}

/** Establish, then Delete (IPsec SAs and the ISAKMP SA) from a. */
async function negotiation(p: Pair): Promise<void> {
  const sa = await establish(p);
  await p.a.engine.deleteSa(sa);
  await settle(p, 12);
  assert.equal(sa.state, "dead");
}

/** The counts of `n` negotiations after `warm` unmeasured ones. */
async function measure(p: Pair, n: number, warm = 2): Promise<ChurnCounts> {
  for (let i = 0; i < warm; i++) await negotiation(p);
  churn.begin();
  for (let i = 0; i < n; i++) await negotiation(p);
  return churn.end();
}

const N = 4;

function report(what: string, c: ChurnCounts): void {
  console.log(`# ${what}: per negotiation +${c.inserts / N} -${c.deletes / N} (${c.emptying / N} emptying)\n${describeChurn(c, N)}`);
}

test("one negotiation at a time: few inserts into long-lived tables, fewer still emptied", async () => {
  const p = pair();
  const c = await measure(p, N);
  report("alone", c);
  assert.equal(p.b.engine.sas.size, 0);
  assert.equal(p.a.engine.sas.size, 0);
  assert.ok(c.inserts / N <= 17, `inserts per negotiation ${c.inserts / N}:\n${describeChurn(c, N)}`);
  assert.ok(c.emptying / N <= 12, `emptying deletes per negotiation ${c.emptying / N}:\n${describeChurn(c, N)}`);
  await closePair(p);
});

test("with 200 pairs held (a gateway): as few inserts and deletes, and next to no table emptied", async () => {
  const p = pair();
  const held: IsakmpSa[] = [];
  for (let i = 0; i < 200; i++) held.push(await establish(p));
  const c = await measure(p, N);
  report("200 held", c);
  assert.equal(p.b.engine.sas.size, 200);
  assert.equal(p.a.engine.sas.size, 200);
  assert.ok(c.inserts / N <= 17, `inserts per negotiation ${c.inserts / N}:\n${describeChurn(c, N)}`);
  assert.ok(c.deletes / N <= 17, `deletes per negotiation ${c.deletes / N}:\n${describeChurn(c, N)}`);
  assert.ok(c.emptying / N <= 1, `emptying deletes per negotiation ${c.emptying / N}:\n${describeChurn(c, N)}`);
  await closePair(p);
});
