/**
 * The native addon's prf, hash and CBC (native/src/digest.c, through src/crypto/native-primitives.ts)
 * give node:crypto's bytes for every Phase 1 hash and cipher, any key length (HMAC keys longer than
 * the hash block are hashed first) and any split of the input into parts; prf.ts and cipher.ts use
 * them when the addon is built, and node:crypto otherwise (more parts than the addon takes).
 */
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { tryLoadNative } from "../../native/index.js";
import { phase1Ciphers, phase1Hashes } from "../../src/crypto/algorithms.js";
import { cbcDecrypt, cbcEncrypt, legacyProviderLoaded } from "../../src/crypto/cipher.js";
import { nativeCbc, nativeHash, nativeHmac } from "../../src/crypto/native-primitives.js";
import { hash, prf } from "../../src/crypto/prf.js";

const addon = tryLoadNative();
// The addon is part of the build (npm ci); without it these paths are not exercised at all.
assert.ok(addon !== undefined, "native addon not built: run npm run build:native");

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => Buffer.from(a));
const parts = fc.array(bytes(300), { minLength: 0, maxLength: 6 });

function nodeHmac(name: string, key: Uint8Array, ps: readonly Uint8Array[]): Buffer {
  const h = createHmac(name, key);
  for (const p of ps) h.update(p);
  return h.digest();
}
function nodeHash(name: string, ps: readonly Uint8Array[]): Buffer {
  const h = createHash(name);
  for (const p of ps) h.update(p);
  return h.digest();
}
function nodeCbc(name: string, encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

describe("native prf and hash", () => {
  for (const h of phase1Hashes) {
    it(`HMAC-${h.display} equals node:crypto for keys of 0..300 bytes in up to 6 parts`, () => {
      fc.assert(
        fc.property(bytes(300), parts, (key, ps) => {
          const want = nodeHmac(h.openssl, key, ps);
          assert.deepEqual(nativeHmac(h.openssl, key, ps), want);
          assert.deepEqual(prf(h, key, ...ps), want);
        }),
        { numRuns: 150 },
      );
    });
    it(`${h.display} equals node:crypto in up to 6 parts`, () => {
      fc.assert(
        fc.property(parts, (ps) => {
          const want = nodeHash(h.openssl, ps);
          assert.deepEqual(nativeHash(h.openssl, ps), want);
          assert.deepEqual(hash(h, ...ps), want);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("more parts than the addon takes in one call go through node:crypto, same bytes", () => {
    const sha1 = phase1Hashes.find((h) => h.openssl === "sha1")!;
    const many = Array.from({ length: 20 }, (_, i) => Buffer.from([i, i + 1]));
    assert.equal(nativeHmac("sha1", Buffer.from("k"), many), undefined);
    assert.deepEqual(prf(sha1, Buffer.from("k"), ...many), nodeHmac("sha1", Buffer.from("k"), many));
    assert.deepEqual(hash(sha1, ...many), nodeHash("sha1", many));
  });

  it("the addon refuses what is not bytes and names it", () => {
    const md = addon.mdFetch("sha1");
    assert.throws(() => addon.hmac(md, Buffer.alloc(4), ["text" as unknown as Uint8Array]), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.hmac(md, 42 as unknown as Uint8Array, []), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.hmac(md, Buffer.alloc(4), Array.from({ length: 17 }, () => Buffer.alloc(1))), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.digest(addon.cipherFetch("aes-128-cbc") as never, []), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.mdFetch("no-such-digest"), { code: "IKE_ERR_NATIVE_ALG" });
  });
});

describe("native CBC", () => {
  // Key lengths each cipher takes (Blowfish: the RFC 2409 range in whole bytes).
  const cases: { name: string; keyLens: number[]; block: number }[] = [];
  for (const c of phase1Ciphers) {
    if (c.legacy && !legacyProviderLoaded()) continue;
    const lens: number[] = [];
    for (let bits = c.keyBits.min; bits <= c.keyBits.max; bits += c.keyBits.step || 1) lens.push(bits / 8);
    for (const len of lens) cases.push({ name: c.openssl(len * 8), keyLens: [len], block: c.blockSize });
  }
  it("every Phase 1 cipher and key length is exercised (legacy provider loaded)", () => {
    assert.ok(legacyProviderLoaded(), "run node with --openssl-legacy-provider");
    assert.ok(cases.some((c) => c.name === "bf-cbc" && c.keyLens[0] === 56));
  });
  for (const c of cases) {
    it(`${c.name} with a ${c.keyLens[0]}-byte key equals node:crypto both ways`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: c.keyLens[0], maxLength: c.keyLens[0] }),
          fc.uint8Array({ minLength: c.block, maxLength: c.block }),
          fc.integer({ min: 0, max: 12 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          (key, iv, blocks, seed) => {
            const data = Buffer.alloc(blocks * c.block, seed & 0xff);
            const ct = nodeCbc(c.name, true, key, iv, data);
            assert.deepEqual(nativeCbc(c.name, true, key, iv, data), ct);
            assert.deepEqual(nativeCbc(c.name, false, key, iv, ct), nodeCbc(c.name, false, key, iv, ct));
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  it("cbcEncrypt/cbcDecrypt give node:crypto's bytes and still refuse partial blocks and wrong IVs", () => {
    const aes = phase1Ciphers.find((c) => c.name === "aes")!;
    const key = Buffer.alloc(16, 7), iv = Buffer.alloc(16, 9), data = Buffer.alloc(48, 3);
    const ct = cbcEncrypt(aes, key, iv, data);
    assert.deepEqual(ct, nodeCbc("aes-128-cbc", true, key, iv, data));
    assert.deepEqual(cbcDecrypt(aes, key, iv, ct), data);
    assert.throws(() => cbcEncrypt(aes, key, iv, Buffer.alloc(47)), { code: "IKE_ERR_CRYPTO_BAD_INPUT" });
    assert.throws(() => cbcEncrypt(aes, key, Buffer.alloc(8), data), { code: "IKE_ERR_CRYPTO_BAD_INPUT" });
    // The addon checks shapes by itself too.
    const c = addon.cipherFetch("aes-128-cbc");
    assert.throws(() => addon.cbc(c, true, key, iv, Buffer.alloc(47)), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.cbc(c, true, key, Buffer.alloc(8), data), { code: "IKE_ERR_NATIVE_ARG" });
    assert.throws(() => addon.cbc(c, true, Buffer.alloc(5), iv, data), { code: "IKE_ERR_NATIVE_CRYPTO" });
  });
});
