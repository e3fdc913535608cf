import { test } from "node:test";
import assert from "node:assert/strict";
import { settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { ExchangeType, HeaderFlag } from "../../src/codec/index.js";
import type { Endpoint } from "../../src/ike/transport.js";

const fromB = (from: Endpoint) => from.address === "10.0.0.2";
const exchangeOf = (d: Buffer) => d[18];

function committedPair(filter?: (d: Buffer, from: Endpoint) => "pass" | "drop") {
  return qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "", "", {
    engine: { quickModeCommit: true },
    ...(filter !== undefined ? { network: { impair: { filter } } } : {}),
  });
}

test("commit bit: QM1 carries it, the responder sends CONNECTED after installing, the initiator counts the SAs up on it", async () => {
  const p = committedPair();
  const seen: { from: string; exch: number; flags: number }[] = [];
  p.network.tap((r) => seen.push({ from: r.from.address, exch: r.datagram[18]!, flags: r.datagram[19]! }));
  const ups: string[] = [];
  p.a.engine.on("phase2-up", () => ups.push("a"));
  p.b.engine.on("phase2-up", () => ups.push("b"));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual(ups.sort(), ["a", "b"]);
  const qm = seen.filter((s) => s.exch === ExchangeType.QuickMode);
  assert.equal(qm.length, 3);
  assert.ok((qm[0]!.flags & HeaderFlag.Commit) !== 0, "QM1 has the commit bit");
  const afterQm = seen.slice(seen.indexOf(qm[2]!) + 1);
  assert.deepEqual(afterQm.map((s) => `${s.from} ${s.exch}`), [`10.0.0.2 ${ExchangeType.Informational}`], "CONNECTED follows QM3");
  assert.equal((await p.a.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  await closePair(p);
});

test("commit bit: a lost CONNECTED makes the initiator resend QM3; the responder answers from its cache, installs once", async () => {
  let dropped = 0;
  const p = committedPair((d, from) => (fromB(from) && exchangeOf(d) === ExchangeType.Informational && dropped++ === 0 ? "drop" : "pass"));
  const ups: string[] = [];
  p.a.engine.on("phase2-up", () => ups.push("a"));
  p.b.engine.on("phase2-up", () => ups.push("b"));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual(ups, ["b"], "the initiator waits for CONNECTED");
  p.clock.advance(10_000);
  await settle(p, 20);
  assert.deepEqual(ups, ["b", "a"]);
  assert.ok(dropped >= 2, "CONNECTED was sent again for the resent QM3");
  assert.ok(p.b.engine.stats.engine.retransmitsAnswered >= 1);
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2);
  await closePair(p);
});

test("commit bit: no CONNECTED at all fails the Quick Mode and removes what the initiator installed", async () => {
  const p = committedPair((d, from) => (fromB(from) && exchangeOf(d) === ExchangeType.Informational ? "drop" : "pass"));
  const fails: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, r) => fails.push(r));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  for (let i = 0; i < 15 && fails.length === 0; i++) {
    p.clock.advance(60_000);
    await settle(p, 10);
  }
  assert.deepEqual(fails, ["Quick Mode: no CONNECTED"]);
  assert.deepEqual(await p.a.kernel.dump(), []);
  await closePair(p);
});
