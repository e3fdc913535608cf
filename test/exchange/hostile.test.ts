/**
 * Hostile datagrams: every message of a real exchange, mutated (bit flips, truncation, length
 * edits, random bytes), fed to a responder and to an initiator mid-exchange. Nothing may throw,
 * and the engines must still complete a clean exchange afterwards. Seeded; the seed is printed on
 * failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle, type Pair } from "./harness.js";

const XF = "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg 3des }";

function pair(): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "k"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "k"),
  });
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(d: Buffer, r: () => number): Buffer {
  const out = Buffer.from(d);
  switch (Math.floor(r() * 5)) {
    case 0: {
      const i = Math.floor(r() * out.length);
      out[i] = out[i]! ^ (1 << Math.floor(r() * 8));
      return out;
    }
    case 1:
      return out.subarray(0, Math.floor(r() * out.length));
    case 2:
      // The ISAKMP length, or a payload length somewhere after the header.
      out.writeUInt16BE(Math.floor(r() * 65536), out.length > 30 && r() < 0.5 ? 30 : 26);
      return out;
    case 3:
      for (let i = 28; i < out.length; i++) if (r() < 0.05) out[i] = Math.floor(r() * 256);
      return out;
    default:
      return Buffer.concat([out, Buffer.alloc(Math.floor(r() * 64), Math.floor(r() * 256))]);
  }
}

test("mutated messages of a real exchange never throw and do not stop a later clean exchange", async () => {
  // Record a clean exchange.
  const rec = pair();
  const captured: { d: Buffer; toB: boolean }[] = [];
  rec.network.tap((t) => captured.push({ d: Buffer.from(t.datagram), toB: t.to.address === "10.0.0.2" }));
  initiate(rec, "to-b");
  await settle(rec);
  assert.equal(captured.length, 6);
  rec.a.engine.close();
  rec.b.engine.close();

  const seed = 20261127;
  const r = rng(seed);
  const p = pair();
  const a = p.a.endpoint;
  const b = p.b.endpoint;
  try {
    for (let round = 0; round < 400; round++) {
      const c = captured[Math.floor(r() * captured.length)]!;
      const bad = mutate(c.d, r);
      if (c.toB) p.b.engine.receive(bad, b, a);
      else p.a.engine.receive(bad, a, b);
      if (round % 50 === 0) await settle(p, 2);
    }
    await settle(p);
    // Random garbage of every small length.
    for (let len = 0; len < 64; len++) p.b.engine.receive(Buffer.alloc(len, len), b, a);
    await settle(p);
    // Whatever half-open state the junk made, expire_timer clears it; then a clean run works.
    p.clock.advance(301_000);
    await settle(p);
    assert.equal(p.b.engine.sas.size, 0, "junk left no SA behind after expire_timer");
    const sa = initiate(p, "to-b");
    await settle(p);
    assert.equal(sa.state, "established", `seed ${seed}`);
  } catch (err) {
    console.error(`hostile test seed ${seed}`);
    throw err;
  } finally {
    p.a.engine.close();
    p.b.engine.close();
  }
});
