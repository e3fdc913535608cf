/**
 * The responder's combined DH task (dhGenerateAndAgree): same g^x and g^xy as the two-step path for
 * a fixed private value, peer values refused before any work, and the same answers inline, through
 * the wire format and through a real pool, where our private value never comes back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dhAgree, dhGenerateAndAgree, dhPublicFromPrivate, DhGroups, type DhGroupId } from "../../src/crypto/dh.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import { decodeResponses, encodeResponses, decodeRequests, encodeRequests, type TaskResponse } from "../../src/crypto/tasks.js";
import { runTask } from "../../workers/crypto-tasks.js";
import { respondDh } from "../../src/ike/ports.js";
import { deterministicDh, inlineDh } from "../helpers/dh.js";

const GROUPS: DhGroupId[] = [1, 2, 5, 14];

function peerOf(group: DhGroupId, fill: number): Buffer {
  const r = dhPublicFromPrivate(group, Buffer.alloc(DhGroups[group].privateBits / 8, fill));
  assert.ok(r.ok);
  return r.value;
}

test("with a fixed private value it answers exactly what dhPublicFromPrivate + dhAgree answer", () => {
  for (const group of GROUPS) {
    const x = Buffer.alloc(DhGroups[group].privateBits / 8, 0x5c);
    const gy = peerOf(group, 0xa3);
    const combined = dhGenerateAndAgree(group, gy, x);
    const gx = dhPublicFromPrivate(group, x);
    const gxy = dhAgree(group, x, gy);
    assert.ok(combined.ok && gx.ok && gxy.ok);
    assert.deepEqual(combined.value.publicValue, gx.value, `group ${group} g^x`);
    assert.deepEqual(combined.value.sharedSecret, gxy.value, `group ${group} g^xy`);
    assert.equal(combined.value.sharedSecret.length, DhGroups[group].primeBytes);
    assert.deepEqual(x, Buffer.alloc(x.length, 0x5c), "a caller's private value is left as it was");
  }
});

test("a random private value: the peer's side agrees on g^xy", () => {
  const y = Buffer.alloc(DhGroups[2].privateBits / 8, 0x42);
  const r = dhGenerateAndAgree(2, peerOf(2, 0x42));
  assert.ok(r.ok);
  const theirs = dhAgree(2, y, r.value.publicValue);
  assert.ok(theirs.ok);
  assert.deepEqual(theirs.value, r.value.sharedSecret);
});

test("peer values of the wrong length or outside 1 < y < p-1, and unknown groups, are typed errors", () => {
  const p = DhGroups[2].prime;
  const pMinus1 = Buffer.from(p);
  pMinus1[pMinus1.length - 1]! -= 1;
  const one = Buffer.alloc(128);
  one[127] = 1;
  const cases: [number, Buffer, string][] = [
    [2, Buffer.alloc(127, 7), "IKE_ERR_DH_PUBLIC_LENGTH"],
    [2, Buffer.alloc(129, 7), "IKE_ERR_DH_PUBLIC_LENGTH"],
    [2, Buffer.alloc(128), "IKE_ERR_DH_PUBLIC_RANGE"],
    [2, one, "IKE_ERR_DH_PUBLIC_RANGE"],
    [2, pMinus1, "IKE_ERR_DH_PUBLIC_RANGE"],
    [2, Buffer.from(p), "IKE_ERR_DH_PUBLIC_RANGE"],
    [3, Buffer.alloc(128, 7), "IKE_ERR_DH_GROUP"],
  ];
  for (const [group, gy, code] of cases) {
    const r = dhGenerateAndAgree(group, gy);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, code);
    const viaTask = runTask({ op: "dhGenerateAndAgree", group, peerPublic: gy });
    assert.equal(viaTask.ok ? "ok" : viaTask.error.code, code, "the worker executor answers the same value");
  }
});

test("request and response survive the wire format", () => {
  const gy = peerOf(14, 1);
  const [req] = decodeRequests(encodeRequests([{ op: "dhGenerateAndAgree", group: 14, peerPublic: gy }]));
  assert.equal(req?.op, "dhGenerateAndAgree");
  assert.deepEqual(Buffer.from((req as { peerPublic: Uint8Array }).peerPublic), gy);
  const res: TaskResponse[] = [{ ok: true, value: { publicValue: Buffer.alloc(256, 1), sharedSecret: Buffer.alloc(256, 2) } }];
  assert.deepEqual(decodeResponses(encodeResponses(res)), res);
});

test("through a real pool and inline: g^xy matches the peer's, no private value comes back", async () => {
  const y = Buffer.alloc(DhGroups[14].privateBits / 8, 0x17);
  const gy = peerOf(14, 0x17);
  for (const threads of [0, 1]) {
    const pool = new CryptoPool({ threads, warmGroups: [14] });
    try {
      const [good, bad] = await Promise.all([pool.dhGenerateAndAgree(14, gy), pool.dhGenerateAndAgree(14, Buffer.alloc(256))]);
      assert.ok(good.ok, `threads ${threads}`);
      assert.deepEqual(Object.keys(good.value).sort(), ["publicValue", "sharedSecret"]);
      const theirs = dhAgree(14, y, good.value.publicValue);
      assert.ok(theirs.ok);
      assert.deepEqual(good.value.sharedSecret, theirs.value);
      assert.equal(bad.ok ? "ok" : bad.error.code, "IKE_ERR_DH_PUBLIC_RANGE");
    } finally {
      await pool.close();
    }
  }
});

test("respondDh: the combined call where a port has it, two steps where it does not, same values", async () => {
  const gy = peerOf(2, 0x33);
  const fixed = (): Buffer => Buffer.alloc(DhGroups[2].privateBits / 8, 0x44);
  const combined = await respondDh(deterministicDh(fixed), 2, gy);
  const port = deterministicDh(fixed);
  const twoStep = await respondDh({ dhGenerate: port.dhGenerate, dhAgree: port.dhAgree }, 2, gy);
  assert.ok(combined.ok && twoStep.ok);
  assert.deepEqual(combined.value, twoStep.value);
  const refused = await respondDh(inlineDh, 2, Buffer.alloc(5));
  assert.equal(refused.ok ? "ok" : refused.error.code, "IKE_ERR_DH_PUBLIC_LENGTH");
});
