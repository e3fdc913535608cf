/**
 * Dead Peer Detection (RFC 3706) between two engines on the manual clock: the vendor ID in Main and
 * Aggressive Mode, R-U-THERE only when the peer is idle (IKE messages and inbound IPsec traffic
 * count), ACKs matched by sequence number, replays and strangers ignored, the peer dead after
 * `dpd_retries` unanswered probes `dpd_interval_secs` apart, its SAs gone (kernel too) and a fresh
 * negotiation on the next ACQUIRE.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExchangeType, Notify, PayloadType, decodeHeader, decodeMessageBody } from "../../src/codec/index.js";
import type { AcquireEvent } from "../../src/kernel/kernel.js";
import { DPD_VENDOR_ID } from "../../src/ike/dpd.js";
import { dpdNotify, protectedInformational } from "../../src/ike/informational.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { forge, forgedQm1 } from "../hostile/forge.js";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { configPolicy } from "../../src/ike/ports.js";
import { initiate, pskText, ruleText, settle, type Pair } from "./harness.js";
import { XF, closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { failGets } from "./kernel-faults.js";

const DPD = "dpd_interval_secs 10\n  dpd_retries 3";

/** a and b with Quick Mode SAs up; `extraA`/`extraB` go into each rule. */
async function upPair(extraA = DPD, extraB = DPD): Promise<{ p: Pair; sa: IsakmpSa; peer: IsakmpSa }> {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), extraA, extraB);
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  const peer = p.b.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(sa !== undefined && peer !== undefined);
  assert.equal(sa.ipsecCreated, 1);
  return { p, sa, peer };
}

/** Advance the clock `steps` times by `ms`, letting the engines run in between. */
async function tick(p: Pair, ms: number, steps = 1): Promise<void> {
  for (let i = 0; i < steps; i++) {
    p.clock.advance(ms);
    await settle(p, 10);
  }
}


function acquireEvent(): AcquireEvent {
  return {
    type: "acquire", seq: 77, src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.2", port: 0 }, ulp: 0,
    proto: "esp", mode: "transport", policy: { index: 0, selector: null, combinations: [] },
  };
}

test("both sides send the DPD vendor ID in MM1 and MM2; an idle peer is probed and its ACK matches", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), DPD, DPD);
  const vids: string[] = [];
  p.network.tap((r) => {
    const h = decodeHeader(r.datagram);
    if (!h.ok || h.value.exchangeType !== ExchangeType.IdentityProtection || (h.value.flags & 1) !== 0) return;
    const m = decodeMessageBody(h.value, r.datagram);
    if (m.ok && m.value.kind === "plain" && m.value.payloads.some((x) => x.type === PayloadType.VID && x.data.equals(DPD_VENDOR_ID))) vids.push(r.from.address);
  });
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual([...new Set(vids)].sort(), ["10.0.0.1", "10.0.0.2"]);
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  assert.equal(sa.dpd.active, true);
  assert.equal(sa.dpd.peerSent, true);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 0);
  await tick(p, 9_000);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 0, "not idle for 10 s yet");
  await tick(p, 1_000);
  assert.ok(p.a.engine.stats.engine.dpdProbes >= 1, "R-U-THERE after 10 s idle");
  assert.equal(p.a.engine.stats.engine.dpdAcks, p.a.engine.stats.engine.dpdProbes, "every probe answered");
  assert.equal(sa.dpd.unanswered.length, 0);
  assert.ok(sa.dpd.lastAck !== undefined);
  const first = sa.dpd.seq!;
  await tick(p, 10_000, 3);
  assert.equal(sa.state, "established");
  const probes = p.a.engine.stats.engine.dpdProbes;
  assert.ok(probes >= 2);
  assert.equal(sa.dpd.seq, (first + probes - 1) >>> 0, "one up per R-U-THERE");
  assert.equal(p.a.engine.stats.engine.dpdAcksIgnored, 0);
  await closePair(p);
});

test("Aggressive Mode carries the DPD vendor ID both ways (AM1, AM2)", async () => {
  const both = (l: string, r: string): string => pskText(l, r, "qm-secret").replace(/\}\n$/, "  ike_mode both\n}\n");
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), DPD, DPD, { pskA: both("10.0.0.1", "10.0.0.2"), pskB: both("10.0.0.2", "10.0.0.1") });
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, "aggressive");
  await settle(p, 40);
  assert.equal(sa.state, "established", sa.deathReason);
  assert.equal(sa.phase1?.exchange, "aggressive");
  assert.equal(sa.dpd.peerSent, true);
  assert.equal(sa.dpd.active, true);
  const peer = p.b.engine.sas.all().find((s) => s.state === "established")!;
  assert.equal(peer.dpd.peerSent, true);
  assert.equal(peer.dpd.active, true);
  await closePair(p);
});

test("a verified IKE message or inbound IPsec traffic keeps the peer from being probed", async () => {
  const { p, sa, peer } = await upPair();
  // b sends nothing, but its IPsec SA towards a carries traffic: a's inbound counters rise.
  const inbound = (await p.a.kernel.dump()).find((s) => s.dst === "10.0.0.1" && s.state === "mature")!;
  for (let i = 0; i < 5; i++) {
    p.a.kernel.account(inbound.src, inbound.dst, inbound.proto, inbound.spi, { bytes: 100 });
    await tick(p, 9_000);
  }
  assert.equal(p.a.engine.stats.engine.dpdProbes, 0, "traffic from the peer: no R-U-THERE");
  void peer;
  assert.equal(sa.state, "established");
  await closePair(p);
});

test("a kernel error reading the traffic (not 'no such SA') keeps the last count: old traffic is not taken for new", async () => {
  const { p, sa } = await upPair();
  const inbound = (await p.a.kernel.dump()).find((s) => s.dst === "10.0.0.1" && s.state === "mature")!;
  p.a.kernel.account(inbound.src, inbound.dst, inbound.proto, inbound.spi, { bytes: 100 });
  await tick(p, 10_000); // 10 s: the traffic counts, the peer is alive
  assert.equal(p.a.engine.stats.engine.dpdProbes, 0);
  // 20 s: the kernel fails the look; no traffic seen, so an R-U-THERE, which b answers.
  const faults = failGets(p.a.kernel, 1);
  await tick(p, 10_000);
  assert.equal(faults.failed(), 1);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 1);
  assert.equal(sa.dpd.unanswered.length, 0, "ACKed");
  // b dies. At 30 s the counters have not moved since 10 s: a probe, not "traffic".
  p.network.setImpairment({ filter: () => "drop" });
  await tick(p, 10_000);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 2, "the old count is no proof of life");
  await tick(p, 10_000, 3);
  assert.equal(sa.state, "dead", "dead after dpd_retries probes, on time");
  await closePair(p);
});

test("a dead peer: dpd_retries unanswered R-U-THEREs, then every SA with it goes, kernel too; ACQUIRE negotiates afresh", async () => {
  const { p, sa } = await upPair();
  assert.equal((await p.a.kernel.dump()).length, 2);
  // b dies: nothing it would send arrives, nothing reaches it.
  p.network.setImpairment({ filter: () => "drop" });
  const t0 = p.clock.now();
  await tick(p, 10_000); // idle 10 s: first R-U-THERE
  assert.equal(sa.dpd.unanswered.length, 1);
  await tick(p, 10_000, 2); // second and third
  assert.equal(sa.dpd.unanswered.length, 3);
  assert.equal(sa.state, "established", "still alive until the third probe had its interval");
  await tick(p, 10_000);
  assert.equal(sa.state, "dead");
  assert.match(sa.deathReason ?? "", /dead peer \(DPD: 3 R-U-THERE unanswered\)/);
  assert.ok(p.clock.now() - t0 <= 10_000 * (3 + 1), "gone within interval x (retries + 1) of the last traffic");
  assert.equal(p.a.engine.stats.engine.dpdPeersDead, 1);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 3);
  assert.deepEqual(await p.a.kernel.dump(), [], "the IPsec SAs are gone from the kernel");
  assert.equal(p.a.engine.sas.all().filter((s) => !s.isDead()).length, 0);
  // The policy stays: the next packet's ACQUIRE starts a fresh Main Mode, which succeeds once b is back.
  p.network.setImpairment({});
  const peerOld = p.b.engine.sas.all().filter((s) => !s.isDead());
  for (const s of peerOld) s.destroy("b rebooted");
  const r = p.a.engine.acquire(acquireEvent());
  assert.equal(r.outcome, "started");
  await settle(p, 40);
  const fresh = p.a.engine.sas.all().find((s) => s.state === "established");
  assert.ok(fresh !== undefined && fresh !== sa, "a new ISAKMP SA");
  assert.equal(fresh.ipsecCreated, 1, "and new IPsec SAs");
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  await closePair(p);
});

test("a dead peer's IPsec SAs that outlived their ISAKMP SA go too (kernel included), not only those under its live ISAKMP SAs", async () => {
  const { p, sa } = await upPair();
  // The pair's ISAKMP SA goes alone; a newer one with b (no IPsec SA under it) is what DPD watches.
  await p.a.engine.deleteSa(sa, "test: ISAKMP SA only", false);
  await settle(p, 40);
  initiate(p, "to-b");
  await settle(p, 40);
  const watched = p.a.engine.sas.all().find((s) => s.state === "established")!;
  assert.ok(watched !== undefined && watched !== sa);
  assert.equal((await p.a.kernel.dump()).length, 2, "the old pair outlived its ISAKMP SA");
  p.network.setImpairment({ filter: () => "drop" });
  await tick(p, 10_000, 5);
  assert.equal(watched.state, "dead");
  assert.deepEqual(await p.a.kernel.dump(), [], "the dead peer's pair is gone from the kernel too");
  assert.equal(p.a.engine.debugSizes()["orphans"], 0);
  await closePair(p);
});

test("messages that decrypt but fail their HASH are no sign of life: the dead peer is still declared dead on time", async () => {
  const { p, sa, peer } = await upPair();
  // b dies; only what an attacker forges with the SA's keys (or replays) still arrives.
  const forged = new Set<string>();
  p.network.setImpairment({ filter: (d, from) => (from.address === "10.0.0.2" && !forged.has(d.toString("hex")) ? "drop" : "pass") });
  const send = (d: Buffer): void => {
    forged.add(d.toString("hex"));
    p.network.submit(d, p.b.endpoint, p.a.endpoint);
  };
  const badHash = (mid: number): Buffer => {
    const body = [dpdNotify(peer, Notify.RUThere, Buffer.from([0, 0, 1, mid & 0xff]))];
    // HASH(1) of the right length (SHA-256), wrong value.
    return forge(peer, ExchangeType.Informational, mid, [{ type: PayloadType.HASH, data: Buffer.alloc(32, 0x5a) }, ...body]);
  };
  // Made now, while b still holds the keys (b's own DPD ends its SA meanwhile).
  const forgeries = Array.from({ length: 10 }, (_, i) => [badHash(0x0e0e_0100 + i), forgedQm1(peer, 0x0e0e_0200 + i)]);
  const t0 = p.clock.now();
  for (const pair of forgeries) {
    if (sa.state === "dead") break;
    // Every 5 s a forged Informational and a forged QM1, each decrypting and well-formed, HASH wrong.
    for (const d of pair) send(d);
    await tick(p, 5_000);
  }
  assert.equal(sa.state, "dead", "the forgeries did not keep the peer alive");
  assert.ok(p.clock.now() - t0 <= 10_000 * (3 + 1) + 5_000, "dead within interval x (retries + 1)");
  assert.equal(p.a.engine.stats.engine.dpdProbes, 3);
  await closePair(p);
});

test("an ACK with a sequence number of no probe of ours, and a replayed R-U-THERE, are ignored", async () => {
  const { p, sa, peer } = await upPair();
  const fromA = (): number => aSent.length;
  const aSent: Buffer[] = [];
  p.network.tap((r) => {
    if (r.from.address === "10.0.0.1") aSent.push(r.datagram);
  });
  // b's ACK for sequence number 7, which a never sent.
  const mid1 = 0x0d0d_0101;
  const ack = forge(peer, ExchangeType.Informational, mid1, protectedInformational(peer, mid1, [dpdNotify(peer, Notify.RUThereAck, Buffer.from([0, 0, 0, 7]))]));
  p.network.submit(ack, p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(p.a.engine.stats.engine.dpdAcksIgnored, 1);
  assert.equal(p.a.engine.stats.engine.dpdAcks, 0);
  // b's R-U-THERE 100 is answered; 99 afterwards is older: a replay, not answered.
  const ruThere = (mid: number, seq: number) =>
    forge(peer, ExchangeType.Informational, mid, protectedInformational(peer, mid, [dpdNotify(peer, Notify.RUThere, Buffer.from([0, 0, 0, seq]))]));
  p.network.submit(ruThere(0x0d0d_0102, 100), p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(fromA(), 1, "ACK for 100");
  assert.equal(sa.dpd.peerSeq, 100);
  p.network.submit(ruThere(0x0d0d_0103, 99), p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(fromA(), 1, "no ACK for 99");
  // RFC 3706 section 5: SPI = the cookies, data = a 4-byte sequence number; anything else is not answered.
  const odd = (mid: number, spi: Buffer, data: Buffer) => {
    const n = { ...dpdNotify(peer, Notify.RUThere, data), spi };
    return forge(peer, ExchangeType.Informational, mid, protectedInformational(peer, mid, [n]));
  };
  p.network.submit(odd(0x0d0d_0106, Buffer.alloc(16, 1), Buffer.from([0, 0, 0, 101])), p.b.endpoint, p.a.endpoint);
  p.network.submit(odd(0x0d0d_0107, Buffer.concat([peer.icookie, peer.rcookie]), Buffer.from([0, 0, 101])), p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(fromA(), 1, "no ACK for another SA's cookies or a 3-byte sequence number");
  assert.equal(sa.dpd.peerSeq, 100);
  // A probe of a's now, answered late by an ACK with the wrong number: still unanswered.
  p.network.setImpairment({ filter: (_d, from) => (from.address === "10.0.0.2" ? "drop" : "pass") });
  await tick(p, 10_000);
  assert.equal(sa.dpd.unanswered.length, 1);
  p.network.setImpairment({});
  const wrong = (sa.dpd.seq! + 1) >>> 0;
  const seqBuf = Buffer.alloc(4);
  seqBuf.writeUInt32BE(wrong);
  const mid4 = 0x0d0d_0104;
  p.network.submit(forge(peer, ExchangeType.Informational, mid4, protectedInformational(peer, mid4, [dpdNotify(peer, Notify.RUThereAck, seqBuf)])), p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(p.a.engine.stats.engine.dpdAcksIgnored, 2);
  // The right one clears it.
  seqBuf.writeUInt32BE(sa.dpd.seq!);
  const mid5 = 0x0d0d_0105;
  p.network.submit(forge(peer, ExchangeType.Informational, mid5, protectedInformational(peer, mid5, [dpdNotify(peer, Notify.RUThereAck, seqBuf)])), p.b.endpoint, p.a.endpoint);
  await settle(p, 10);
  assert.equal(sa.dpd.unanswered.length, 0);
  assert.equal(p.a.engine.stats.engine.dpdAcks, 1);
  await closePair(p);
});

test("no DPD unless both sent the vendor ID: a peer without it is never probed", async () => {
  const { p, sa, peer } = await upPair(DPD, "");
  assert.equal(sa.dpd.weSent, true);
  assert.equal(sa.dpd.peerSent, false);
  assert.equal(sa.dpd.active, false);
  assert.equal(peer.dpd.peerSent, true, "b saw a's vendor ID but sent none");
  assert.equal(peer.dpd.active, false);
  p.network.setImpairment({ filter: () => "drop" });
  await tick(p, 10_000, 8);
  assert.equal(p.a.engine.stats.engine.dpdProbes, 0);
  assert.equal(sa.state, "established");
  await closePair(p);
});

test("a reload (SIGHUP) applies to established SAs at their next DPD timer: a shorter interval, then DPD off", async () => {
  const text = (extra: string): string => ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  ${extra}`);
  const parse = (t: string) => {
    const c = parseIkeConfig(t, "ike.config");
    assert.ok(c.ok, JSON.stringify(c.diagnostics));
    return c.value;
  };
  const preshared = parsePreshared(pskText("10.0.0.1", "10.0.0.2", "qm-secret"), "ike.preshared");
  assert.ok(preshared.ok);
  let config = parse(text("dpd_interval_secs 30"));
  const policyA = configPolicy(() => ({ config, preshared: preshared.value }));
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", DPD, { policyA });
  p.a.engine.negotiate(policyA.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const sa = p.a.engine.sas.all().find((s) => s.state === "established")!;
  assert.equal(sa.dpd.active, true);
  // b probes a every 10 s of its own idleness; block that so only a's timers matter.
  p.network.setImpairment({ filter: (_d, from) => (from.address === "10.0.0.2" ? "drop" : "pass") });
  config = parse(text("dpd_interval_secs 5\n  dpd_retries 2"));
  await tick(p, 30_000); // the timer armed for 30 s fires, finds 5 s in force: first probe
  assert.equal(sa.dpd.unanswered.length, 1);
  await tick(p, 5_000);
  assert.equal(sa.dpd.unanswered.length, 2);
  config = parse(text("dpd_interval_secs 0"));
  await tick(p, 5_000, 4);
  assert.equal(sa.state, "established", "DPD turned off: never declared dead");
  assert.equal(sa.dpd.active, false, "and dump p1 says so");
  assert.equal(p.a.engine.stats.engine.dpdProbes, 2);
  assert.equal(p.a.engine.stats.engine.dpdPeersDead, 0);
  await closePair(p);
});

test("a dead peer's older SAs go with the probed one, but not an SA it negotiated since the probes began", async () => {
  const { p, sa } = await upPair();
  const older = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint);
  await settle(p, 40);
  assert.equal(older.state, "established");
  // Both SAs idle; `sa` starts probing into the void (b's answers are lost) while `older` is
  // left alone by b's DPD... then b, as if back from a reboot, completes a new Main Mode with a.
  p.network.setImpairment({ filter: () => "drop" });
  await tick(p, 10_000);
  assert.equal(sa.dpd.unanswered.length, 1);
  p.network.setImpairment({});
  const fresh = p.b.engine.initiate(p.b.policy.ruleByLabel("from-a")!, p.b.endpoint, p.a.endpoint);
  await settle(p, 40);
  assert.equal(fresh.state, "established");
  const freshAtA = p.a.engine.sas.all().find((s) => s.icookie.equals(fresh.icookie))!;
  p.network.setImpairment({ filter: () => "drop" });
  await tick(p, 10_000, 3);
  assert.equal(sa.state, "dead");
  assert.equal(older.state, "dead", "the older SA had not heard from the peer either");
  assert.notEqual(freshAtA.state, "dead", "the SA made after the probes began stays");
  await closePair(p);
});
