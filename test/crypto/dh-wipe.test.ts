/**
 * DH private values and shared secrets do not linger (issue 11 item 6, crypto side):
 * - the per-group cached DiffieHellman object holds no private exponent between calls;
 * - an unpadded g^xy (what OpenSSL's DH_compute_key returns; Node 20 happens to pad it already)
 *   is wiped once dh.ts has made its padded copy;
 * - the copies a Phase1Keymat hands to pool tasks live outside Node's shared buffer pool and are
 *   wiped when the holder releases the value (derivation, replacement, destroy) or when the
 *   scoped `withDhPrivateForTask` call settles;
 * - secrets decoded from a worker's answer live outside the shared pool too.
 *
 * The DiffieHellman objects are observed by wrapping `crypto.createDiffieHellman` before dh.ts
 * builds any (each test file runs in its own process; this one builds groups only through dh.ts).
 */
import assert from "node:assert/strict";
import { randomBytes, type DiffieHellman } from "node:crypto";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { describe, it } from "node:test";

const nodeCrypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
const built: DiffieHellman[] = [];
/** Every buffer computeSecret returned, in order. */
const rawSecrets: Buffer[] = [];
const realCreate = nodeCrypto.createDiffieHellman;
nodeCrypto.createDiffieHellman = ((...args: Parameters<typeof realCreate>) => {
  const dh = (realCreate as (...a: unknown[]) => DiffieHellman)(...args);
  const compute = dh.computeSecret.bind(dh) as (key: NodeJS.ArrayBufferView) => Buffer;
  // Node 20 already left-pads g^xy in place; OpenSSL's DH_compute_key does not. Answer as OpenSSL
  // does (leading zeros stripped), so dh.ts's own padding, and its wiping, are exercised.
  dh.computeSecret = ((key: NodeJS.ArrayBufferView) => {
    const padded = compute(key);
    let zeros = 0;
    while (zeros < padded.length - 1 && padded[zeros] === 0) zeros++;
    const out = Buffer.alloc(padded.length - zeros);
    padded.copy(out, 0, zeros);
    padded.fill(0);
    rawSecrets.push(out);
    return out;
  }) as DiffieHellman["computeSecret"];
  built.push(dh);
  return dh;
}) as typeof realCreate;
syncBuiltinESMExports();

const { DhGroups, dhAgree, dhGenerate, dhGenerateAndAgree, dhPublicFromPrivate } = await import("../../src/crypto/dh.js");
const { IkeEncryption, IkeHash } = await import("../../src/codec/attributes-constants.js");
const { Phase1Keymat, phase1Suite } = await import("../../src/crypto/keymat.js");
const { decodeResponses, encodeResponses } = await import("../../src/crypto/tasks.js");

/** Node's shared pool slab is 8 KiB; a buffer with an ArrayBuffer of its own is not in it. */
const ownsItsMemory = (b: Buffer): boolean => b.byteOffset === 0 && b.buffer.byteLength === b.length;
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};

describe("dh.ts", () => {
  it("leaves no private exponent in the cached DiffieHellman object after any operation", () => {
    const peer = ok(dhGenerate(2)).publicValue;
    ok(dhAgree(2, ok(dhGenerate(2)).privateValue, peer));
    ok(dhPublicFromPrivate(5, Buffer.alloc(DhGroups[5].privateBits / 8, 0x5a)));
    ok(dhGenerateAndAgree(14, ok(dhGenerate(14)).publicValue));
    assert.ok(built.length >= 3, `DH objects built: ${built.length}`);
    for (const dh of built) assert.ok(isZero(dh.getPrivateKey()), "a cached DH object still holds a private exponent");
  });

  it("wipes the unpadded g^xy when it had to be left-padded", () => {
    // About one exchange in 256 gives a g^xy with a leading zero byte; search with fixed exponents.
    const y = Buffer.alloc(20, 0x11);
    const gy = ok(dhPublicFromPrivate(1, y));
    for (let i = 1; i < 20_000; i++) {
      const x = Buffer.alloc(20);
      x.writeUInt32BE(i, 16);
      x[0] = 0x80;
      const before = rawSecrets.length;
      const gxy = ok(dhAgree(1, x, gy));
      if (gxy[0] !== 0) continue;
      const raw = rawSecrets[before]!;
      assert.ok(raw.length < gxy.length, "computeSecret returned the unpadded value");
      assert.ok(isZero(raw), "the unpadded copy of g^xy is wiped");
      assert.ok(!isZero(gxy));
      return;
    }
    assert.fail("no g^xy with a leading zero byte found");
  });
});

describe("Phase1Keymat DH private value", () => {
  const suite = phase1Suite(IkeEncryption.AES_CBC, 128, IkeHash.SHA);
  const exchange = () => ({ icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(16), nonceR: randomBytes(16), gxi: randomBytes(128), gxr: randomBytes(128) });

  it("hands out copies outside Node's shared pool and wipes them when the derivation consumes the value", () => {
    const km = new Phase1Keymat(suite);
    km.holdDhPrivate(randomBytes(20));
    const a = km.dhPrivateForTask();
    const b = km.dhPrivateForTask();
    assert.ok(ownsItsMemory(a) && ownsItsMemory(b), "copies are not in the shared pool slab");
    assert.ok(!isZero(a) && a.equals(b));
    km.deriveFromPsk(exchange(), randomBytes(128), Buffer.from("psk"));
    assert.ok(isZero(a) && isZero(b), "handed-out copies wiped by the derivation");
    km.destroy();
  });

  it("wipes handed-out copies on destroy() and when the value is replaced", () => {
    const km = new Phase1Keymat(suite);
    km.holdDhPrivate(randomBytes(20));
    const first = km.dhPrivateForTask();
    km.holdDhPrivate(randomBytes(20));
    assert.ok(isZero(first), "a replaced value's copies are wiped");
    const second = km.dhPrivateForTask();
    assert.ok(!isZero(second));
    km.destroy();
    assert.ok(isZero(second), "destroy wipes the copies");
  });

  it("another holder may take over a copy (Aggressive Mode's provisional holder)", () => {
    const provisional = new Phase1Keymat(suite);
    const x = randomBytes(20);
    provisional.holdDhPrivate(Buffer.from(x));
    const km = new Phase1Keymat(suite);
    km.holdDhPrivate(provisional.dhPrivateForTask());
    provisional.destroy();
    assert.ok(km.dhPrivateForTask().equals(x));
    km.destroy();
  });

  it("withDhPrivateForTask wipes its copy when the task settles, resolved or rejected", async () => {
    const km = new Phase1Keymat(suite);
    km.holdDhPrivate(randomBytes(20));
    let seen: Buffer | undefined;
    const r = await km.withDhPrivateForTask(async (x) => {
      seen = x;
      assert.ok(!isZero(x));
      await new Promise((res) => setImmediate(res));
      assert.ok(!isZero(x), "still intact while the task runs");
      return 7;
    });
    assert.equal(r, 7);
    assert.ok(seen !== undefined && isZero(seen));
    let failed: Buffer | undefined;
    await assert.rejects(km.withDhPrivateForTask(async (x) => {
      failed = x;
      throw new Error("task failed");
    }), /task failed/);
    assert.ok(failed !== undefined && isZero(failed));
    km.destroy();
  });
});

describe("worker answers", () => {
  it("decode secrets into memory outside the shared pool", () => {
    const out = decodeResponses(encodeResponses([
      { ok: true, value: { publicValue: randomBytes(128), privateValue: randomBytes(20) } },
      { ok: true, value: { publicValue: randomBytes(128), sharedSecret: randomBytes(128) } },
      { ok: true, value: randomBytes(32) },
    ]));
    const [pair, ex, buf] = out.map((r) => (r.ok ? r.value : assert.fail("error response")));
    assert.ok(ownsItsMemory((pair as { privateValue: Buffer }).privateValue));
    assert.ok(ownsItsMemory((ex as { sharedSecret: Buffer }).sharedSecret));
    assert.ok(ownsItsMemory(buf as Buffer));
  });
});
