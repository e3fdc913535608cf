/**
 * NAT traversal (RFC 3947) between two engines with a NAT between them (test/helpers/memory-nat.ts):
 * vendor IDs, NAT-D, which side is behind the NAT, the float to the NAT-T port, UDP-encapsulated
 * SAs with their ports in the kernel, NAT-OA, keepalives, and the SA following a NAT rebinding only
 * on an authenticated message. Hostile cases and races of a rebinding: nat-rebinding.test.ts. Real
 * NATs and real peers: test/daemon-interop/nat-traversal.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, PayloadType } from "../../src/codec/index.js";
import { policyFrom, pskText, ruleText } from "./harness.js";
import { close, established, GW, gwSas, HOME, NAT, quickMode, settle, up, world, XF } from "./nat-world.js";

test("Main Mode through a NAT: vendor IDs, NAT-D, the home side behind the NAT, both float to 4500", async () => {
  const w = world();
  up(w);
  await settle(w);
  const h = established(w.home.engine);
  const g = established(w.gw.engine);
  assert.deepEqual({ ...h.natt, detection: { ...h.natt!.detection } }, { version: "rfc3947", floated: true, detection: { localBehindNat: true, peerBehindNat: false } });
  assert.deepEqual({ ...g.natt, detection: { ...g.natt!.detection } }, { version: "rfc3947", floated: true, detection: { localBehindNat: false, peerBehindNat: true } });
  assert.deepEqual(h.remote, { address: GW, port: 4500 });
  assert.deepEqual(h.local, { address: HOME, port: 4500 });
  assert.deepEqual(g.remote, w.nat!.mappingOf({ address: HOME, port: 4500 }));
  assert.equal(g.local.port, 4500);
  // On the wire: MM1 offers the four versions, MM2 names one, MM3/MM4 carry two NAT-D each.
  const clear = w.tap.filter((r) => r.fate === "delivered").map((r) => decodeMessage(r.datagram)).filter((m) => m.ok && m.value.kind === "plain");
  const types = clear.map((m) => (m.ok && m.value.kind === "plain" ? m.value.payloads.map((p) => p.type) : []));
  assert.equal(types[0]!.filter((t) => t === PayloadType.VID).length, 4);
  assert.equal(types[1]!.filter((t) => t === PayloadType.VID).length, 1);
  assert.equal(types[2]!.filter((t) => t === PayloadType.NATD).length, 2);
  assert.equal(types[3]!.filter((t) => t === PayloadType.NATD).length, 2);
  // Everything after MM4 went between the NAT-T ports.
  const later = w.tap.filter((r) => r.fate === "delivered").slice(4);
  assert.ok(later.length >= 2 && later.every((r) => r.from.port !== 500 && r.to.port !== 500), "MM5 and MM6 on the NAT-T ports");
  close(w);
});

test("Aggressive Mode through a NAT: NAT-D in AM2 and AM3, AM3 from the NAT-T port", async () => {
  const w = world({ mode: "aggressive" });
  up(w, "aggressive");
  await settle(w);
  const h = established(w.home.engine);
  const g = established(w.gw.engine);
  assert.equal(h.natt?.detection?.localBehindNat, true);
  assert.equal(g.natt?.detection?.peerBehindNat, true);
  assert.equal(h.natt?.floated, true);
  assert.equal(g.natt?.floated, true);
  assert.deepEqual(g.remote, w.nat!.mappingOf({ address: HOME, port: 4500 }));
  close(w);
});

test("no NAT between NAT-T peers: NAT-D says so, nobody floats, ESP stays plain", async () => {
  const w = world({ noNat: true });
  const p = policyFrom(ruleText("to-gw", "10.0.0.1", GW, XF), pskText("10.0.0.1", GW, "x")).ruleByLabel("to-gw")!;
  w.home.engine.initiate(p, { address: "10.0.0.1", port: 500 }, { address: GW, port: 500 });
  await settle(w);
  const h = established(w.home.engine);
  assert.deepEqual(h.natt?.detection, { localBehindNat: false, peerBehindNat: false });
  assert.equal(h.natt?.floated, false);
  assert.equal(h.remote.port, 500);
  close(w);
});

test("a peer without NAT-T: no vendor ID answered, no NAT-D, no float; its private address ID stays refused", async () => {
  const w = world({ gwNatt: false });
  const seen: string[] = [];
  w.home.engine.on("phase1-failed", (_sa, reason) => seen.push(reason));
  const sa = up(w);
  await settle(w);
  assert.equal(sa.natt, undefined);
  assert.equal(sa.remote.port, 500);
  const plain = w.tap.filter((r) => r.fate === "delivered").map((r) => decodeMessage(r.datagram)).filter((m) => m.ok && m.value.kind === "plain");
  const types = plain.map((m) => (m.ok && m.value.kind === "plain" ? m.value.payloads.map((p) => p.type) : []));
  assert.equal(types[1]!.filter((t) => t === PayloadType.VID).length, 0, "MM2 names no NAT-T version");
  assert.equal(types[2]!.filter((t) => t === PayloadType.NATD || t === PayloadType.NATDDraft).length, 0, "MM3 has no NAT-D");
  assert.equal(w.gw.engine.sas.all().filter((s) => s.state === "established").length, 0);
  close(w);
});

test("Quick Mode through a NAT: UDP-encapsulated transport mode, NAT-OA, kernel SAs with the NAT-T ports", async () => {
  const w = world();
  up(w);
  await settle(w);
  await quickMode(w);
  const home = (await w.home.kernel.dump()).filter((s) => s.state === "mature");
  const gw = (await w.gw.kernel.dump()).filter((s) => s.state === "mature");
  assert.equal(home.length, 2);
  assert.equal(gw.length, 2);
  const pub = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  for (const s of home) {
    const out = s.src === HOME;
    assert.deepEqual({ sport: s.encap?.sport, dport: s.encap?.dport }, { sport: 4500, dport: 4500 }, `home ${s.src}>${s.dst}`);
    assert.equal(out ? s.encap?.originalDst : s.encap?.originalSrc, GW, "NAT-OA: the gateway's address");
  }
  for (const s of gw) {
    const out = s.src === GW;
    assert.deepEqual({ sport: s.encap?.sport, dport: s.encap?.dport }, out ? { sport: 4500, dport: pub.port } : { sport: pub.port, dport: 4500 }, `gw ${s.src}>${s.dst}`);
    // NAT-OA: the gateway learnt the home side's address before the NAT.
    assert.equal(out ? s.encap?.originalDst : s.encap?.originalSrc, HOME);
  }
  close(w);
});

test("keepalives every 20 s from the side behind the NAT, none from the other", async () => {
  const w = world();
  up(w);
  await settle(w);
  w.clock.advance(20_000);
  w.clock.advance(20_000);
  await settle(w);
  assert.deepEqual(w.nat!.keepalives, [`${HOME}:4500 -> ${GW}:4500`, `${HOME}:4500 -> ${GW}:4500`]);
  assert.ok(!established(w.gw.engine).timerNames().includes("natt-keepalive"));
  close(w);
});

test("NAT rebinding: the gateway's SA follows an authenticated message from the new port, not a clear one", async () => {
  const w = world();
  up(w);
  await settle(w);
  const g = established(w.gw.engine);
  const before = { ...g.remote };
  w.nat!.rebind();
  // A clear message with the SA's cookies from the new mapping: dropped, the SA stays.
  const h = established(w.home.engine);
  const clearMsg = Buffer.alloc(28);
  h.icookie.copy(clearMsg, 0);
  h.rcookie.copy(clearMsg, 8);
  clearMsg.writeUInt8(0x10, 17);
  clearMsg.writeUInt8(5, 18);
  clearMsg.writeUInt32BE(28, 24);
  w.nat!.send(clearMsg, h.local, h.remote);
  await settle(w);
  assert.deepEqual(g.remote, before);
  assert.equal(w.gw.engine.stats.engine.nattMoves, 1, "only MM5's float so far");
  // Quick Mode from the home side (authenticated by HASH(1)) moves the SA to the new mapping.
  await quickMode(w);
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.notDeepEqual(after, before);
  assert.deepEqual(g.remote, after);
  assert.equal(w.gw.engine.stats.engine.nattMoves, 2);
  const gw = (await w.gw.kernel.dump()).filter((s) => s.state === "mature");
  assert.equal(gw.length, 2, "Quick Mode answered at the new mapping");
  // The SAs that Quick Mode installed (the responder's before QM2) encapsulate to the new mapping.
  for (const s of gw) {
    const out = s.src === GW;
    assert.deepEqual({ sport: s.encap?.sport, dport: s.encap?.dport }, out ? { sport: 4500, dport: after.port } : { sport: after.port, dport: 4500 }, `gw ${s.src}>${s.dst}`);
  }
  close(w);
});

test("NAT rebinding: the IPsec SAs already in the kernel take the peer's new port, both directions", async () => {
  const w = world();
  up(w);
  await settle(w);
  await quickMode(w);
  const before = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  const first = await gwSas(w);
  assert.equal(first.length, 2);
  for (const s of first) assert.deepEqual([s.sport, s.dport], s.out ? [4500, before.port] : [before.port, 4500]);
  w.nat!.rebind();
  await quickMode(w);
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.notEqual(after.port, before.port);
  const all = await gwSas(w);
  assert.equal(all.length, 4, "the first pair and the one negotiated at the new mapping");
  for (const s of all) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500], `gw SA ${s.spi.toString(16)} out=${s.out}`);
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebound, 2, "the first pair's two SAs updated");
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebindFailed, 0);
  // The side behind the NAT sends from and to 4500 as before: nothing of its own changed.
  for (const s of (await w.home.kernel.dump()).filter((x) => x.state === "mature")) assert.deepEqual([s.encap?.sport, s.encap?.dport], [4500, 4500]);
  close(w);
});

test("NAT rebinding: a pair the kernel refuses the new port for is deleted (peer told), the others still follow", async () => {
  const w = world();
  up(w);
  await settle(w);
  await quickMode(w);
  await quickMode(w);
  const pairs = (await gwSas(w)).filter((s) => !s.out).map((s) => s.spi);
  assert.equal(pairs.length, 2);
  const refused = pairs[0]!;
  const real = w.gw.kernel.updateEncap.bind(w.gw.kernel);
  w.gw.kernel.updateEncap = async (src, dst, proto, spi, ports) => {
    if (spi === refused) throw new Error("refused for the test");
    return real(src, dst, proto, spi, ports);
  };
  w.nat!.rebind();
  await quickMode(w);
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  const left = await gwSas(w);
  assert.ok(!left.some((s) => s.spi === refused), "the refused pair's inbound SA is gone");
  assert.equal(left.length, 4, "the other pair and the new one");
  for (const s of left) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500]);
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebound, 2);
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebindFailed, 2);
  // The Delete reached the home side: it holds the same two pairs.
  assert.equal((await w.home.kernel.dump()).filter((x) => x.state === "mature").length, 4);
  close(w);
});

test("NAT rebinding: a DPD probe (a protected Informational) from the new mapping moves the SA and its IPsec SAs", async () => {
  const w = world({ dpdSecs: 10 });
  up(w);
  await settle(w);
  await quickMode(w);
  const g = established(w.gw.engine);
  w.nat!.rebind();
  // Both sides idle for the interval: the home side's R-U-THERE makes a new mapping and arrives
  // from there (the gateway's own probe goes to the dead mapping and is lost).
  w.clock.advance(10_000);
  await settle(w);
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.deepEqual(g.remote, after);
  assert.equal(w.gw.engine.stats.engine.nattMoves, 2, "MM5's float, then the probe");
  for (const s of await gwSas(w)) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500]);
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebound, 2);
  assert.equal(w.home.engine.stats.engine.dpdAcks, 1, "the ACK came back through the new mapping");
  close(w);
});

test("NAT rebinding: our own Informational sent back to us from a new port is a replay: no proof of life, no move", async () => {
  const w = world({ dpdSecs: 10 });
  up(w);
  await settle(w);
  await quickMode(w);
  const g = established(w.gw.engine);
  const before = { ...g.remote };
  // Idle for the interval: the gateway probes the home side (R-U-THERE, a protected Informational).
  w.clock.advance(10_000);
  await settle(w);
  const ours = w.tap.filter((r) => r.from.address === GW && r.from.port === 4500 && r.datagram.length > 28 && r.datagram[18] === 5);
  assert.ok(ours.length >= 1, "the gateway's R-U-THERE on the wire");
  const heard = g.dpd.lastHeard;
  const moves = w.gw.engine.stats.engine.nattMoves;
  // Someone who can spoof the NAT's address sends it back from a port of its choosing. IKEv1's
  // HASH(1) names no direction, so it would verify; its message ID is one we used.
  w.clock.advance(1_000);
  const attacker = w.network.attach([{ address: NAT, port: 45_555 }]);
  attacker.send(ours.at(-1)!.datagram, { address: NAT, port: 45_555 }, { address: GW, port: 4500 });
  await settle(w);
  assert.deepEqual(g.remote, before, "the SA stays at the peer's mapping");
  assert.equal(w.gw.engine.stats.engine.nattMoves, moves);
  assert.equal(g.dpd.lastHeard, heard, "not taken for the peer's word");
  for (const s of await gwSas(w)) assert.deepEqual([s.sport, s.dport], s.out ? [4500, before.port] : [before.port, 4500]);
  close(w);
});
