/**
 * MM1s with the bytes of one answered before (all but the cookies) reuse its answer
 * (src/ike/mm1-answers.ts): the very MM2 a fresh engine sends for them, the same embryonic record,
 * so the exchange completes; a changed byte, a larger MM1 or another configuration gets its own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PayloadType } from "../../src/codec/index.js";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { MAX_REUSED_MM1 } from "../../src/ike/mm1-answers.js";
import { configPolicy } from "../../src/ike/ports.js";
import { VICTIM, close, negotiate, peerMm1, setting, settle, tables } from "../hostile/setup.js";

/** `mm1` under initiator cookie `n`. */
function withCookie(mm1: Buffer, n: number): Buffer {
  const d = Buffer.from(mm1);
  d.writeUInt32BE(0xa5a5_0000 + n, 0);
  d.writeUInt32BE(n * 2654435761 >>> 0, 4);
  return d;
}

/** `mm1` with one VID of `size` bytes appended (`fill` its data). */
function withVid(mm1: Buffer, size: number, fill: number): Buffer {
  let at = 28;
  while (mm1[at]! !== PayloadType.None) at += mm1.readUInt16BE(at + 2);
  const vid = Buffer.alloc(size);
  vid.writeUInt16BE(size, 2);
  vid.fill(fill, 4);
  const out = Buffer.concat([mm1, vid]);
  out[at] = PayloadType.VID;
  out.writeUInt32BE(out.length, 24);
  return out;
}

/** The MM2s the victim of a setting sends for `mm1s`, each from its own address (10.0.8.n). */
async function answers(mm1s: readonly Buffer[], fresh: boolean): Promise<{ mm2s: Buffer[]; hits: number }> {
  const mm2s: Buffer[] = [];
  let hits = 0;
  // `fresh`: every MM1 to a new engine, which has answered nothing before (the full path).
  for (let i = 0; i < mm1s.length; i += fresh ? 1 : mm1s.length) {
    const s = setting({ victimRuleRemote: "10.0.0.0/8" });
    const batch = fresh ? [mm1s[i]!] : mm1s;
    batch.forEach((d, k) => s.network.submit(d, { address: `10.0.8.${i + k + 1}`, port: 500 }, s.victim.endpoint));
    await settle(s, 10);
    mm2s.push(...s.wire.filter((r) => r.from.address === VICTIM).map((r) => Buffer.from(r.datagram)));
    hits += s.victim.engine.mm1Answers.hits;
    await close(s);
  }
  return { mm2s, hits };
}

test("MM1s with the bytes of one answered before get the very MM2 a fresh engine sends them", async () => {
  const mm1 = await peerMm1();
  const mm1s = [0, 1, 2, 3, 4].map((n) => withCookie(mm1, n));
  const reused = await answers(mm1s, false);
  const fresh = await answers(mm1s, true);
  assert.equal(reused.mm2s.length, 5);
  assert.equal(reused.hits, 4, "the first MM1 was answered in full, the next four from its answer");
  assert.equal(fresh.hits, 0);
  assert.deepEqual(reused.mm2s.map((b) => b.toString("hex")), fresh.mm2s.map((b) => b.toString("hex")));
  assert.equal(new Set(reused.mm2s.map((b) => b.subarray(8, 16).toString("hex"))).size, 5, "each its own responder cookie");
});

test("a changed byte after the cookies, or an MM1 over the size bound, is answered in full", async () => {
  const mm1 = await peerMm1();
  const other = withVid(mm1, 20, 0x11);
  const large = withVid(mm1, MAX_REUSED_MM1 + 1 - mm1.length, 0x22);
  const mm1s = [withCookie(mm1, 0), withCookie(other, 1), withCookie(other, 2), withCookie(large, 3), withCookie(large, 4)];
  const reused = await answers(mm1s, false);
  const fresh = await answers(mm1s, true);
  assert.equal(reused.hits, 1, "only the second MM1 with the extra VID was answered from the first's answer");
  assert.deepEqual(reused.mm2s.map((b) => b.toString("hex")), fresh.mm2s.map((b) => b.toString("hex")));
});

test("the exchange completes from a record made of a reused answer (SAi_b from the MM1 that came)", async () => {
  const s = setting();
  // A first Main Mode fills the answer; the second peer MM1 (same bytes, new cookie) reuses it.
  negotiate(s);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 2);
  assert.equal(s.victim.engine.mm1Answers.hits, 0);
  for (const sa of s.peer.engine.sas.all()) sa.destroy("next round");
  negotiate(s);
  await settle(s);
  assert.equal(s.victim.engine.mm1Answers.hits, 1, "the second MM1 was answered from the first's answer");
  assert.equal(s.victim.engine.stats.engine.embryonicMissed, 0);
  const main = s.victim.engine.stats.negotiations.phase1.main.responder;
  assert.deepEqual([main.started, main.established], [2, 2], "Main Mode completed again: HASH_I and HASH_R agree on SAi_b");
  await close(s);
});

test("a rule is resolved once per configuration: the same object until a reload makes a new one", () => {
  const parse = (life: number) => {
    const c = parseIkeConfig(`p1_lifetime_secs ${life}\n{\n label "r"\n local_addr 10.0.5.2\n remote_addr 10.0.0.0/8\n p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }\n}\n`, "t");
    const k = parsePreshared(`{ localidtype ip localid 10.0.5.2 remoteidtype ip remoteid 10.0.5.1 key "k" }\n`, "t");
    assert.ok(c.ok && k.ok);
    return { config: c.value, preshared: k.value };
  };
  let current = parse(3600);
  const policy = configPolicy(() => current);
  const a = policy.ruleFor("10.0.5.2", "10.0.8.1")!;
  assert.equal(policy.ruleFor("10.0.5.2", "10.0.9.9"), a);
  assert.equal(policy.ruleByLabel("r"), a);
  current = parse(7200);
  const b = policy.ruleFor("10.0.5.2", "10.0.8.1")!;
  assert.notEqual(b, a);
  assert.equal(b.p1Xforms[0]!.p1LifetimeSecs, 7200, "the new configuration's values");
  assert.equal(a.p1Xforms[0]!.p1LifetimeSecs, 3600);
});
