/**
 * Malformed, truncated and corrupted packets, spoofed from the peer's address so they reach the
 * rule that covers it. The engine must never throw (a throw inside a delivery would crash this
 * process), must answer at most with an unprotected error notify (RFC 2408 section 5: PAYLOAD-
 * MALFORMED and friends) or, for a mutation that is still a valid first message, with MM2, and
 * must hold no state once its `expire_timer` has run. Corrupted copies of an established
 * exchange's encrypted messages change nothing: no reply, no kernel call, the SAs stay.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExchangeType, PayloadType, decodeMessage } from "../../src/codec/index.js";
import { DEFAULT_EXPIRE_MS } from "../../src/ike/retransmit.js";
import { seededRandom } from "../exchange/harness.js";
import { EMPTY, Notify, PEER, VICTIM, close, negotiate, setting, settle, tables, tick, type Setting } from "./setup.js";

/** What the victim may send in answer to a mutated first message. */
function answerKind(d: Buffer): "notify" | "mm2" | "other" {
  const m = decodeMessage(d);
  if (!m.ok || m.value.kind !== "plain") return "other";
  const h = m.value.header;
  if (h.exchangeType === ExchangeType.Informational && m.value.payloads.length === 1 && m.value.payloads[0]!.type === PayloadType.N) return "notify";
  if (h.exchangeType === ExchangeType.IdentityProtection && m.value.payloads[0]?.type === PayloadType.SA) return "mm2";
  return "other";
}

/** The peer's MM1, captured but never delivered. */
async function peerMm1(): Promise<{ s: Setting; mm1: Buffer }> {
  // Half-open bounds out of the way: every mutation is judged on its own, not refused as the 6th.
  const s = setting({ victimEngine: { halfOpen: { global: 1000, perPeer: 1000 } }, network: { impair: { filter: (_d, from) => (from.address === PEER ? "drop" : "pass") } } });
  negotiate(s);
  await settle(s, 3);
  const mm1 = s.wire.find((r) => r.from.address === PEER)!.datagram;
  s.network.setImpairment({});
  s.peer.engine.close();
  return { s, mm1 };
}

/** Spoof `d` from the peer to the victim and let it be handled. */
async function inject(s: Setting, d: Buffer): Promise<void> {
  s.network.submit(d, s.peer.endpoint, s.victim.endpoint);
  await settle(s, 3);
}

function cleartextNotify(d: Buffer): number {
  const m = decodeMessage(d);
  if (!m.ok || m.value.kind !== "plain") return -1;
  const p = m.value.payloads[0];
  return p?.type === PayloadType.N ? p.notifyType : -1;
}

function victimAnswers(s: Setting, from: number): Buffer[] {
  return s.wire.slice(from).filter((r) => r.from.address === VICTIM).map((r) => r.datagram);
}

test("every truncation of a first message: never a crash, silently dropped, no state left", async () => {
  const { s, mm1 } = await peerMm1();
  const mark = s.wire.length;
  const dropped = s.victim.engine.stats.engine.dropped;
  for (let len = 0; len < mm1.length; len++) await inject(s, mm1.subarray(0, len));
  // Also the header claiming more than arrived, and trailing junk after the message.
  const longer = Buffer.from(mm1);
  longer.writeUInt32BE(mm1.length + 40, 24);
  await inject(s, longer);
  await inject(s, Buffer.concat([mm1, Buffer.alloc(13, 0xa5)]));
  // The ISAKMP header's length must equal the datagram's (RFC 2408 section 3.1): a cut or padded
  // message fails that first check and is dropped without an answer, before any SA lookup.
  assert.deepEqual(victimAnswers(s, mark), []);
  assert.equal(s.victim.engine.stats.engine.dropped - dropped, mm1.length + 2, "each one counted as dropped");
  assert.equal(s.victim.engine.sas.size, 0, "no SA for any truncated first message");
  assert.deepEqual(s.victim.dh, { generate: 0, agree: 0 });
  await close(s);
});

test("every single-byte corruption of a first message: no crash, notify or MM2, state expires", async () => {
  const { s, mm1 } = await peerMm1();
  const mark = s.wire.length;
  for (let i = 0; i < mm1.length; i++) {
    const bad = Buffer.from(mm1);
    bad[i] = bad[i]! ^ 0x5a;
    // A fresh icookie each time, so every mutation is judged as a new first message.
    if (i >= 8) bad.writeUInt32BE(0xc0de0000 + i, 0);
    await inject(s, bad);
  }
  const answers = victimAnswers(s, mark);
  const kinds = answers.map(answerKind);
  assert.ok(!kinds.includes("other"), `unexpected answers: ${kinds.join(",")}`);
  assert.ok(kinds.includes("mm2"), "mutations of the attribute values still make acceptable first messages");
  // Broken structure gets the RFC 2408 section 3.14.1 error notify the codec named.
  const notifies = answers.filter((a) => answerKind(a) === "notify").map((a) => cleartextNotify(a));
  assert.ok(notifies.includes(Notify.PayloadMalformed));
  assert.ok(notifies.every((n) => n >= 1 && n <= 30), `error notify types only: ${notifies.join(",")}`);
  assert.equal(s.victim.engine.sas.size, 0, "no SA for a first message");
  assert.equal(s.victim.engine.debugSizes().embryos, kinds.filter((k) => k === "mm2").length, "one embryonic record per MM1 answered");
  assert.deepEqual(s.victim.dh, { generate: 0, agree: 0 }, "a first message costs no DH");
  await tick(s, DEFAULT_EXPIRE_MS + 1000);
  assert.deepEqual(await tables(s.victim), EMPTY);
  await close(s);
});

test("random garbage from the peer's address: never a crash, never state", async () => {
  const { s } = await peerMm1();
  const rnd = seededRandom("garbage");
  for (let i = 0; i < 300; i++) {
    const len = rnd(2).readUInt16BE(0) % 700;
    const d = rnd(len);
    // Half of them get a plausible ISAKMP header start, to go past the first checks.
    if (i % 2 === 0 && len >= 28) {
      d[16] = 1;
      d[17] = 0x10;
      d[18] = 2;
      d.writeUInt32BE(len, 24);
    }
    s.network.submit(d, s.peer.endpoint, s.victim.endpoint);
  }
  await settle(s);
  for (const a of victimAnswers(s, 0)) assert.notEqual(answerKind(a), "other");
  await tick(s, DEFAULT_EXPIRE_MS + 1000);
  assert.deepEqual(await tables(s.victim), EMPTY);
  await close(s);
});

test("corrupted and truncated copies of an established exchange's messages change nothing", async () => {
  const s = setting();
  negotiate(s);
  await settle(s);
  const before = await tables(s.victim);
  assert.equal(before.kernelSas, 2, "Main and Quick Mode completed");
  const calls = { ...s.victim.kernel.calls };
  const dh = { ...s.victim.dh };
  const fromPeer = s.wire.filter((r) => r.from.address === PEER).map((r) => r.datagram);
  const encrypted = fromPeer.filter((d) => (d[19]! & 1) === 1);
  assert.ok(encrypted.length >= 3, "MM5, QM1, QM3");
  const mark = s.wire.length;
  for (const d of encrypted) {
    for (const at of [20, 28, 40, d.length - 1]) {
      const bad = Buffer.from(d);
      bad[at] = bad[at]! ^ 0x01;
      await inject(s, bad);
    }
    await inject(s, d.subarray(0, d.length - 8));
    await inject(s, d.subarray(0, 28));
  }
  for (const a of victimAnswers(s, mark)) assert.equal(answerKind(a), "notify", "only unprotected notifies, no protected reply");
  assert.deepEqual(s.victim.kernel.calls, calls, "no kernel call");
  assert.deepEqual(s.victim.dh, dh, "no DH work");
  const sa = s.victim.engine.sas.all();
  assert.equal(sa.length, 1);
  assert.equal(sa[0]!.state, "established");
  assert.equal((await s.victim.kernel.dump()).filter((x) => x.state === "mature").length, 2);
  await close(s);
});
