/**
 * State only after proof (issue 11, item 2): a Quick Mode datagram creates no Phase 2 exchange
 * until it decrypts and its HASH(1) verifies (RFC 2409 section 5.5), whatever its body (not a
 * multiple of the block size, garbage once decrypted, a wrong HASH); and a datagram naming an
 * established SA by its cookies acts only when it comes from that SA's peer (address and port).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { seededRandom } from "../exchange/harness.js";
import { forgedQm1, junkQuickMode } from "./forge.js";
import { ATTACKER, PEER, close, established, negotiate, settle, tables, type Setting } from "./setup.js";

/** Established, and the finished Quick Mode's lingering entry gone, so the table starts empty. */
async function quiet(): Promise<Setting> {
  const s = await established();
  s.clock.advance(61_000);
  await settle(s);
  assert.equal(s.victim.engine.sas.phase2Count, 0);
  return s;
}

test("junk Quick Mode datagrams (odd lengths, garbage plaintext, wrong HASH(1)) leave no Phase 2 entry", async () => {
  const s = await quiet();
  const peerSa = s.peer.engine.sas.all()[0]!;
  const calls = { ...s.victim.kernel.calls };
  const timers = s.clock.timerCount;
  const rnd = seededRandom("junk-qm");
  let mid = 0x7000_0000;
  const send = (d: Buffer): void => s.network.submit(d, s.peer.endpoint, s.victim.endpoint);
  for (const len of [1, 13, 17, 31, 33, 100]) send(junkQuickMode(peerSa, ++mid, rnd(len)));
  for (const len of [16, 32, 48, 160]) send(junkQuickMode(peerSa, ++mid, rnd(len)));
  for (let i = 0; i < 5; i++) send(forgedQm1(peerSa, ++mid));
  await settle(s);
  assert.equal(s.victim.engine.sas.phase2Count, 0, "no Phase 2 entry for any of them");
  assert.deepEqual(s.victim.kernel.calls, calls, "no GETSPI");
  assert.equal(s.clock.timerCount, timers, "no timer armed for them");
  // The SA still works: a genuine Quick Mode completes.
  negotiate(s);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 4);
  await close(s);
});

test("a datagram with an established SA's cookies from another address or port is dropped; from the peer it acts", async () => {
  const s = await quiet();
  const drops: string[] = [];
  const onDrop = (m: unknown): void => void drops.push((m as { reason: string }).reason);
  diagnostics.subscribe("iked:ike:drop", onDrop);
  try {
    // The peer deletes its SA politely; the network keeps the Delete from the victim.
    const captured: Buffer[] = [];
    s.network.setImpairment({ filter: (d, from) => (from.address === PEER ? (captured.push(Buffer.from(d)), "drop") : "pass") });
    const peerSa = s.peer.engine.sas.all()[0]!;
    await s.peer.engine.deleteSa(peerSa, "test", false);
    await settle(s);
    s.network.setImpairment({});
    assert.equal(captured.length, 1, "one protected Informational with the Delete");
    const victimSa = s.victim.engine.sas.all()[0]!;
    s.network.submit(captured[0]!, { address: ATTACKER, port: 500 }, s.victim.endpoint);
    s.network.submit(captured[0]!, { address: PEER, port: 4500 }, s.victim.endpoint);
    await settle(s);
    assert.equal(victimSa.state, "established", "not acted on from another address or port");
    assert.equal(drops.filter((r) => r.includes("not the SA's peer")).length, 2, drops.join("; "));
    s.network.submit(captured[0]!, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.equal(victimSa.state, "dead", "the same datagram from the peer deletes the SA");
  } finally {
    diagnostics.unsubscribe("iked:ike:drop", onDrop);
    await close(s);
  }
});
