/**
 * The ISAKMP SA dies (lifetime, DPD, a Delete, INITIAL-CONTACT) while one of its Quick Modes waits
 * for the kernel: what that Quick Mode put in the kernel after the SA's end must not stay there
 * without an owner (an outbound SA with our reqid, the newest, so the kernel prefers it, would
 * black-hole the traffic to the peer until its hard lifetime).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, settle, type Pair, type Side } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { tables } from "./tables.js";
import type { Kernel } from "../../src/kernel/kernel.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";

/** Hold `side`'s kernel `method` (its next calls wait) until `release()`; `held` counts the waiting calls. */
function hold(side: Side, method: "add" | "update" | "getSpi"): { held: () => number; release: () => void } {
  const kernel = side.kernel as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = kernel[method]!.bind(side.kernel);
  let waiting = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  kernel[method] = async (...args: unknown[]) => {
    waiting++;
    await gate;
    return real(...args);
  };
  return { held: () => waiting, release };
}

/** Main Mode up between a and b; each side's ISAKMP SA. */
async function phase1(p: Pair): Promise<{ a: IsakmpSa; b: IsakmpSa }> {
  initiate(p, "to-b");
  await settle(p, 40);
  const a = p.a.engine.sas.all().find((s) => s.state === "established")!;
  const b = p.b.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(a !== undefined && b !== undefined, "Phase 1 is up");
  return { a, b };
}

async function ours(kernel: Kernel): Promise<number> {
  return (await kernel.dump()).length;
}

test("responder: its ISAKMP SA dies while the outbound SA of QM1 is being added: nothing stays in the kernel", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const baseline = tables(p.b);
  const { a, b } = await phase1(p);
  const add = hold(p.b, "add");
  assert.ok(p.a.engine.quickMode(a, requestFor(p)));
  await settle(p, 40);
  assert.equal(add.held(), 1, "b waits in kernel.add for its outbound SA");
  b.destroy("peer dead (DPD)");
  add.release();
  await settle(p, 40);
  assert.equal(await ours(p.b.kernel), 0, "neither the inbound nor the outbound SA of the exchange is left");
  assert.deepEqual(tables(p.b), baseline, "b's tables are back where they started");
  await closePair(p);
});

test("responder: its ISAKMP SA dies during GETSPI for QM1: the larval SPI goes, nothing is installed", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const baseline = tables(p.b);
  const { a, b } = await phase1(p);
  const getSpi = hold(p.b, "getSpi");
  assert.ok(p.a.engine.quickMode(a, requestFor(p)));
  await settle(p, 40);
  assert.equal(getSpi.held(), 1);
  b.destroy("lifetime");
  getSpi.release();
  await settle(p, 40);
  assert.equal(await ours(p.b.kernel), 0);
  assert.deepEqual(tables(p.b), baseline);
  await closePair(p);
});

test("initiator: its ISAKMP SA dies during GETSPI for QM1: the larval SPI goes, the ACQUIRE hears of the failure", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const baseline = tables(p.a);
  const { a } = await phase1(p);
  const getSpi = hold(p.a, "getSpi");
  const failed: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, reason) => failed.push(reason));
  assert.ok(p.a.engine.quickMode(a, requestFor(p)));
  await settle(p, 40);
  assert.equal(getSpi.held(), 1);
  a.destroy("deleted by ikeadm");
  getSpi.release();
  await settle(p, 40);
  assert.equal(await ours(p.a.kernel), 0, "no larval SPI left");
  assert.equal(failed.length, 1);
  assert.deepEqual(tables(p.a), baseline);
  await closePair(p);
});

test("initiator: its ISAKMP SA dies while QM2's outbound SA is being added: nothing stays in the kernel", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const baseline = tables(p.a);
  const { a } = await phase1(p);
  const add = hold(p.a, "add");
  assert.ok(p.a.engine.quickMode(a, requestFor(p)));
  await settle(p, 40);
  assert.equal(add.held(), 1, "a waits in kernel.add for its outbound SA");
  a.destroy("INITIAL-CONTACT from peer");
  add.release();
  await settle(p, 40);
  assert.equal(await ours(p.a.kernel), 0);
  assert.deepEqual(tables(p.a), baseline);
  await closePair(p);
});
