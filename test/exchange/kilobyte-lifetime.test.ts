import { test } from "node:test";
import assert from "node:assert/strict";
import { settle, type Pair } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

interface Outcome {
  readonly a: (number | undefined)[];
  readonly b: (number | undefined)[];
  /** Mature SAs as [hard bytes, soft bytes]. */
  readonly bytesA: [number, number][];
  readonly bytesB: [number, number][];
}

async function bytesOf(p: Pair, side: "a" | "b"): Promise<[number, number][]> {
  return (await p[side].kernel.dump()).filter((s) => s.state === "mature").map((s) => [s.hard.bytes, s.soft.bytes]);
}

async function negotiate(extraA: string, extraB: string, keep?: (p: Pair) => Promise<void>): Promise<Outcome> {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), extraA, extraB);
  const a: (number | undefined)[] = [];
  const b: (number | undefined)[] = [];
  p.a.engine.on("phase2-up", (_sa, r) => a.push(r.lifeKb));
  p.b.engine.on("phase2-up", (_sa, r) => b.push(r.lifeKb));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const out = { a, b, bytesA: await bytesOf(p, "a"), bytesB: await bytesOf(p, "b") };
  await keep?.(p);
  await closePair(p);
  return out;
}

test("p2_lifetime_kb is proposed and both sides install it as the SAs' hard byte lifetime, soft from p2_softlife_kb", async () => {
  const r = await negotiate("p2_lifetime_kb 2048 p2_softlife_kb 1500", "");
  assert.deepEqual(r.a, [2048]);
  assert.deepEqual(r.b, [2048], "the responder without a byte limit of its own accepts the proposed one");
  assert.deepEqual(r.bytesA, [[2048 * 1024, 1500 * 1024], [2048 * 1024, 1500 * 1024]]);
  assert.deepEqual(r.bytesB, [[2048 * 1024, Math.floor(2048 * 0.9) * 1024], [2048 * 1024, Math.floor(2048 * 0.9) * 1024]]);
});

test("the initiator's QM1 carries the kilobyte Life-Type and duration", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "p2_lifetime_kb 100000", "");
  const seen: number[] = [];
  p.b.engine.on("phase2-up", (_sa, r) => seen.push(r.lifeKb ?? 0));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual(seen, [100000], "a duration over 16 bits travels as a variable attribute");
  await closePair(p);
});

test("kilobytes: the shorter wins; a responder with a shorter p2_lifetime_kb tells with RESPONDER-LIFETIME and the initiator honours it", async () => {
  const r = await negotiate("p2_lifetime_kb 4096", "p2_lifetime_kb 1024");
  assert.deepEqual(r.b, [1024]);
  assert.deepEqual(r.a, [1024], "honoured from the notify (the echoed transform still says 4096)");
  assert.deepEqual(r.bytesA.map(([h]) => h), [1024 * 1024, 1024 * 1024]);
  assert.deepEqual(r.bytesB.map(([h]) => h), [1024 * 1024, 1024 * 1024]);
});

test("kilobytes: a responder limit where the initiator proposed none is notified and installed on both sides", async () => {
  const r = await negotiate("", "p2_lifetime_kb 512");
  assert.deepEqual(r.a, [512]);
  assert.deepEqual(r.b, [512]);
  assert.deepEqual(r.bytesA.map(([h]) => h), [512 * 1024, 512 * 1024]);
});

test("kilobytes: the responder's longer limit changes nothing; no limit on either side installs none", async () => {
  const longer = await negotiate("p2_lifetime_kb 1000", "p2_lifetime_kb 8000");
  assert.deepEqual(longer.a, [1000]);
  assert.deepEqual(longer.b, [1000]);
  const none = await negotiate("", "");
  assert.deepEqual(none.a, [undefined]);
  assert.deepEqual(none.bytesA, [[0, 0], [0, 0]]);
  assert.deepEqual(none.bytesB, [[0, 0], [0, 0]]);
});

test("kilobytes and seconds notified together when both of the responder's are shorter", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "p2_lifetime_secs 3600 p2_lifetime_kb 4096", "p2_lifetime_secs 900 p2_lifetime_kb 256");
  const ups: [number, number | undefined][] = [];
  p.a.engine.on("phase2-up", (_sa, r) => ups.push([r.lifeSecs, r.lifeKb]));
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual(ups, [[900, 256]]);
  const sas = (await p.a.kernel.dump()).filter((s) => s.state === "mature");
  assert.deepEqual(sas.map((s) => [s.hard.addSeconds, s.hard.bytes]), [[900, 256 * 1024], [900, 256 * 1024]]);
  await closePair(p);
});

test("a soft byte EXPIRE (traffic counted by the SADB) renegotiates the SAs we initiated, once; the hard one deletes the old pair on both sides", async () => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"), "p2_lifetime_kb 100 p2_softlife_kb 80", "");
  const outcomes: string[] = [];
  p.a.kernel.on("expire", (ev) => outcomes.push(`a ${ev.kind} ${ev.reason} ${p.a.engine.expire(ev)}`));
  p.b.kernel.on("expire", (ev) => outcomes.push(`b ${ev.kind} ${ev.reason} ${p.b.engine.expire(ev)}`));
  let ups = 0;
  p.b.engine.on("phase2-up", () => ups++);
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(ups, 1);
  const out = (await p.a.kernel.dump()).find((s) => s.state === "mature" && s.dst === "10.0.0.2")!;
  assert.equal(p.a.kernel.account(out.src, out.dst, out.proto, out.spi, { bytes: 50 * 1024 }), true);
  await settle(p, 10);
  assert.equal(ups, 1, "below the soft byte lifetime: nothing yet");
  assert.equal(p.a.kernel.account(out.src, out.dst, out.proto, out.spi, { bytes: 31 * 1024 }), true);
  await settle(p, 40);
  assert.deepEqual(outcomes, ["a soft bytes rekeying"]);
  assert.equal(ups, 2, "renegotiated");
  assert.equal(p.a.kernel.account(out.src, out.dst, out.proto, out.spi, { bytes: 20 * 1024 }), false, "the hard byte lifetime deletes the old SA");
  await settle(p, 10);
  assert.equal(ups, 2, "a hard EXPIRE starts nothing more");
  assert.deepEqual(outcomes, ["a soft bytes rekeying", "a hard bytes deleting"], "the hard EXPIRE sends the peer a Delete");
  const mature = (await p.a.kernel.dump()).filter((s) => s.state === "mature");
  assert.equal(mature.length, 2, "the new pair remains; the old inbound SA went with the Delete");
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 2, "the peer dropped its old pair");
  await closePair(p);
});
