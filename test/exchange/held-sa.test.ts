/**
 * What an established ISAKMP SA keeps while it is held (issue 14 goal 5: 100,000 held pairs in
 * 1 GiB): nothing of the finished Phase 1 exchange that produced it, and the answer kept for a
 * repeat of the peer's last Phase 1 message only as long as the peer may repeat it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { timerQueueOf } from "../../src/timer-queue.js";
import { NO_PROBES } from "../../src/ike/dpd-state.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }";

test("an established ISAKMP SA no longer holds its Phase 1 exchange (nonces, DH values, SA payload), on both sides", async () => {
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "held"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "held"),
  });
  const sa = initiate(p, "to-b");
  await settle(p);
  const saB = p.b.engine.sas.all()[0]!;
  assert.equal(sa.state, "established");
  assert.equal(saB.state, "established");
  assert.equal(p.a.engine.debugSizes().tasks, 0, "initiator");
  assert.equal(p.b.engine.debugSizes().tasks, 0, "responder");
  for (const s of [sa, saB]) {
    assert.throws(() => s.keymat!.hashI(Buffer.alloc(1), Buffer.alloc(1)), /exchange over/, "the keys dropped the nonces and DH values");
  }
  for (const s of [sa, saB]) {
    // Held for the SA's life, so not views of Node's shared 8 KiB pool slab (which they would keep alive).
    assert.ok(s.icookie.buffer.byteLength <= 16 && s.rcookie.buffer.byteLength <= 16, "cookies in an allocation of their own");
  }
  for (const s of [sa, saB]) assert.equal(s.holdsAbort, false, "no AbortController while idle");
  // What an idle SA has none of is one shared frozen empty list, not an array per SA.
  for (const s of [sa, saB]) assert.equal(s.dpd.unanswered, NO_PROBES, "no R-U-THERE list of its own");
  // The SA tables and the Phase 1 and Quick Mode handlers hear of every SA's destroy through the
  // engine's one list: a held SA keeps no list of listeners.
  for (const s of [sa, saB]) assert.equal(s.ownCleanups, 0, "no cleanups of its own");
  // MM6 ended the exchange for the initiator: it has nothing to repeat. The responder keeps MM6
  // for a repeated MM5 (retransmit.test.ts: a lost MM6).
  assert.equal(sa.replies.holding, false, "initiator");
  assert.equal(saB.replies.holding, true, "responder");
  p.a.engine.close();
  p.b.engine.close();
});

test("a held pair's timers: the lifetime (and the initiator's rekey) only, waiting in the clock's one timer queue", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const sa = initiate(p, "to-b");
  await settle(p);
  const saB = p.b.engine.sas.all()[0]!;
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  // The finished Quick Mode keeps its answer for 60 s (a linger timer on each SA), then only the lifetimes are left.
  p.clock.advance(60_000);
  await settle(p);
  assert.deepEqual(sa.timerNames().sort(), ["lifetime", "soft"], "initiator: no expire or linger timer left");
  assert.deepEqual(saB.timerNames(), ["lifetime"], "responder");
  assert.equal(timerQueueOf(p.clock).size, 3, "all of them in the clock's queue");
  for (const s of [sa, saB]) assert.equal(s.ownCleanups, 0, "after its Quick Mode too, no cleanups of its own");
  const q = timerQueueOf(p.clock).size;
  sa.destroy("test");
  assert.equal(timerQueueOf(p.clock).size, q - 2, "a destroyed SA leaves nothing queued");
  assert.ok(!p.a.engine.sas.all().includes(sa), "and has left the SA tables (the engine's destroy listeners ran)");
  await closePair(p);
  assert.equal(timerQueueOf(p.clock).size, 0);
});

test("the responder's answer to MM5 goes once the initiator's first Quick Mode message verifies", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const sa = initiate(p, "to-b");
  await settle(p);
  const saB = p.b.engine.sas.all()[0]!;
  assert.equal(saB.replies.holding, true);
  let up = 0;
  p.b.engine.on("phase2-up", () => up++);
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.equal(up, 1);
  assert.equal(saB.replies.holding, false, "the responder");
  assert.equal(sa.replies.holding, false, "the initiator");
  await closePair(p);
});

test("an ISAKMP SA that dies during its second Quick Mode (the first one over) still ends it: its larval SPI leaves the kernel", async () => {
  let blockB = false;
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", {
    network: { impair: { filter: (_d, src) => (blockB && src.address === "10.0.0.2" ? "drop" : "pass") } },
  });
  const sa = initiate(p, "to-b");
  await settle(p);
  let up = 0;
  p.a.engine.on("phase2-up", () => up++);
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.equal(up, 1);
  blockB = true; // QM2 of the second exchange never arrives: it stays open, its SPI larval
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  const larval = async () => (await p.a.kernel.dump()).filter((s) => s.state === "larval").length;
  assert.equal(await larval(), 1, "the second Quick Mode holds a larval SPI");
  sa.destroy("test: ISAKMP SA gone");
  await settle(p);
  assert.equal(await larval(), 0);
  await closePair(p);
});

test("an ISAKMP SA whose Quick Mode used PFS holds no AbortController once no Quick Mode is under way, on both sides", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "p2_pfs 2", "p2_pfs 2");
  const sa = initiate(p, "to-b");
  await settle(p);
  const saB = p.b.engine.sas.all()[0]!;
  let up = 0;
  p.b.engine.on("phase2-up", (_s, r) => {
    up++;
    assert.equal(r.pfsGroup, 2, "the Quick Mode's DH ran in the pool under the SA's abort signal");
  });
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.equal(up, 1);
  assert.equal(sa.holdsAbort, false, "initiator");
  assert.equal(saB.holdsAbort, false, "responder");
  // The next one makes a controller again, and still aborts with the SA's death (isakmp-sa.test.ts).
  assert.equal(sa.abort.signal.aborted, false);
  await closePair(p);
});

test("a finished Quick Mode kept for retransmissions (60 s) holds its answer and no more; a lost QM3 is still answered from it", async () => {
  // QM3 (A's second Quick Mode message) is lost once: B resends QM2, which A's finished exchange
  // answers again from its reply cache.
  const fromA: Buffer[] = [];
  const fromB: Buffer[] = [];
  let dropped = false;
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", {
    network: {
      impair: {
        filter: (d, src) => {
          if (d[18] !== 32) return "pass";
          (src.address === "10.0.0.1" ? fromA : fromB).push(Buffer.from(d));
          if (!dropped && src.address === "10.0.0.1" && fromA.length === 2) return (dropped = true), "drop";
          return "pass";
        },
      },
    },
  });
  const sa = initiate(p, "to-b");
  await settle(p);
  const saB = p.b.engine.sas.all()[0]!;
  let upA = 0;
  let upB = 0;
  p.a.engine.on("phase2-up", () => upA++);
  p.b.engine.on("phase2-up", () => upB++);
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.equal(upA, 1, "the initiator is done once it sent QM3");
  assert.equal(upB, 0, "QM3 was lost");
  const mid = fromA[0]!.readUInt32BE(20);
  const exA = p.a.engine.sas.getPhase2(sa, mid)!;
  const exB = p.b.engine.sas.getPhase2(saB, mid)!;
  assert.ok(exA !== undefined && exB !== undefined);
  // The finished exchange lingers with its state and answer only: no result, client IDs, SPIs or nonces.
  assert.equal(exA.task.state, "done");
  assert.equal(exA.task.result, undefined, "no result kept");
  assert.equal(exA.task.clientIds, undefined, "no client IDs kept");
  assert.equal(exA.task.errorSpi(), undefined, "no proposals kept");
  const qm2 = fromB[0]!;
  const cached = exA.replies.match(qm2)!;
  assert.equal(cached.length, 1, "QM3 kept for a repeated QM2");
  assert.equal(cached[0]!.buffer.byteLength, qm2.length + cached[0]!.length, "the request and answer in one allocation of their own, not Node's shared pool slab");
  assert.deepEqual(sa.timerNames().filter((n) => n.startsWith("qm-")), [`qm-${mid}`]);
  // B resends QM2; A answers with QM3 from the finished exchange, and B installs.
  p.clock.advance(500);
  await settle(p);
  assert.equal(upB, 1, "the responder got QM3 after all");
  assert.equal(p.a.engine.stats.engine.retransmitsAnswered, 1);
  for (const k of [p.a.kernel, p.b.kernel]) assert.equal((await k.dump()).filter((x) => x.state === "mature").length, 2, "both kernels hold the pair");
  // Its minute over, the exchange is forgotten; a later copy of QM2 is a replay, not answered.
  p.clock.advance(60_000);
  await settle(p);
  assert.equal(p.a.engine.sas.getPhase2(sa, mid), undefined);
  assert.deepEqual(sa.timerNames().sort(), ["lifetime", "soft"]);
  await closePair(p);
});
