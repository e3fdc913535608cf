/**
 * Anti-amplification and the DH share of unverified peers (issue 11, item 3). Aggressive Mode
 * answers AM1 with AM2, our DH value and HASH_R, before the initiator has shown it receives our
 * packets (RFC 2409 section 5.4): so AM1s spoofed from a victim's address must not make us send it
 * more than 3x what "it" sent us, retransmissions included, and a flood of them must not take more
 * DH work than its slots while Main Mode exchanges of cookie-verified peers go on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine } from "../../src/ike/engine.js";
import type { DhPort } from "../../src/ike/ports.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { deterministicDh } from "../helpers/dh.js";
import { makePair, policyFrom, ruleText, seededRandom, settle, type Pair } from "../exchange/harness.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
/** b (us) answers Aggressive Mode for the identity 10.0.0.1 from anywhere in 10/8, Main Mode for 10.0.0.3. */
const B_KEYS =
  `{ localidtype ip localid 10.0.0.2 remoteidtype ip remoteid 10.0.0.1 ike_mode aggressive key "am-secret" }\n` +
  `{ localidtype ip localid 10.0.0.2 remoteidtype ip remoteid 10.0.0.3 ike_mode main key "mm-secret" }\n`;

function pair(unverifiedDh?: number, wrapDh?: (dh: DhPort) => DhPort): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-all", "10.0.0.2", "10.0.0.0/8", XF),
    pskA: `{ localidtype ip localid 10.0.0.1 remoteidtype ip remoteid 10.0.0.2 ike_mode aggressive key "am-secret" }\n`,
    pskB: B_KEYS,
    ...(unverifiedDh !== undefined ? { engine: { unverifiedDh } } : {}),
    ...(wrapDh !== undefined ? { wrapDh: (side, dh) => (side === "b" ? wrapDh(dh) : dh) } : {}),
  });
}

/** a's AM1, captured and never delivered; a is closed afterwards. */
async function capturedAm1(p: Pair): Promise<Buffer> {
  let am1: Buffer | undefined;
  p.network.setImpairment({ filter: (d, from) => (from.address === "10.0.0.1" ? ((am1 ??= Buffer.from(d)), "drop") : "pass") });
  p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, "aggressive");
  await settle(p);
  p.network.setImpairment({});
  p.a.engine.close();
  assert.ok(am1 !== undefined && am1[18] === 4, "an AM1");
  return am1;
}

test("replayed and spoofed AM1s at a victim address: at most 3x its bytes go back, retransmissions included", async () => {
  const p = pair();
  const am1 = await capturedAm1(p);
  const victim: Endpoint = { address: "10.0.9.9", port: 500 };
  let bytesOut = 0;
  let datagramsOut = 0;
  p.network.tap((r) => {
    if (r.from.address === "10.0.0.2" && r.to.address === victim.address) (bytesOut += r.datagram.length), datagramsOut++;
  });
  let bytesIn = 0;
  const send = (d: Buffer): void => {
    bytesIn += d.length;
    p.network.submit(d, victim, p.b.endpoint);
  };
  // The same AM1 three times (the replay), then four more with other initiator cookies
  // (five exchanges: the per-address half-open bound).
  for (let i = 0; i < 3; i++) send(am1);
  await settle(p);
  for (let i = 0; i < 4; i++) {
    const d = Buffer.from(am1);
    d.writeUInt32BE(0xa1000000 + i, 0);
    send(d);
  }
  // Every AM2 retransmission runs out (retry_limit 5, up to 30 s apart).
  for (let t = 0; t < 140; t++) {
    p.clock.advance(500);
    await settle(p, 3);
  }
  const st = p.b.engine.stats.engine;
  assert.ok(datagramsOut > 0, "some AM2s went out (within the bound)");
  assert.ok(bytesOut <= 3 * bytesIn, `${bytesOut} bytes in ${datagramsOut} datagrams out for ${bytesIn} in`);
  assert.ok(st.amplificationRefused > 0, "the rest was held back");
  assert.equal(st.unverifiedBytesOut, bytesOut);
  assert.equal(p.b.engine.sas.size, 0, "every unverified exchange ended at its retransmission limit");
  p.b.engine.close();
});

test("a spoofed AM1 flood never has more DH in flight than its slots; Main Mode of a verified peer completes meanwhile", async () => {
  const am1Ke = { value: undefined as Buffer | undefined };
  const inflight = { am: 0, maxAm: 0, mmWhileFull: 0, mm: 0 };
  const budget = 2;
  const slow = (dh: DhPort): DhPort => {
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    return {
      dhGenerate: (g, o) => dh.dhGenerate(g, o),
      dhAgree: (g, x, y, o) => dh.dhAgree(g, x, y, o),
      async dhGenerateAndAgree(g, peerPublic, o) {
        const am = am1Ke.value !== undefined && Buffer.from(peerPublic).equals(am1Ke.value);
        if (am) inflight.maxAm = Math.max(inflight.maxAm, ++inflight.am);
        else {
          inflight.mm++;
          if (inflight.am === budget) inflight.mmWhileFull++;
        }
        try {
          await turns(5);
          return await dh.dhGenerateAndAgree!(g, peerPublic, o);
        } finally {
          if (am) inflight.am--;
        }
      },
    };
  };
  const p = pair(budget, slow);
  const am1 = await capturedAm1(p);
  // AM1 = header, SA, KE, NONCE, ID: the KE payload's data is what the flood's DH calls carry.
  am1Ke.value = keOf(am1);
  // c: an honest Main Mode peer at 10.0.0.3 (verified by its MM3 carrying our cookie).
  const c = mainModePeer(p);
  const cSa = c.engine.initiate(c.policy.ruleByLabel("to-b")!, c.endpoint, p.b.endpoint);
  for (let wave = 0; wave < 6; wave++) {
    for (let i = 0; i < 40; i++) {
      const d = Buffer.from(am1);
      d.writeUInt32BE(0xf1000000 + wave * 100 + i, 0);
      p.network.submit(d, { address: `10.0.${20 + wave}.${i + 1}`, port: 500 }, p.b.endpoint);
    }
    await settle(p, 4);
  }
  await settle(p);
  assert.equal(cSa.state, "established", "the verified peer's Main Mode completed during the flood");
  assert.ok(inflight.maxAm <= budget, `at most ${budget} unverified DH computations at once, saw ${inflight.maxAm}`);
  assert.equal(inflight.maxAm, budget, "the flood used its share");
  assert.ok(p.b.engine.stats.engine.unverifiedDhRefused > 0, "AM1s beyond the share were dropped");
  assert.ok(inflight.mmWhileFull > 0, "Main Mode's DH ran while the unverified share was full");
  assert.equal(p.b.engine.unverifiedDh.inUse, 0, "every slot released");
  c.engine.close();
  p.b.engine.close();
});

/** The data of AM1's KE payload (second payload: SA first). */
function keOf(am1: Buffer): Buffer {
  const saLen = am1.readUInt16BE(28 + 2);
  const ke = 28 + saLen;
  return am1.subarray(ke + 4, ke + am1.readUInt16BE(ke + 2));
}

function mainModePeer(p: Pair) {
  const endpoint = { address: "10.0.0.3", port: 500 };
  const policy = policyFrom(ruleText("to-b", "10.0.0.3", "10.0.0.2", XF), `{ localidtype ip localid 10.0.0.3 remoteidtype ip remoteid 10.0.0.2 ike_mode main key "mm-secret" }\n`);
  const engine = new IkeEngine({
    transport: p.network.attach([endpoint]),
    policy,
    clock: p.clock,
    random: seededRandom("c"),
    cookies: new CookieJar({ clock: p.clock, random: seededRandom("c-cookies") }),
    dh: deterministicDh((group, n) => {
      const x = createHash("sha256").update(`c-dh-${group}-${n}`).digest();
      x[0] = x[0]! | 0x80;
      return x;
    }),
    kernel: new MemoryKernel(),
  });
  return { engine, policy, endpoint };
}
