/**
 * NAT-T against hostile networks and races (issue 11): a Phase 1 message that decrypts but fails
 * its authentication moves nothing (RFC 3947 sections 5 and 7); IPsec SAs already gone from the
 * kernel when their ISAKMP SA follows a rebinding are forgotten quietly; the SAs of a Quick Mode
 * under way when the NAT rebinds (before QM3, before CONNECTED) follow too. Two engines with a
 * NAT between them (nat-world.ts); the plain NAT-T behaviour is nat-traversal.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { ipsecFrom } from "./harness.js";
import { close, established, GW, gwSas, HOME, NAT, quickMode, rebindOn, settle, up, world } from "./nat-world.js";

for (const mode of ["main", "aggressive"] as const) {
  const message = mode === "main" ? "MM5" : "AM3";
  test(`NAT-T: a ${message} that decrypts but fails its HASH_I, from a new port, does not move the ISAKMP SA`, async () => {
    const w = world(mode === "aggressive" ? { mode } : {});
    // The first encrypted Phase 1 message from the home side, as the network carries it from the
    // NAT's new mapping of the NAT-T port: one bit of its second ciphertext block flipped. CBC
    // garbles that block and flips the same bit in the next one, both inside HASH_I's data, so
    // the message still decrypts and decodes; only its HASH_I is wrong.
    let tampered = false;
    w.network.setImpairment({
      filter: (d, from, to) => {
        const off = d.readUInt32BE(0) === 0 ? 4 : 0; // the non-ESP marker, where one is carried
        if (tampered || from.address !== NAT || to.port !== 4500 || (d[off + 19]! & 1) === 0 || d.readUInt32BE(off + 20) !== 0) return "pass";
        tampered = true;
        d[off + 28 + 16]! ^= 0x01;
        return "pass";
      },
    });
    const failed: { sa: IsakmpSa; reason: string }[] = [];
    w.gw.engine.on("phase1-failed", (sa, reason) => failed.push({ sa, reason }));
    const moved: IsakmpSa[] = [];
    w.gw.engine.on("peer-moved", (sa) => moved.push(sa));
    up(w, mode);
    await settle(w);
    assert.ok(tampered, `the ${message} was tampered with`);
    assert.equal(failed.length, 1, "the gateway's SA failed");
    assert.match(failed[0]!.reason, /HASH_I does not verify/);
    const first = w.nat!.mappingOf({ address: HOME, port: 500 })!;
    const floated = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
    assert.notDeepEqual(floated, first);
    assert.deepEqual(failed[0]!.sa.remote, first, "the SA stayed at the endpoint it had");
    assert.deepEqual(moved, [], "no peer-moved");
    assert.equal(w.gw.engine.stats.engine.nattMoves, 0);
    // The protected notify went to the endpoint the SA had, not to the unauthenticated new one.
    assert.ok(!w.tap.some((r) => r.from.address === GW && r.to.port === floated.port), "nothing sent to the new mapping");
    close(w);
  });
}

test("NAT rebinding: a pair already gone from the kernel is forgotten quietly: no warning, no Delete, not counted refused", async () => {
  const w = world();
  up(w);
  await settle(w);
  await quickMode(w);
  await quickMode(w);
  const inbound = (await gwSas(w)).filter((s) => !s.out).map((s) => s.spi);
  assert.equal(inbound.length, 2);
  // The first pair's inbound SA leaves the gateway's kernel a moment before the rebinding (it
  // expired, or someone deleted it): the engine has not heard of it yet.
  const gone = inbound[0]!;
  await w.gw.kernel.delete(w.nat!.mappingOf({ address: HOME, port: 4500 })!.address, GW, "esp", gone);
  w.nat!.rebind();
  await quickMode(w);
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebindFailed, 0, "nothing refused");
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebound, 2, "the other pair followed");
  assert.ok(!w.gwLog.some((l) => l.startsWith("warn:")), `no warning: ${w.gwLog.filter((l) => l.startsWith("warn:")).join("; ")}`);
  assert.ok(w.gwLog.includes("debug: NAT-T: IPsec SAs already gone from the kernel, not followed"));
  const left = await gwSas(w);
  assert.equal(left.length, 4, "the other pair and the new one; the gone pair's outbound half removed too");
  for (const s of left) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500]);
  // No Delete reached the home side: it still holds all three pairs.
  assert.equal((await w.home.kernel.dump()).filter((x) => x.state === "mature").length, 6);
  close(w);
});

test("NAT rebinding between QM2 and QM3: the responder's SAs, installed before QM2, take the new port when QM3 arrives from it", async () => {
  const w = world();
  up(w);
  await settle(w);
  const before = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  // The home side's QM3 (its second Quick Mode message) leaves through a new mapping.
  const seen = new Map<number, number>();
  const rebound = rebindOn(w, (d, off) => {
    if (d[off + 18] !== 32) return false;
    const mid = d.readUInt32BE(off + 20);
    seen.set(mid, (seen.get(mid) ?? 0) + 1);
    return seen.get(mid) === 2;
  });
  await quickMode(w);
  assert.ok(rebound(), "QM3 went out through a new mapping");
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.notEqual(after.port, before.port);
  assert.deepEqual(established(w.gw.engine).remote, after, "the ISAKMP SA followed QM3");
  const gw = await gwSas(w);
  assert.equal(gw.length, 2);
  for (const s of gw) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500], `gw SA ${s.spi.toString(16)} out=${s.out}`);
  assert.equal(w.gw.engine.stats.engine.nattIpsecRebound, 2);
  close(w);
});

test("NAT rebinding before CONNECTED: a committing initiator's SAs, installed on QM2, take the new port when CONNECTED arrives from it", async () => {
  const w = world({ gwCommit: true });
  up(w);
  await settle(w);
  const before = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  // The home side's CONNECTED (its first Informational) leaves through a new mapping.
  const rebound = rebindOn(w, (d, off) => d[off + 18] === 5);
  // The gateway starts a committed Quick Mode towards the home side, as the NAT shows it.
  const g = established(w.gw.engine);
  const pol = ipsecFrom(`{ raddr ${NAT} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const sel = selectForAcquire(pol, { src: { address: GW, port: 0 }, dst: { address: NAT, port: 0 }, ulp: 0 });
  if (sel.kind !== "ipsec") throw new Error("no ipsec policy");
  const up2: string[] = [];
  w.gw.engine.on("phase2-up", () => up2.push("up"));
  assert.ok(w.gw.engine.quickMode(g, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId }));
  await settle(w);
  assert.ok(rebound(), "CONNECTED went out through a new mapping");
  assert.deepEqual(up2, ["up"], "the committed Quick Mode is up");
  const after = w.nat!.mappingOf({ address: HOME, port: 4500 })!;
  assert.notEqual(after.port, before.port);
  assert.deepEqual(g.remote, after, "the ISAKMP SA followed CONNECTED");
  const gw = await gwSas(w);
  assert.equal(gw.length, 2);
  for (const s of gw) assert.deepEqual([s.sport, s.dport], s.out ? [4500, after.port] : [after.port, 4500], `gw SA ${s.spi.toString(16)} out=${s.out}`);
  close(w);
});

test("NAT rebinding to a new public address: the ISAKMP SA does not move (only the port may change), stays filed under its address, and leaves the tables whole", async () => {
  const w = world();
  up(w);
  await settle(w);
  const sas = w.gw.engine.sas;
  const sa = established(w.gw.engine);
  const at = sa.remote;
  const moves = w.gw.engine.stats.engine.nattMoves; // the float to the NAT's mapping of port 4500
  assert.deepEqual(sas.byPeerAddress(NAT), [sa]);
  // The NAT comes back on another public address. The home side's next Quick Mode carries the
  // SA's cookies and keys from there: not the SA's peer, dropped before any decryption. The SA
  // tables file an SA by its peer address and rely on that address never changing.
  const moved = "203.0.113.77";
  const drops: string[] = [];
  const onDrop = (m: unknown): void => void drops.push((m as { reason: string }).reason);
  diagnostics.subscribe("iked:ike:drop", onDrop);
  w.nat!.rebind(moved);
  try {
    await quickMode(w);
  } finally {
    diagnostics.unsubscribe("iked:ike:drop", onDrop);
  }
  assert.equal(w.nat!.mappingOf({ address: HOME, port: 4500 })!.address, moved, "the Quick Mode left from the new address");
  assert.ok(drops.some((r) => r.includes(`from ${moved}:`) && r.endsWith("not the SA's peer")), `dropped: ${drops.join("; ")}`);
  assert.deepEqual(sa.remote, at, "the SA stayed at its endpoint");
  assert.equal(w.gw.engine.stats.engine.nattMoves, moves);
  assert.deepEqual(sas.byPeerAddress(NAT), [sa]);
  assert.deepEqual(sas.byPeerAddress(moved), []);
  assert.equal(sas.phase2Count, 0, "no Quick Mode state for it");
  sa.destroy("test");
  assert.equal(sas.size, 0, "no SA left in the tables");
  assert.deepEqual(sas.byPeerAddress(NAT), []);
  assert.deepEqual(sas.byPeerAddress(moved), []);
  assert.equal(sas.halfOpenCount, 0);
  close(w);
});
