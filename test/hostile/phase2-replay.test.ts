/**
 * Replays of protected Phase 2 messages (issue 11, item 4). Each ISAKMP SA remembers the message
 * IDs of its exchanges (RFC 2408 section 3.1: one message ID per exchange): a replayed
 * Informational (a Delete, an R-U-THERE, an error notify) is dropped, never acted on twice, while a
 * retransmitted QM1 of a live exchange still gets its cached QM2. An error notify ends only the
 * Quick Mode its SPI or message ID names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { ExchangeType, Notify } from "../../src/codec/index.js";
import { dpdNotify, protectedInformational, deleteIpsec } from "../../src/ike/informational.js";
import type { QuickModeRequest } from "../../src/ike/phase2/quick-mode.js";
import { MESSAGE_ID_LIMIT } from "../../src/ike/message-ids.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { ipsecFrom } from "../exchange/harness.js";
import { forge } from "./forge.js";
import { PEER, VICTIM, close, established, negotiate, setting, settle, tables, tick } from "./setup.js";

/** A Quick Mode request of the victim towards the peer, from ipsecinit.conf action `action`. */
function victimRequest(action: string): QuickModeRequest {
  const sel = selectForAcquire(ipsecFrom(`{ raddr ${PEER} } ipsec { ${action} }\n`), { src: { address: VICTIM, port: 0 }, dst: { address: PEER, port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") throw new Error("unreachable");
  return { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId };
}

function drops(): { list: string[]; stop(): void } {
  const list: string[] = [];
  const on = (m: unknown): void => void list.push((m as { reason: string }).reason);
  diagnostics.subscribe("iked:ike:drop", on);
  return { list, stop: () => diagnostics.unsubscribe("iked:ike:drop", on) };
}

test("a replayed protected NO-PROPOSAL-CHOSEN does not abort an unrelated, valid Quick Mode", async () => {
  const s = await established();
  const sa = s.victim.engine.sas.all()[0]!;
  const failed: string[] = [];
  s.victim.engine.on("phase2-failed", (_sa, reason) => failed.push(reason));
  // Quick Mode A: 3DES/MD5, which the peer's policy refuses with a protected NO-PROPOSAL-CHOSEN.
  const mark = s.wire.length;
  assert.ok(s.victim.engine.quickMode(sa, victimRequest("encr_algs 3des encr_auth_algs md5")));
  await settle(s);
  assert.equal(failed.length, 1, "A refused by the peer");
  const refusal = s.wire.slice(mark).find((r) => r.from.address === PEER && r.datagram[18] === ExchangeType.Informational)!.datagram;
  // Quick Mode B (valid): the peer's QM2 is lost, so B waits for it when the refusal is replayed.
  s.network.setImpairment({ filter: (_d, from) => (from.address === PEER ? "drop" : "pass") });
  assert.ok(s.victim.engine.quickMode(sa, victimRequest("encr_algs aes encr_auth_algs sha1")));
  await settle(s);
  s.network.setImpairment({});
  const seen = drops();
  try {
    s.network.submit(refusal, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.deepEqual(failed.length, 1, `B was not aborted: ${failed.join("; ")}`);
    assert.ok(seen.list.some((r) => r.includes("replay")), seen.list.join("; "));
  } finally {
    seen.stop();
  }
  // B retransmits QM1, gets the peer's cached QM2 and completes.
  s.clock.advance(1000);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 4, "B installed its SAs");
  await close(s);
});

test("an error notify naming no Quick Mode of ours (other SPI, other message ID) ends none", async () => {
  const s = await established();
  const victimSa = s.victim.engine.sas.all()[0]!;
  const peerSa = s.peer.engine.sas.all()[0]!;
  const failed: string[] = [];
  s.victim.engine.on("phase2-failed", (_sa, reason) => failed.push(reason));
  s.network.setImpairment({ filter: (_d, from) => (from.address === PEER ? "drop" : "pass") });
  assert.ok(s.victim.engine.quickMode(victimSa, victimRequest("encr_algs aes encr_auth_algs sha1")));
  await settle(s);
  s.network.setImpairment({});
  // A genuine protected NO-PROPOSAL-CHOSEN from the peer, about an ESP SPI that is none of ours.
  const spi = Buffer.from([0x0b, 0xad, 0x5e, 0xed]);
  const mid = 0x5151_5151;
  const body = [{ type: 11 as const, doi: 1, protocolId: 3, notifyType: Notify.NoProposalChosen, spi, data: Buffer.alloc(0) }];
  s.network.submit(forge(peerSa, ExchangeType.Informational, mid, protectedInformational(peerSa, mid, body)), s.peer.endpoint, s.victim.endpoint);
  await settle(s);
  assert.deepEqual(failed, [], "the only outstanding Quick Mode is not guessed to be the one refused");
  s.clock.advance(1000);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 4);
  await close(s);
});

test("replayed Informationals are ignored: R-U-THERE answered once, a Delete acted on once", async () => {
  const s = await established();
  const peerSa = s.peer.engine.sas.all()[0]!;
  const victimSa = s.victim.engine.sas.all()[0]!;
  const seen = drops();
  try {
    const dpdMid = 0x0d0d_0001;
    const ruThere = forge(peerSa, ExchangeType.Informational, dpdMid, protectedInformational(peerSa, dpdMid, [dpdNotify(peerSa, Notify.RUThere, Buffer.from([0, 0, 0, 7]))]));
    const fromVictim = (): number => s.wire.filter((r) => r.from.address === VICTIM).length;
    const before = fromVictim();
    s.network.submit(ruThere, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.equal(fromVictim(), before + 1, "R-U-THERE-ACK");
    s.network.submit(ruThere, s.peer.endpoint, s.victim.endpoint);
    s.network.submit(ruThere, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.equal(fromVictim(), before + 1, "no ACK for a replay");

    // The peer's Delete of its inbound ESP SA (our outbound one): acted on once.
    const outbound = (await s.victim.kernel.dump()).find((x) => x.src === VICTIM && x.state === "mature")!;
    const delMid = 0x0d0d_0002;
    const del = forge(peerSa, ExchangeType.Informational, delMid, protectedInformational(peerSa, delMid, [deleteIpsec("esp", [outbound.spi])]));
    s.network.submit(del, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    const deletes = s.victim.kernel.calls.delete;
    assert.ok(deletes >= 1, "the Delete removed the pair");
    s.network.submit(del, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.equal(s.victim.kernel.calls.delete, deletes, "a replayed Delete touches nothing");
    assert.equal(seen.list.filter((r) => r.includes("replay")).length, 3, seen.list.join("; "));
    assert.equal(victimSa.state, "established");
  } finally {
    seen.stop();
    await close(s);
  }
});

test("a retransmitted QM1 of a live exchange still gets the cached QM2; after the exchange ends, a replay gets nothing", async () => {
  const s = setting();
  // Main Mode completes; then hold the peer's QM3 so the victim's exchange stays open.
  s.network.setImpairment({ filter: (d, from) => (from.address === PEER && d[18] === ExchangeType.QuickMode && d.length < 120 ? "drop" : "pass") });
  negotiate(s);
  await settle(s);
  s.network.setImpairment({});
  const qm1 = s.wire.find((r) => r.from.address === PEER && r.datagram[18] === ExchangeType.QuickMode)!.datagram;
  const qm2s = (): Buffer[] => s.wire.filter((r) => r.from.address === VICTIM && r.datagram[18] === ExchangeType.QuickMode).map((r) => r.datagram);
  const n = qm2s().length;
  s.network.submit(qm1, s.peer.endpoint, s.victim.endpoint);
  await settle(s);
  assert.equal(qm2s().length, n + 1, "answered");
  assert.ok(qm2s().at(-1)!.equals(qm2s()[0]!), "with the same QM2");
  // The victim gives up waiting for QM3 (retransmission limit), the exchange ends.
  s.clock.advance(120_000);
  await settle(s);
  assert.equal(s.victim.engine.sas.phase2Count, 0);
  const calls = { ...s.victim.kernel.calls };
  const m = qm2s().length;
  s.network.submit(qm1, s.peer.endpoint, s.victim.endpoint);
  await settle(s);
  assert.equal(qm2s().length, m, "a replay of the finished exchange gets no answer");
  assert.deepEqual(s.victim.kernel.calls, calls, "and costs no GETSPI");
  await close(s);
});

test("a QM1 replayed after 300 newer message IDs (R-U-THEREs) installs nothing: dropped as a replay", async () => {
  const s = await established();
  const peerSa = s.peer.engine.sas.all()[0]!;
  const victimSa = s.victim.engine.sas.all()[0]!;
  const qm1 = s.wire.find((r) => r.from.address === PEER && r.datagram[18] === ExchangeType.QuickMode)!.datagram;
  const fromVictim = (): number => s.wire.filter((r) => r.from.address === VICTIM).length;
  // The exchange's reply cache (which answers a retransmitted QM1 with the same QM2) is gone.
  await tick(s, 61_000);
  assert.equal(s.victim.engine.sas.phase2Count, 0);
  for (let i = 0; i < 300; i++) {
    const mid = 0x0e0e_0000 + i;
    const seq = Buffer.alloc(4);
    seq.writeUInt32BE(i + 1);
    const before = fromVictim();
    s.network.submit(forge(peerSa, ExchangeType.Informational, mid, protectedInformational(peerSa, mid, [dpdNotify(peerSa, Notify.RUThere, seq)])), s.peer.endpoint, s.victim.endpoint);
    await settle(s, 4);
    assert.equal(fromVictim(), before + 1, `R-U-THERE ${i} acknowledged`);
  }
  const calls = { ...s.victim.kernel.calls };
  const sent = fromVictim();
  const seen = drops();
  try {
    s.network.submit(qm1, s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.deepEqual(s.victim.kernel.calls, calls, "no GETSPI, no SA installed");
    assert.equal((await tables(s.victim)).kernelSas, 2, "only the pair of the real exchange");
    assert.equal(fromVictim(), sent, "no QM2");
    assert.ok(seen.list.some((r) => r.includes("replay")), seen.list.join("; "));
  } finally {
    seen.stop();
  }
  assert.equal(victimSa.state, "established");
  assert.ok(victimSa.messageIds.size > 300, `${victimSa.messageIds.size} message IDs remembered`);
  await close(s);
});

test("an ISAKMP SA whose message IDs are used up takes no more exchanges: its lifetime ends, the peer gets a Delete", async () => {
  const s = await established();
  const peerSa = s.peer.engine.sas.all()[0]!;
  const victimSa = s.victim.engine.sas.all()[0]!;
  // Fill the set up to its limit (a peer would need 65536 authenticated exchanges).
  for (let mid = 1; mid <= MESSAGE_ID_LIMIT; mid++) victimSa.messageIds.add(0x7000_0000 + mid);
  assert.equal(victimSa.messageIds.size, MESSAGE_ID_LIMIT);
  const calls = { ...s.victim.kernel.calls };
  const seen = drops();
  try {
    const mid = 0x0f0f_0001;
    s.network.submit(forge(peerSa, ExchangeType.Informational, mid, protectedInformational(peerSa, mid, [dpdNotify(peerSa, Notify.RUThere, Buffer.from([0, 0, 0, 1]))])), s.peer.endpoint, s.victim.endpoint);
    await settle(s);
    assert.ok(seen.list.some((r) => r.includes("message IDs are used up")), seen.list.join("; "));
  } finally {
    seen.stop();
  }
  assert.equal(victimSa.state, "dead");
  assert.equal(peerSa.state, "dead", "the peer heard the Delete");
  assert.deepEqual(s.victim.kernel.calls, calls, "the IPsec SAs stay (as at the end of a Phase 1 lifetime)");
  assert.equal((await tables(s.victim)).kernelSas, 2);
  await close(s);
});
