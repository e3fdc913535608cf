/**
 * What the engine does with the kernel beyond installing SAs: a hard EXPIRE sends a Delete to the
 * peer; SAs removed from the kernel by someone else (DELETE, FLUSH) are forgotten and the peers
 * told; a kernel that refuses an SA leaves nothing half-installed and the peer gets a notify; the
 * ACQUIRE's endpoints (a tunnel's gateways) pick the IKE peer; a rekey carries no ACQUIRE
 * sequence number, and its responder adds the new outbound SA only once the initiator can take
 * what it carries (also when the old pair's ISAKMP SA is gone); every SA carries the daemon's
 * reqid and an anti-replay window.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Notify } from "../../src/codec/index.js";
import type { QuickModeRequest } from "../../src/ike/phase2/quick-mode.js";
import { IKED_REQID, type AcquireEvent, type GetSpiOptions, type SaInfo } from "../../src/kernel/kernel.js";
import { kernelError } from "../../src/kernel/errors.js";
import { initiate, settle, type Pair } from "./harness.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

/** a negotiates one ESP pair with b (ACQUIRE sequence number `seq`); both kernels hold it. */
async function upPair(p: Pair, seq?: number): Promise<void> {
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, { ...requestFor(p), ...(seq !== undefined ? { seq } : {}) });
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2);
}

const outbound = async (p: Pair): Promise<SaInfo> => (await p.a.kernel.dump()).find((s) => s.src === "10.0.0.1")!;

test("every SA carries the daemon's reqid and a 32-packet anti-replay window", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  for (const s of [...(await p.a.kernel.dump()), ...(await p.b.kernel.dump())]) {
    assert.equal(s.reqid, IKED_REQID);
    assert.equal(s.replayWindow, 32);
  }
  await closePair(p);
});

test("a hard EXPIRE: Delete to the peer, which drops its pair; the other half leaves our kernel", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const out = await outbound(p);
  // The kernel removes an SA whose hard lifetime ran out, then says so.
  await p.a.kernel.delete(out.src, out.dst, out.proto, out.spi);
  assert.equal(p.a.engine.expire({ type: "expire", kind: "hard", reason: "addtime", sa: { ...out, state: "dead" } }), "deleting");
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), [], "the inbound half is gone too");
  assert.deepEqual(await p.b.kernel.dump(), [], "the peer deleted its pair on our Delete");
  assert.equal(p.a.engine.rekeyable, 0);
  // An EXPIRE for an SA we no longer hold does nothing.
  assert.equal(p.a.engine.expire({ type: "expire", kind: "hard", reason: "addtime", sa: { ...out, state: "dead" } }), "ignored");
  await closePair(p);
});

test("an SA deleted from the kernel by someone else: forgotten, the peer told, the other half removed", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const inbound = (await p.a.kernel.dump()).find((s) => s.dst === "10.0.0.1")!;
  await p.a.kernel.delete(inbound.src, inbound.dst, inbound.proto, inbound.spi);
  assert.equal(p.a.engine.kernelRemoved({ type: "delete", src: inbound.src, dst: inbound.dst, proto: "esp", spi: inbound.spi }), 1);
  await settle(p, 40);
  assert.deepEqual(await p.a.kernel.dump(), []);
  assert.deepEqual(await p.b.kernel.dump(), []);
  assert.equal(p.a.engine.kernelRemoved({ type: "delete", src: "10.0.0.9", dst: "10.0.0.1", proto: "esp", spi: 0x1234 }), 0, "not ours");
  await closePair(p);
});

test("a FLUSH by someone else: every pair forgotten (no rekey left) and the peers told", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  await p.a.kernel.flush();
  assert.equal(p.a.engine.kernelRemoved({ type: "flush", proto: "ah" }), 0, "an AH flush leaves ESP pairs");
  assert.equal(p.a.engine.kernelRemoved({ type: "flush", proto: null }), 1);
  assert.equal(p.a.engine.rekeyable, 0);
  await settle(p, 40);
  assert.deepEqual(await p.b.kernel.dump(), []);
  await closePair(p);
});

test("the kernel refuses our outbound SA: the inbound one goes again, the peer gets ATTRIBUTES-NOT-SUPPORTED and drops its SAs, the ACQUIRE is named", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  p.a.kernel.add = async () => {
    throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", "ADD esp: no such algorithm");
  };
  const fails: Array<{ reason: string; request: QuickModeRequest | undefined }> = [];
  const notified: number[] = [];
  p.a.engine.on("phase2-failed", (_sa, reason, request) => fails.push({ reason, request }));
  p.b.engine.on("peer-notify", (_sa, n) => notified.push(n));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, { ...requestFor(p), seq: 77 });
  await settle(p, 40);
  assert.equal(fails.length, 1);
  assert.match(fails[0]!.reason, /kernel refused the SAs: IKE_ERR_KERNEL_EPROTONOSUPPORT: ADD esp: no such algorithm/);
  assert.equal(fails[0]!.request?.seq, 77, "the failure names the ACQUIRE (PF_KEY's negative answer uses it)");
  assert.deepEqual(await p.a.kernel.dump(), [], "nothing half-installed: the updated inbound SA is deleted");
  assert.deepEqual(notified, [Notify.AttributesNotSupported]);
  assert.deepEqual(await p.b.kernel.dump(), [], "the notify ends the responder's exchange: the SAs it installed before QM2 go");
  await closePair(p);
});

test("the responder's kernel refuses its SAs before QM2: its notify ends the initiator's exchange, nothing stays on either side", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  p.b.kernel.add = async () => {
    throw kernelError("IKE_ERR_KERNEL_EINVAL", "ADD esp: invalid argument");
  };
  const fails: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, reason) => fails.push(reason));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 60);
  assert.deepEqual(await p.b.kernel.dump(), [], "the inbound SA updated before the refused ADD went again");
  assert.deepEqual(await p.a.kernel.dump(), [], "the initiator's larval SPI is freed");
  assert.deepEqual(fails, [`peer refused Quick Mode: notify ${Notify.NoProposalChosen}`]);
  assert.equal(p.a.engine.rekeyable, 0);
  await closePair(p);
});

test("a responder whose QM3 never comes removes the SAs it installed before QM2", async () => {
  // The initiator's kernel refuses, so it sends no QM3, and its notify is lost on the way
  // (Informational is exchange type 5, byte 18 of the ISAKMP header).
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", { network: { impair: { filter: (d, from) => (from.address === "10.0.0.1" && d[18] === 5 ? "drop" : "pass") } } });
  p.a.kernel.add = async () => {
    throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", "no");
  };
  const failsB: string[] = [];
  p.b.engine.on("phase2-failed", (_sa, reason) => failsB.push(reason));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal((await p.b.kernel.dump()).filter((x) => x.state === "mature").length, 2, "the responder's SAs went in before QM2");
  for (let i = 0; i < 60 && failsB.length === 0; i++) {
    p.clock.advance(5_000);
    await settle(p, 10);
  }
  assert.deepEqual(failsB, ["Quick Mode: no answer"]);
  assert.deepEqual(await p.b.kernel.dump(), [], "both of the responder's SAs are gone");
  await closePair(p);
});

test("an ACQUIRE naming the SA's endpoints (a tunnel's gateways) negotiates with the far gateway", async () => {
  const tunnelA = "{ tunnel gw negotiate tunnel laddr 198.51.100.0/24 raddr 203.0.113.0/24 } ipsec { encr_algs aes encr_auth_algs sha1 }\n";
  const tunnelB = "{ tunnel gw negotiate tunnel laddr 203.0.113.0/24 raddr 198.51.100.0/24 } ipsec { encr_algs aes encr_auth_algs sha1 }\n";
  const p = qmPair(tunnelA, tunnelB);
  const ev: AcquireEvent = {
    type: "acquire",
    seq: 9,
    src: { address: "198.51.100.1", port: 0 },
    dst: { address: "203.0.113.1", port: 0 },
    ulp: 1,
    proto: "esp",
    mode: "tunnel",
    policy: { index: 1, selector: null, combinations: [] },
    endpoints: { src: "10.0.0.1", dst: "10.0.0.2" },
  };
  const r = p.a.engine.acquire(ev);
  assert.deepEqual(r, { outcome: "started", peer: { address: "10.0.0.2", port: 500 } });
  await settle(p, 40);
  const sas = await p.a.kernel.dump();
  assert.equal(sas.length, 2);
  for (const s of sas) {
    assert.equal(s.mode, "tunnel");
    assert.deepEqual([s.src, s.dst].sort(), ["10.0.0.1", "10.0.0.2"]);
  }
  assert.deepEqual(sas.find((s) => s.src === "10.0.0.1")?.selector, { src: "198.51.100.0/24", dst: "203.0.113.0/24", ulp: 0, srcPort: 0, dstPort: 0 });
  await closePair(p);
});

test("a soft EXPIRE rekeys without the first ACQUIRE's sequence number", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const seen: Array<number | undefined> = [];
  const getSpi = p.a.kernel.getSpi.bind(p.a.kernel);
  p.a.kernel.getSpi = (src, dst, proto, range, options?: GetSpiOptions) => {
    seen.push(options?.seq);
    assert.equal(options?.reqid, IKED_REQID);
    return getSpi(src, dst, proto, range, options);
  };
  await upPair(p, 41);
  const out = await outbound(p);
  assert.equal(p.a.engine.expire({ type: "expire", kind: "soft", reason: "addtime", sa: { ...out, state: "dying" } }), "rekeying");
  await settle(p, 40);
  assert.deepEqual(seen, [41, undefined]);
  assert.equal((await p.a.kernel.dump()).length, 4, "old and new pair until the old one expires");
  await closePair(p);
});

test("the responder installs both its SAs before QM2 leaves; the initiator on QM2", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const order: string[] = [];
  for (const [name, side] of [["a", p.a], ["b", p.b]] as const) {
    const update = side.kernel.update.bind(side.kernel);
    const add = side.kernel.add.bind(side.kernel);
    side.kernel.update = (spec) => (order.push(`${name} in`), update(spec));
    side.kernel.add = (spec) => (order.push(`${name} out`), add(spec));
  }
  await upPair(p);
  assert.deepEqual(order, ["b in", "b out", "a in", "a out"]);
  await closePair(p);
});

/** Logs each side's kernel UPDATE (`in`) and ADD (`out`) into `order`; `onAdd` runs before an ADD. */
function watchInstalls(p: Pair, order: string[], onAdd?: (side: "a" | "b", spi: number) => Promise<void>): void {
  for (const [name, side] of [["a", p.a], ["b", p.b]] as const) {
    const update = side.kernel.update.bind(side.kernel);
    const add = side.kernel.add.bind(side.kernel);
    side.kernel.update = (spec) => (order.push(`${name} in`), update(spec));
    side.kernel.add = async (spec) => {
      order.push(`${name} out`);
      await onAdd?.(name, spec.spi);
      return add(spec);
    };
  }
}

/**
 * Records the install order, and each outbound SA b adds while a's matching inbound SA is not yet
 * mature (Linux sends b's answers on it from then on: a must be able to take them).
 */
function watchOutboundOrder(p: Pair, order: string[]): string[] {
  const early: string[] = [];
  watchInstalls(p, order, async (side, spi) => {
    if (side !== "b") return;
    const inbound = (await p.a.kernel.dump()).find((s) => s.spi === spi && s.dst === "10.0.0.1");
    if (inbound?.state !== "mature") early.push(`b added outbound ${spi.toString(16)} while a's inbound SA was ${inbound?.state ?? "absent"}`);
  });
  return early;
}

test("a rekey: the responder adds its new outbound SA on QM3, once the initiator holds the inbound one (the kernel sends on the newest SA at once)", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const order: string[] = [];
  const early = watchOutboundOrder(p, order);
  const out = await outbound(p);
  assert.equal(p.a.engine.expire({ type: "expire", kind: "soft", reason: "addtime", sa: { ...out, state: "dying" } }), "rekeying");
  await settle(p, 40);
  assert.deepEqual(early, []);
  assert.deepEqual(order, ["b in", "a in", "a out", "b out"]);
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 4, "old and new pair until the old one expires");
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 4);
  await closePair(p);
});

/** a deletes its ISAKMP SA alone (its IPsec SAs live on); b drops its own on the Delete: no SA of either is left to hold the pair. */
async function dropIsakmpSas(p: Pair): Promise<void> {
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  await p.a.engine.deleteSa(sa, "test: ISAKMP SA only", false);
  await settle(p, 40);
  assert.equal(p.a.engine.sas.all().filter((s) => !s.isDead()).length, 0);
  assert.equal(p.b.engine.sas.all().filter((s) => !s.isDead()).length, 0);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2, "the IPsec SAs outlive their ISAKMP SA");
}

test("a rekey after the pair's ISAKMP SA went with no successor (the peer's Delete of it): the responder still sees the pair and adds its new outbound SA on QM3", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  await dropIsakmpSas(p);
  const order: string[] = [];
  const early = watchOutboundOrder(p, order);
  const out = await outbound(p);
  // The soft EXPIRE negotiates a new Phase 1 first, then the Quick Mode on it.
  assert.equal(p.a.engine.expire({ type: "expire", kind: "soft", reason: "addtime", sa: { ...out, state: "dying" } }), "rekeying");
  await settle(p, 40);
  assert.deepEqual(early, []);
  assert.deepEqual(order, ["b in", "a in", "a out", "b out"]);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 4, "old and new pair until the old one expires");
  await closePair(p);
});

test("a rekey on another ISAKMP SA with the peer after the pair's own went with no successor: the responder still sees the pair (no new Phase 1, no INITIAL-CONTACT involved)", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const first = p.a.engine.sas.all().find((s) => s.state === "established")!;
  // A second ISAKMP SA with the peer, holding no IPsec SA; then the first one goes alone.
  initiate(p, "to-b");
  await settle(p, 40);
  await p.a.engine.deleteSa(first, "test: ISAKMP SA only", false);
  await settle(p, 40);
  assert.equal(p.b.engine.sas.all().filter((s) => s.state === "established").length, 1);
  const order: string[] = [];
  watchInstalls(p, order);
  const out = await outbound(p);
  assert.equal(p.a.engine.expire({ type: "expire", kind: "soft", reason: "addtime", sa: { ...out, state: "dying" } }), "rekeying");
  await settle(p, 40);
  assert.deepEqual(order, ["b in", "a in", "a out", "b out"]);
  assert.equal(p.a.engine.sas.all().filter((s) => !s.isDead()).length, 1, "the Quick Mode ran on the second ISAKMP SA");
  await closePair(p);
});

test("the peer's Delete of an ISAKMP SA while a newer one with it is up hands its pairs to the newer one: their hard EXPIRE tells the peer under it", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  await upPair(p);
  const first = p.a.engine.sas.all().find((s) => s.state === "established")!;
  initiate(p, "to-b");
  await settle(p, 40);
  await p.a.engine.deleteSa(first, "test: ISAKMP SA only", false);
  await settle(p, 40);
  assert.equal(p.b.engine.sas.all().filter((s) => s.state === "established").length, 1);
  assert.equal(p.b.engine.heldIpsecSas().length, 1);
  assert.equal(p.b.engine.debugSizes()["orphans"], 0, "b's pair is under the newer ISAKMP SA, not orphaned");
  // b's outbound SA reaches its hard lifetime: b tells a under the newer ISAKMP SA, and a drops its pair.
  const gone = (await p.b.kernel.dump()).find((s) => s.src === "10.0.0.2")!;
  await p.b.kernel.delete(gone.src, gone.dst, gone.proto, gone.spi);
  assert.equal(p.b.engine.expire({ type: "expire", kind: "hard", reason: "addtime", sa: { ...gone, state: "dead" } }), "deleting");
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).length, 0, "a was told and removed its pair");
  assert.equal((await p.b.kernel.dump()).length, 0);
  await closePair(p);
});

test("half of a pair whose ISAKMP SA went deleted from the kernel by someone else: the other half goes too, and nothing of the pair is left in the tables", async () => {
  for (const how of ["delete", "hard"] as const) {
    const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
    await upPair(p);
    await dropIsakmpSas(p);
    assert.equal(p.a.engine.rekeyable, 2);
    // a's inbound SA leaves its kernel (ip xfrm state delete, or its hard byte lifetime: the halves count apart).
    const inbound = (await p.a.kernel.dump()).find((s) => s.dst === "10.0.0.1")!;
    await p.a.kernel.delete(inbound.src, inbound.dst, inbound.proto, inbound.spi);
    if (how === "delete") assert.equal(p.a.engine.kernelRemoved({ type: "delete", src: inbound.src, dst: inbound.dst, proto: "esp", spi: inbound.spi }), 1);
    else assert.equal(p.a.engine.expire({ type: "expire", kind: "hard", reason: "bytes", sa: { ...inbound, state: "dead" } }), "ignored");
    await settle(p, 40);
    // Left alone, the outbound half would carry traffic the peer can no longer answer, with no rekey, until its own hard lifetime.
    assert.deepEqual(await p.a.kernel.dump(), [], `${how}: the outbound half is removed too`);
    const sizes = p.a.engine.debugSizes();
    assert.deepEqual([sizes["orphans"], sizes["owners"], sizes["rekeyInfo"]], [0, 0, 0], how);
    await closePair(p);
  }
});

test("a pair whose ISAKMP SA went is no longer seen once the kernel removed it (hard EXPIRE, DELETE, FLUSH): new traffic installs both SAs before QM2 again", async () => {
  for (const how of ["hard", "delete", "flush"] as const) {
    const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
    await upPair(p);
    await dropIsakmpSas(p);
    // The old pair leaves b's kernel (a's as well: its peer no longer has it either).
    for (const side of [p.a, p.b]) {
      // (The first half's hard EXPIRE or DELETE has the daemon remove the other half: a fresh dump each time.)
      for (let sa = (await side.kernel.dump())[0]; sa !== undefined; sa = (await side.kernel.dump())[0]) {
        await side.kernel.delete(sa.src, sa.dst, sa.proto, sa.spi);
        if (how === "hard") side.engine.expire({ type: "expire", kind: "hard", reason: "addtime", sa: { ...sa, state: "dead" } });
        else if (how === "delete") side.engine.kernelRemoved({ type: "delete", src: sa.src, dst: sa.dst, proto: "esp", spi: sa.spi });
      }
      if (how === "flush") side.engine.kernelRemoved({ type: "flush", proto: null });
    }
    assert.equal(p.b.engine.debugSizes()["orphans"], 0, `${how}: nothing left of the old pair`);
    const order: string[] = [];
    watchInstalls(p, order);
    await upPair(p);
    assert.deepEqual(order, ["b in", "b out", "a in", "a out"], how);
    await closePair(p);
  }
});

test("other traffic with a peer that already has a pair (a tunnel beside transport) is no rekey: the responder's SAs go in before QM2", async () => {
  const tunnel = (l: string, r: string) => `{ tunnel t negotiate tunnel laddr ${l} raddr ${r} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;
  const p = qmPair(esp("10.0.0.2") + tunnel("198.51.100.0/24", "203.0.113.0/24"), esp("10.0.0.1") + tunnel("203.0.113.0/24", "198.51.100.0/24"));
  await upPair(p);
  const order: string[] = [];
  watchInstalls(p, order);
  const sel = selectForAcquire(p.a.ipsec!, { src: { address: "198.51.100.1", port: 0 }, dst: { address: "203.0.113.1", port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") return;
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
  await settle(p, 40);
  assert.deepEqual(order, ["b in", "b out", "a in", "a out"]);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.mode === "tunnel").length, 2);
  await closePair(p);
});

test("an ACQUIRE for traffic whose Quick Mode is under way (either role) starts nothing more", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const update = p.b.kernel.update.bind(p.b.kernel);
  p.b.kernel.update = async (spec) => {
    await held; // the responder sits in QM1 processing
    return update(spec);
  };
  const flow = (src: string, dst: string, seq: number): AcquireEvent => ({
    type: "acquire", seq, src: { address: src, port: 0 }, dst: { address: dst, port: 0 }, ulp: 1, proto: "esp", mode: "transport", policy: { index: 1, selector: null, combinations: [] },
  });
  assert.equal(p.a.engine.acquire(flow("10.0.0.1", "10.0.0.2", 1)).outcome, "started");
  await settle(p, 40);
  assert.equal(p.a.engine.acquire(flow("10.0.0.1", "10.0.0.2", 2)).outcome, "in-progress", "initiator: QM1 sent, waiting");
  assert.equal(p.b.engine.acquire(flow("10.0.0.2", "10.0.0.1", 3)).outcome, "in-progress", "responder: the reply racing the SAs");
  release();
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).length, 2, "one pair, no second negotiation");
  assert.equal((await p.b.kernel.dump()).length, 2);
  assert.equal(p.a.engine.acquire(flow("10.0.0.1", "10.0.0.2", 4)).outcome, "started", "done: a new ACQUIRE negotiates again");
  await closePair(p);
});

test("the peer deletes a pair while our Quick Mode still waits for QM3: the exchange ends, nothing of the pair is recorded (exchange fuzzer, seed 20261208 #481067)", async () => {
  // a's fifth datagram is QM3 (MM1, MM3, MM5, QM1, QM3): lost once on the way to b.
  let fromA = 0;
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", {
    network: { impair: { filter: (_d, src) => (src.address === "10.0.0.1" && ++fromA === 5 ? "drop" : "pass") } },
  });
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 2, "a finished its Quick Mode");
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2, "b installed its pair before QM2");
  // a's outbound SA reaches its hard lifetime: a Delete for the pair goes to b, still waiting for QM3.
  const out = await outbound(p);
  await p.a.kernel.delete(out.src, out.dst, out.proto, out.spi);
  assert.equal(p.a.engine.expire({ type: "expire", kind: "hard", reason: "addtime", sa: { ...out, state: "dead" } }), "deleting");
  await settle(p, 40);
  assert.deepEqual(await p.b.kernel.dump(), [], "b removed the pair on the Delete");
  // b's retransmitted QM2 would draw QM3 from a's reply cache: it must not bring the pair back.
  for (let i = 0; i < 6; i++) {
    p.clock.advance(5_000);
    await settle(p, 20);
  }
  assert.deepEqual(await p.b.kernel.dump(), []);
  const sizes = p.b.engine.debugSizes();
  assert.equal(sizes["owners"], 0, `b still names owners of a pair it does not hold: ${JSON.stringify(sizes)}`);
  await closePair(p);
});
