/**
 * Lost kernel events repaired, through the daemon's wiring (src/daemon/kernel-events.ts) into the
 * engine: after a "lost" event the resync finds a pair whose DELETE never came and handles it as a
 * kernel DELETE (forgotten, the peer told, the other half removed; a pair whose ISAKMP SA is gone
 * forgotten and its other half removed, no one told), and an SA whose soft EXPIRE
 * never came is rekeyed, once. Each resync logs one line with its counts. A kernel that loses
 * events without a "lost" event (PF_KEY) is resynced every minute, never two at once, and no more
 * once unwired. A resync whose dump fails (XFRM: no periodic check) is tried again on the daemon's
 * clock until one succeeds, and not after unwiring.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PERIODIC_RESYNC_MS, wireKernelEvents } from "../../src/daemon/kernel-events.js";
import { kernelResync } from "../../src/kernel/channels.js";
import type { Kernel } from "../../src/kernel/kernel.js";
import { KernelCounters, instrumentKernel } from "../../src/metrics/kernel-counters.js";
import { RESYNC_RETRY_MIN_MS, type ResyncPublished, type ResyncReport } from "../../src/kernel/resync.js";
import { LogHub } from "../../src/log/logger.js";
import { settle, type Pair } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

async function upPair(p: Pair): Promise<void> {
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 2);
}

/** Someone else deletes a's inbound SA from its kernel (`dump`: the kernel's own, unhooked). */
async function deleteOurInbound(p: Pair, dump: () => ReturnType<Kernel["dump"]> = () => p.a.kernel.dump()): Promise<void> {
  const inbound = (await dump()).find((s) => s.dst === "10.0.0.1")!;
  await p.a.kernel.delete(inbound.src, inbound.dst, inbound.proto, inbound.spi);
}

/** a's engine wired to a's kernel as the daemon wires them, logging to a file; resync reports collected. */
function wire(p: Pair, now?: () => number) {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-resync-"));
  const file = path.join(dir, "log");
  const hub = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "file", path: file }, format: "json" });
  const reports: ResyncReport[] = [];
  const onReport = (m: unknown): void => {
    if ((m as ResyncPublished).kernel === p.a.kernel) reports.push((m as ResyncPublished).report);
  };
  kernelResync.subscribe(onReport);
  const unwire = wireKernelEvents(p.a.kernel, p.a.engine, hub.logger("knl"), () => undefined, { clock: p.clock, ...(now !== undefined ? { now } : {}) });
  const lost = async (): Promise<void> => {
    const n = reports.length;
    p.a.kernel.emit("lost", { type: "lost", cause: "overrun", detail: "IKE_ERR_NATIVE_OVERRUN: recvmsg: No buffer space available" });
    for (let i = 0; i < 200 && reports.length === n; i++) await settle(p, 1);
    assert.equal(reports.length, n + 1, "the resync finished");
  };
  /** Wait until `n` resyncs have reported in all (no more). */
  const resyncs = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && reports.length < n; i++) await settle(p, 1);
    assert.equal(reports.length, n);
  };
  const done = (): string => {
    unwire();
    kernelResync.unsubscribe(onReport);
    hub.close();
    const text = readFileSync(file, "utf8");
    rmSync(dir, { recursive: true, force: true });
    return text;
  };
  return { reports, lost, resyncs, done };
}

test("a DELETE lost in an overrun: the resync forgets the pair, tells the peer and removes the other half", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const w = wire(p);
  // Someone removed our inbound SA; its DELETE was among the events the overrun lost.
  await deleteOurInbound(p);
  await w.lost();
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), [], "the outbound half is gone too");
  assert.deepEqual(await p.b.kernel.dump(), [], "the peer deleted its pair on our Delete");
  assert.deepEqual(p.a.engine.heldIpsecSas(), [], "the table matches the kernel");
  assert.equal(p.a.engine.rekeyable, 0);
  assert.deepEqual(w.reports[0], { causes: ["overrun"], kernelSas: 1, held: 1, missing: 1, removed: 1, softExpired: 0, rekeyed: 0 });
  // A second overrun finds nothing more to do.
  await w.lost();
  assert.equal(w.reports[1]!.removed, 0);
  const lines = w.done().split("\n").filter((l) => l.includes("resynchronised"));
  assert.equal(lines.length, 2, "one line per resync");
  assert.match(lines[0]!, /"missing":1,"removed":1/);
  await closePair(p);
});

test("a pair that outlived its ISAKMP SA is held too: a DELETE of it lost in an overrun is found by the resync and the pair forgotten", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const w = wire(p);
  // The ISAKMP SA goes alone (a Delete of it only): the pair lives on in both kernels.
  await p.a.engine.deleteSa(p.a.engine.sas.all()[0]!, "test: ISAKMP SA only", false);
  await settle(p, 40);
  assert.equal(p.a.engine.heldIpsecSas().length, 1, "held with no ISAKMP SA");
  await deleteOurInbound(p);
  await w.lost();
  assert.deepEqual(w.reports[0], { causes: ["overrun"], kernelSas: 1, held: 1, missing: 1, removed: 1, softExpired: 0, rekeyed: 0 });
  assert.deepEqual(p.a.engine.heldIpsecSas(), []);
  assert.equal(p.a.engine.debugSizes()["orphans"], 0);
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), [], "the other half removed");
  w.done();
  await closePair(p);
});

test("a soft EXPIRE lost in an overrun: the resync sees the soft lifetime passed and rekeys once", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const old = await p.a.kernel.dump();
  const soft = old[0]!.soft.addSeconds;
  assert.ok(soft > 0 && old.every((s) => s.soft.addSeconds === soft));
  // The kernels keep real time; the resync's clock stands where the pair's soft lifetime has just
  // passed for both halves (installed a few milliseconds apart), and their soft EXPIREs were lost.
  const added = Math.max(...old.map((s) => s.counters.addTime));
  const nowMs = added + soft * 1000;
  const w = wire(p, () => nowMs);
  // The rekeyed pair must start later, on the kernel's millisecond clock, than the first.
  while (Date.now() <= added) await new Promise((r) => setImmediate(r));
  await w.lost();
  assert.equal(w.reports[0]!.softExpired, 2, "both halves of the pair");
  assert.equal(w.reports[0]!.rekeyed, 1, "our pair is renegotiated");
  await settle(p, 40);
  const sas = await p.a.kernel.dump();
  assert.equal(sas.length, 4, "old and new pair until the old one expires");
  assert.equal(sas.filter((s) => s.counters.addTime > added).length, 2, "the new pair came later: its soft lifetime has not passed");
  await w.lost();
  assert.equal(w.reports[1]!.softExpired, 2, "the old pair is still past its soft lifetime");
  assert.equal(w.reports[1]!.rekeyed, 0, "but is not renegotiated again");
  assert.equal(w.reports[1]!.missing, 0);
  w.done();
  await closePair(p);
});

test("a kernel that loses events silently (PF_KEY): resynced every minute, one at a time, not after unwiring", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  // A PF_KEY stand-in: af_key drops notices for a full receive queue and no "lost" event comes.
  Object.assign(p.a.kernel, { losesEventsSilently: true });
  const kernelDump = p.a.kernel.dump.bind(p.a.kernel);
  let dumps = 0;
  let gate: Promise<void> | undefined;
  p.a.kernel.dump = async (...args: Parameters<typeof kernelDump>) => {
    dumps++;
    await gate;
    return kernelDump(...args);
  };
  const counters = new KernelCounters("pfkey");
  const detach = instrumentKernel(p.a.kernel, counters);
  const w = wire(p);
  // Someone removed our inbound SA; its DELETE was dropped silently.
  await deleteOurInbound(p, kernelDump);
  p.clock.advance(PERIODIC_RESYNC_MS - 1);
  await settle(p, 5);
  assert.equal(w.reports.length, 0, "no resync before the interval");
  p.clock.advance(1);
  await w.resyncs(1);
  assert.deepEqual(w.reports[0], { causes: ["periodic"], kernelSas: 1, held: 1, missing: 1, removed: 1, softExpired: 0, rekeyed: 0 });
  await settle(p, 40);
  assert.deepEqual(await kernelDump(), [], "the outbound half is gone too");
  assert.deepEqual(p.a.engine.heldIpsecSas(), [], "the table matches the kernel");

  // A check whose dump is slow: the next interval passes while it runs and is skipped, not queued.
  let release!: () => void;
  gate = new Promise<void>((r) => (release = r));
  const before = dumps;
  p.clock.advance(PERIODIC_RESYNC_MS);
  await settle(p, 5);
  p.clock.advance(PERIODIC_RESYNC_MS);
  await settle(p, 5);
  assert.equal(dumps, before + 1, "one dump under way, the second check skipped");
  release();
  gate = undefined;
  await w.resyncs(2);
  await settle(p, 5);
  assert.equal(w.reports.length, 2, "nothing queued behind it");
  p.clock.advance(PERIODIC_RESYNC_MS);
  await w.resyncs(3);
  assert.equal(w.reports[2]!.missing, 0);
  assert.deepEqual(counters.toJSON().resyncs, { done: 3, failed: 0, removed: 1, rekeyed: 0 }, "iked_kernel_resyncs_total counts them");
  detach();

  const timers = p.clock.timerCount;
  const lines = w.done().split("\n").filter((l) => l.includes("resynchronised"));
  assert.equal(p.clock.timerCount, timers - 1, "unwired (the daemon stops): the periodic timer is cleared");
  assert.equal(lines.length, 1, "only the check that found a loss logs at info");
  assert.match(lines[0]!, /"causes":"periodic".*"missing":1,"removed":1.*found by the periodic check/);
  const after = dumps;
  p.clock.advance(5 * PERIODIC_RESYNC_MS);
  await settle(p, 5);
  assert.equal(dumps, after, "no more resyncs");
  await closePair(p);
});

test("a periodic check (PF_KEY) that finds only SAs past their soft lifetime that were rekeyed on the kernel's own EXPIRE logs nothing lost", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  Object.assign(p.a.kernel, { losesEventsSilently: true });
  const old = await p.a.kernel.dump();
  const soft = old[0]!.soft.addSeconds;
  const added = Math.max(...old.map((s) => s.counters.addTime));
  const w = wire(p, () => added + soft * 1000);
  while (Date.now() <= added) await new Promise((r) => setImmediate(r));
  // The kernel's soft EXPIREs come (nothing is lost): the pair is rekeyed on them.
  for (const sa of old) p.a.kernel.emit("expire", { type: "expire", kind: "soft", reason: "addtime", sa: { ...sa, state: "dying" } });
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).length, 4, "rekeyed: old and new pair until the old one expires");
  // The old pair stays past its soft lifetime until it expires hard: every check in that window sees it.
  p.clock.advance(PERIODIC_RESYNC_MS);
  await w.resyncs(1);
  assert.deepEqual(w.reports[0], { causes: ["periodic"], kernelSas: 4, held: 2, missing: 0, removed: 0, softExpired: 2, rekeyed: 0 });
  const lines = w.done().split("\n").filter((l) => l.includes("kernel events lost"));
  assert.deepEqual(lines, [], "nothing was lost or repaired: no line at info claims events were lost");
  await closePair(p);
});

test("a pair the engine is deleting (its inbound delete still under way) is not taken for one the kernel lost by a periodic check", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  Object.assign(p.a.kernel, { losesEventsSilently: true });
  const { outbound, inbound } = p.a.engine.heldIpsecSas()[0]!;
  // The kernel is slow to answer the delete of our inbound SA: the engine has deleted the outbound
  // one and holds the pair in its table until that answer comes.
  const kernelDelete = p.a.kernel.delete.bind(p.a.kernel);
  const deletes: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  p.a.kernel.delete = async (...args: Parameters<typeof kernelDelete>) => {
    deletes.push(args[3]);
    if (args[3] === inbound.spi) await gate;
    return kernelDelete(...args);
  };
  const w = wire(p);
  // The outbound SA's hard lifetime ends: the engine deletes the pair (and tells the peer).
  const sa = (await p.a.kernel.dump()).find((s) => s.spi === outbound.spi)!;
  p.a.kernel.emit("expire", { type: "expire", kind: "hard", reason: "addtime", sa: { ...sa, state: "dead" } });
  await settle(p, 5);
  assert.deepEqual((await p.a.kernel.dump()).map((s) => s.spi), [inbound.spi], "the outbound SA is gone, the inbound delete waits");
  p.clock.advance(PERIODIC_RESYNC_MS);
  await w.resyncs(1);
  assert.equal(w.reports[0]!.missing, 0, "its removal is under way: nothing was lost");
  assert.equal(w.reports[0]!.removed, 0);
  release();
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), [], "the engine's own delete finished");
  assert.deepEqual(p.a.engine.heldIpsecSas(), []);
  assert.deepEqual(deletes, [outbound.spi, inbound.spi], "each SA deleted once, not again for a resync");
  const lines = w.done().split("\n").filter((l) => l.includes("kernel events lost"));
  assert.deepEqual(lines, [], "no line claims lost events");
  await closePair(p);
});

test("a resync whose dump fails (XFRM: no periodic check) is tried again a second later on the daemon's clock and repairs the loss; not after unwiring", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  assert.notEqual((p.a.kernel as { losesEventsSilently?: boolean }).losesEventsSilently, true, "a kernel that says when it lost events, as XFRM");
  const kernelDump = p.a.kernel.dump.bind(p.a.kernel);
  let dumps = 0;
  let failures = 1;
  p.a.kernel.dump = async (...args: Parameters<typeof kernelDump>) => {
    dumps++;
    if (failures > 0) {
      failures--;
      throw new Error("netlink dump failed: ENOBUFS");
    }
    return kernelDump(...args);
  };
  const counters = new KernelCounters("xfrm");
  const detach = instrumentKernel(p.a.kernel, counters);
  const w = wire(p);
  // Someone removed our inbound SA; its DELETE was lost in an overrun, and the resync's dump fails.
  await deleteOurInbound(p, kernelDump);
  await w.lost();
  assert.equal(w.reports[0]!.error, "netlink dump failed: ENOBUFS");
  assert.equal(w.reports[0]!.retryMs, RESYNC_RETRY_MIN_MS);
  p.clock.advance(RESYNC_RETRY_MIN_MS - 1);
  await settle(p, 5);
  assert.equal(dumps, 1, "no retry before its time");
  p.clock.advance(1);
  await w.resyncs(2);
  assert.deepEqual(w.reports[1], { causes: ["overrun"], kernelSas: 1, held: 1, missing: 1, removed: 1, softExpired: 0, rekeyed: 0 });
  await settle(p, 40);
  assert.deepEqual(await kernelDump(), [], "the outbound half is gone too");
  assert.deepEqual(p.a.engine.heldIpsecSas(), [], "the table matches the kernel");
  assert.deepEqual(counters.toJSON().resyncs, { done: 1, failed: 1, removed: 1, rekeyed: 0 }, "iked_kernel_resyncs_total counts both");

  // Failing again, then unwired (the daemon stops) while the retry waits: it is disarmed.
  failures = 1;
  await w.lost();
  const timers = p.clock.timerCount;
  detach();
  const text = w.done();
  assert.equal(p.clock.timerCount, timers - 1, "the retry's timer is cleared");
  const after = dumps;
  p.clock.advance(10 * RESYNC_RETRY_MIN_MS);
  await settle(p, 5);
  assert.equal(dumps, after, "no more resyncs");
  const failed = text.split("\n").filter((l) => l.includes("resync failed"));
  assert.equal(failed.length, 2);
  assert.match(failed[0]!, /"error":"netlink dump failed: ENOBUFS","retryInSeconds":1,"msg":"kernel events lost: resync failed, the SA table is not reconciled yet; retrying"/);
  await closePair(p);
});
