/**
 * MM1 floods never stop a real peer (issue 11, item 1). A Main Mode responder keeps no per-peer
 * state before MM3 returns its cookie (RFC 2408 section 2.5.3): MM1s get MM2 and a record in the
 * bounded, address-independent embryonic table, so neither a flood spoofed from the real peer's
 * own address and port (which used to fill its five half-open slots for five minutes) nor one from
 * 100,000 random addresses keeps the peer out. Every attempt of the peer, made while the flood
 * runs, must succeed before its retransmission budget is spent. In-process, over the memory
 * network; the same against the real daemon over UDP is test/daemon/flood.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExchangeType } from "../../src/codec/index.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { PEER, close, setting, settle, type Setting } from "./setup.js";

/** One event-loop turn. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The peer's MM1, captured and never delivered; the exchange it began is dropped. */
async function peerMm1(s: Setting): Promise<Buffer> {
  let mm1: Buffer | undefined;
  s.network.setImpairment({ filter: (d, from) => (from.address === PEER && d[18] === ExchangeType.IdentityProtection ? ((mm1 ??= Buffer.from(d)), "drop") : "pass") });
  const sa = s.peer.engine.initiate(s.peer.policy.ruleByLabel("to-victim")!, s.peer.endpoint, s.victim.endpoint);
  await settle(s, 3);
  s.network.setImpairment({});
  sa.destroy("template captured");
  assert.ok(mm1 !== undefined);
  return mm1;
}

/** A flood of MM1s (fresh initiator cookies) from `source(i)`, `perTurn` per event-loop turn, in the background. */
function flood(s: Setting, mm1: Buffer, total: number, perTurn: number, source: (i: number) => Endpoint): { readonly sent: () => number; readonly done: Promise<void> } {
  let sent = 0;
  const done = (async () => {
    while (sent < total) {
      for (let k = 0; k < perTurn && sent < total; k++, sent++) {
        const d = Buffer.from(mm1);
        d.writeUInt32BE(0xf100_0000 + (sent >>> 8), 0);
        d.writeUInt32BE((sent * 2654435761) >>> 0, 4);
        s.network.submit(d, source(sent), s.victim.endpoint);
      }
      await turn();
    }
  })();
  return { sent: () => sent, done };
}

/**
 * Main Mode attempts of the peer, one after another, while `running()`; each must be established
 * before its retransmitter gives up (the clock moves 500 ms whenever the attempt is still waiting).
 */
async function attempts(s: Setting, running: () => boolean, atLeast: number): Promise<number> {
  const rule = s.peer.policy.ruleByLabel("to-victim")!;
  let n = 0;
  while (running() || n < atLeast) {
    const sa = s.peer.engine.initiate(rule, s.peer.endpoint, s.victim.endpoint);
    let waitedMs = 0;
    for (let i = 0; sa.state === "negotiating"; i++) {
      await turn();
      if (i % 8 === 7 && sa.state === "negotiating") {
        s.clock.advance(500);
        waitedMs += 500;
      }
    }
    assert.equal(sa.state, "established", `attempt ${n + 1} after ${waitedMs} ms: ${sa.deathReason ?? ""}`);
    n++;
  }
  return n;
}

test("an MM1 flood spoofed from the real peer's own address and port: every attempt of the peer succeeds", async () => {
  const s = setting();
  const mm1 = await peerMm1(s);
  const f = flood(s, mm1, 20_000, 200, () => s.peer.endpoint);
  const n = await attempts(s, () => f.sent() < 20_000, 5);
  const sentDuring = f.sent();
  await f.done;
  await settle(s);
  assert.ok(n >= 5 && sentDuring > 1000, `${n} attempts during ${sentDuring} flood MM1s`);
  const st = s.victim.engine.stats.engine;
  assert.equal(st.halfOpenRefused, 0, "the peer's half-open bound never filled");
  assert.equal(st.embryonicMissed, 0);
  assert.equal(s.victim.engine.sas.halfOpenCount, 0);
  assert.equal(s.victim.engine.sas.size, n, "one SA per attempt, none for the flood");
  await close(s);
});

test("an MM1 flood from 100,000 random addresses: every attempt of the peer succeeds, the table stays bounded", { timeout: 240_000 }, async () => {
  const s = setting({ victimRuleRemote: "10.0.0.0/8" });
  const mm1 = await peerMm1(s);
  const total = 100_000;
  const f = flood(s, mm1, total, 400, (i) => ({ address: `10.${100 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`, port: 500 }));
  const n = await attempts(s, () => f.sent() < total, 5);
  const sentDuring = f.sent();
  await f.done;
  await settle(s);
  assert.ok(n >= 5 && sentDuring > 10_000, `${n} attempts during ${sentDuring} flood MM1s`);
  const st = s.victim.engine.stats.engine;
  assert.equal(st.embryonic, total + n);
  assert.ok(st.embryonicEvicted > 0, "the table was under pressure");
  assert.ok(s.victim.engine.debugSizes().embryos! <= 8192);
  assert.equal(st.embryonicMissed, 0, "no MM3 of the peer found its record gone");
  assert.equal(s.victim.engine.sas.size, n, "one SA per attempt, none for the flood");
  assert.equal(s.victim.engine.sas.halfOpenCount, 0);
  s.clock.advance(10_000);
  await settle(s);
  assert.equal(s.victim.engine.debugSizes().embryos, 0, "every record gone after its lifetime");
  await close(s);
});
