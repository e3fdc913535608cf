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

/**
 * a starts a Quick Mode with b; `side`'s kernel call `method` is held, its ISAKMP SA destroyed
 * (`reason`) in the meantime, then the call released. Afterwards nothing of the exchange is left in
 * that side's kernel and its tables are as before Phase 1. Returns `side`'s phase2-failed reasons.
 */
async function dieDuring(side: "a" | "b", method: "add" | "getSpi", reason: string): Promise<string[]> {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const s = p[side];
  const baseline = tables(s);
  const sas = await phase1(p);
  const call = hold(s, method);
  const failed: string[] = [];
  s.engine.on("phase2-failed", (_sa, why) => failed.push(why));
  assert.ok(p.a.engine.quickMode(sas.a, requestFor(p)));
  await settle(p, 40);
  assert.equal(call.held(), 1, `${side} waits in kernel.${method}`);
  sas[side].destroy(reason);
  call.release();
  await settle(p, 40);
  assert.deepEqual(await s.kernel.dump(), [], "no SA of the exchange is left in the kernel");
  assert.deepEqual(tables(s), baseline, "the tables are back where they started");
  await closePair(p);
  return failed;
}

test("responder: its ISAKMP SA dies while the outbound SA of QM1 is being added: nothing stays in the kernel", async () => {
  await dieDuring("b", "add", "peer dead (DPD)");
});

test("responder: its ISAKMP SA dies during GETSPI for QM1: the larval SPI goes, nothing is installed", async () => {
  await dieDuring("b", "getSpi", "lifetime");
});

test("initiator: its ISAKMP SA dies during GETSPI for QM1: the larval SPI goes, the ACQUIRE hears of the failure", async () => {
  assert.equal((await dieDuring("a", "getSpi", "deleted by ikeadm")).length, 1);
});

test("initiator: its ISAKMP SA dies while QM2's outbound SA is being added: nothing stays in the kernel", async () => {
  await dieDuring("a", "add", "INITIAL-CONTACT from peer");
});
