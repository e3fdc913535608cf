/**
 * Replayed and duplicated messages (RFC 2408 section 5: a retransmitted request is answered, never
 * re-executed), and a flood of first messages (section 2.5.3, anti-clogging: stateless responder
 * cookies, and for an unanswered MM1 only a record in the bounded embryonic table).
 *
 * "No second computation" is counted at the DH port (each call is a pool task in the daemon) and
 * "no second SA" at the SADB (GETSPI/UPDATE/ADD calls), on the victim's side.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExchangeType } from "../../src/codec/index.js";
import { DEFAULT_EXPIRE_MS } from "../../src/ike/retransmit.js";
import { EMPTY, PEER, VICTIM, close, established, negotiate, sentBy, setting, settle, tables, tick } from "./setup.js";

test("replaying every message of a finished exchange: answered from the cache or dropped, no new work", async () => {
  const s = await established();
  const dh = { ...s.victim.dh };
  const calls = { ...s.victim.kernel.calls };
  const before = await tables(s.victim);
  const replies = s.victim.engine.stats.engine.retransmitsAnswered;
  const fromPeer = sentBy(s, PEER);
  const mark = s.wire.length;
  for (const d of fromPeer) s.network.submit(d, s.peer.endpoint, s.victim.endpoint);
  await settle(s);
  assert.deepEqual(s.victim.dh, dh, "no DH computation for a replay");
  assert.deepEqual(s.victim.kernel.calls, calls, "no kernel call for a replay");
  assert.deepEqual(await tables(s.victim), before, "no new SA or exchange");
  // Every answer the victim gave is byte-identical to one it gave before (the reply cache).
  const earlier = new Set(sentBy(s, VICTIM).slice(0, s.wire.slice(0, mark).filter((r) => r.from.address === VICTIM).length).map((d) => d.toString("hex")));
  const answers = s.wire.slice(mark).filter((r) => r.from.address === VICTIM).map((r) => r.datagram);
  for (const a of answers) assert.ok(earlier.has(a.toString("hex")), "a replay got a fresh answer");
  assert.ok(s.victim.engine.stats.engine.retransmitsAnswered > replies, "some replays answered from the cache");
  await close(s);
});

test("replaying the exchange after the SAs were deleted creates nothing", async () => {
  const s = await established();
  const fromPeer = sentBy(s, PEER);
  const [sa] = s.victim.engine.sas.all();
  await s.victim.engine.deleteSa(sa!, "test");
  await settle(s);
  assert.deepEqual(await tables(s.victim), EMPTY);
  const dh = { ...s.victim.dh };
  // MM1 gets an embryonic record, the replayed MM3 makes it an SA (its cookie is still ours); the
  // rest belongs to nothing.
  for (const d of fromPeer) s.network.submit(d, s.peer.endpoint, s.victim.endpoint);
  await settle(s);
  assert.ok(s.victim.engine.sas.size <= 1);
  assert.equal((await s.victim.kernel.dump()).length, 0, "no IPsec SA from a replayed Quick Mode");
  await tick(s, DEFAULT_EXPIRE_MS + 1000);
  assert.deepEqual(await tables(s.victim), EMPTY, "the replayed MM1's exchange expired");
  assert.ok(s.victim.dh.agree - dh.agree <= 1, "at most the DH of the replayed MM3");
  await close(s);
});

test("every datagram duplicated in flight: one exchange's worth of work, one SA pair", async () => {
  const clean = await established();
  const cleanDh = { ...clean.victim.dh };
  const cleanCalls = { ...clean.victim.kernel.calls };
  await close(clean);

  const s = setting({ network: { impair: { duplicate: 1 } } });
  negotiate(s);
  await settle(s, 60);
  assert.ok(s.network.stats.duplicated > 0);
  assert.deepEqual(s.victim.dh, cleanDh, "the same DH work as without duplicates");
  assert.deepEqual(s.victim.kernel.calls, cleanCalls, "the same kernel calls as without duplicates");
  assert.deepEqual(s.peer.kernel.calls.add, 1);
  const t = await tables(s.victim);
  assert.equal(t.sas, 1);
  assert.equal(t.kernelSas, 2);
  assert.equal(s.victim.engine.sas.all()[0]!.state, "established");
  await close(s);
});

test("a flood of first messages: no SA, no half-open count, a bounded embryonic table, no DH, all of it expires", async () => {
  const s = setting({ victimRuleRemote: "10.0.0.0/8", victimEngine: { halfOpen: { global: 64, perPeer: 8 }, embryos: { capacity: 64, lifetimeMs: 10_000 } } });
  const rule = s.peer.policy.ruleByLabel("to-victim")!;
  // One genuine MM1 to copy from, never delivered by the peer itself.
  s.network.setImpairment({ filter: () => "drop" });
  s.peer.engine.initiate(rule, s.peer.endpoint, s.victim.endpoint);
  await settle(s, 3);
  s.network.setImpairment({});
  s.peer.engine.close();
  const mm1 = s.wire.find((r) => r.from.address === PEER && r.datagram[18] === ExchangeType.IdentityProtection)!.datagram;
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const d = Buffer.from(mm1);
    d.writeUInt32BE(i + 1, 0);
    // Spoofed sources spread over 200 addresses, all covered by the victim's rule.
    s.network.submit(d, { address: `10.0.6.${(i % 200) + 1}`, port: 500 }, s.victim.endpoint);
  }
  await settle(s, 60);
  const st = s.victim.engine.stats.engine;
  assert.equal(s.victim.engine.sas.size, 0, "no ISAKMP SA before a cookie comes back");
  assert.equal(s.victim.engine.sas.halfOpenCount, 0, "nothing counts against any peer");
  assert.equal(st.halfOpenRefused, 0);
  assert.equal(s.victim.engine.debugSizes().embryos, 64, "the embryonic table holds its capacity");
  assert.equal(st.embryonic, N);
  assert.equal(st.embryonicEvicted, N - 64, "the oldest went first");
  // Every MM1 got its MM2 (no bigger than the MM1 it answers).
  const answers = s.wire.filter((r) => r.from.address === VICTIM);
  assert.equal(answers.length, N);
  assert.deepEqual(s.victim.dh, { generate: 0, agree: 0 }, "a first message costs no DH");
  await tick(s, 10_000);
  assert.deepEqual(await tables(s.victim), EMPTY, "every embryonic record expired");
  assert.equal(s.clock.timerCount, 0, "and no timer is left");
  await close(s);
});
