/**
 * The algorithm registry: wire numbers (RFC 2409 appendix A, RFC 2407 4.4/4.5, RFC 3602, RFC 4868),
 * illumos names (reference ike-config.md 7.3), OpenSSL names and KEYMAT sizes.
 */
import assert from "node:assert/strict";
import { getCiphers, getHashes } from "node:crypto";
import { describe, it } from "node:test";
import { AhTransformId, EspTransformId, ProtocolId } from "../../src/codec/index.js";
import {
  authAlgorithms,
  authByAhTransform,
  authById,
  cipherById,
  cipherByName,
  espCiphers,
  groupById,
  groups,
  hashById,
  hashByName,
  keyBitsAllowed,
  keylenRange,
  keymatLength,
  phase1Ciphers,
  phase1Hashes,
} from "../../src/crypto/algorithms.js";

describe("algorithm registry", () => {
  it("Phase 1 cipher numbers and illumos names (ike-config.md 7.3: des 1, blowfish 3, 3des 5, aes 7)", () => {
    assert.deepEqual(phase1Ciphers.map((c) => [c.id, c.name]), [[1, "des"], [3, "blowfish"], [5, "3des"], [7, "aes"]]);
    for (const [alias, id] of [["des-cbc", 1], ["3DES-CBC", 5], ["blowfish-cbc", 3], ["aes-cbc", 7], ["AES", 7]] as const) {
      assert.equal(cipherByName(alias)?.id, id, alias);
    }
    assert.equal(cipherByName("cast"), undefined);
    assert.equal(cipherById(2), undefined);
    assert.deepEqual(phase1Ciphers.map((c) => [c.blockSize, c.legacy]), [[8, true], [8, true], [8, false], [16, false]]);
  });

  it("Phase 1 hash numbers and names (md5 1, sha/sha1 2, sha256 4, sha384 5, sha512 6)", () => {
    assert.deepEqual(phase1Hashes.map((h) => [h.id, h.name, h.outputLength]), [[1, "md5", 16], [2, "sha1", 20], [4, "sha256", 32], [5, "sha384", 48], [6, "sha512", 64]]);
    assert.equal(hashByName("sha")?.id, 2);
    assert.equal(hashByName("SHA256")?.id, 4);
    assert.equal(hashById(3), undefined, "Tiger is not implemented");
    assert.deepEqual(phase1Hashes.map((h) => h.ikeadmPrf), [1, 2, 5, 6, 7], "ikeadm PRF constants");
  });

  it("every OpenSSL name exists in this Node (legacy provider loaded by the test runner)", () => {
    const ciphers = new Set(getCiphers());
    const hashes = new Set(getHashes());
    for (const c of phase1Ciphers) {
      for (let bits = c.keyBits.min; bits <= c.keyBits.max; bits += c.keyBits.step || 1) {
        if (keyBitsAllowed(c.keyBits, bits)) assert.ok(ciphers.has(c.openssl(bits)), c.openssl(bits));
      }
    }
    for (const h of phase1Hashes) assert.ok(hashes.has(h.openssl), h.openssl);
    for (const a of authAlgorithms) assert.ok(hashes.has(a.openssl), a.openssl);
  });

  it("key sizes: Blowfish 40..448 in 8-bit steps, AES 128/192/256, fixed DES/3DES", () => {
    const bf = cipherById(3)!;
    assert.ok(keyBitsAllowed(bf.keyBits, 40) && keyBitsAllowed(bf.keyBits, 448) && keyBitsAllowed(bf.keyBits, 136));
    assert.ok(!keyBitsAllowed(bf.keyBits, 32) && !keyBitsAllowed(bf.keyBits, 456) && !keyBitsAllowed(bf.keyBits, 44));
    const aes = cipherById(7)!;
    assert.deepEqual([128, 160, 192, 256, 320].map((b) => keyBitsAllowed(aes.keyBits, b)), [true, false, true, true, false]);
    assert.ok(keyBitsAllowed(cipherById(5)!.keyBits, 192) && !keyBitsAllowed(cipherById(5)!.keyBits, 128));
    assert.deepEqual(phase1Ciphers.map(keylenRange), ["N/A", "40-448", "N/A", "128-256"], "dump encralgs Keylen range");
  });

  it("groups 1, 2, 5, 14, 15, 16 with sizes and labels", () => {
    assert.deepEqual(groups.map((g) => [g.id, g.bits]), [[1, 768], [2, 1024], [5, 1536], [14, 2048], [15, 3072], [16, 4096]]);
    assert.equal(groupById(5)?.display, "1536-bit MODP (group 5)");
    assert.equal(groupById(19), undefined);
    const strengths = groups.map((g) => g.strength);
    assert.deepEqual([...strengths].sort((a, b) => a - b), strengths, "strength grows with size");
  });

  it("ESP and AH ids (RFC 2407 4.4.3/4.4.4, RFC 3602, RFC 4868) and auth key/ICV sizes", () => {
    assert.deepEqual(espCiphers.map((c) => c.id), [2, 3, 7, 11, 12]);
    assert.deepEqual(authAlgorithms.map((a) => a.ahTransform), [2, 3, 5, 6, 7]);
    assert.deepEqual(authAlgorithms.map((a) => [a.id, a.keyBytes, a.icvBytes]), [[1, 16, 12], [2, 20, 12], [5, 32, 16], [6, 48, 24], [7, 64, 32]]);
    assert.equal(authByAhTransform(3)?.name, "sha1");
    assert.equal(authById(4), undefined);
  });

  it("KEYMAT lengths: encryption key then authentication key", () => {
    const E = ProtocolId.IPSEC_ESP;
    assert.deepEqual(keymatLength(E, EspTransformId.ESP_DES, undefined, 1), { encryptionBytes: 8, authenticationBytes: 16, total: 24 });
    assert.equal(keymatLength(E, EspTransformId.ESP_3DES, undefined, 2)?.total, 44);
    assert.equal(keymatLength(E, EspTransformId.ESP_AES, undefined, 5)?.total, 48, "AES defaults to 128 bits");
    assert.equal(keymatLength(E, EspTransformId.ESP_AES, 256, 7)?.total, 96);
    assert.equal(keymatLength(E, EspTransformId.ESP_BLOWFISH, undefined, 2)?.total, 36, "Blowfish defaults to 128 bits");
    assert.equal(keymatLength(E, EspTransformId.ESP_BLOWFISH, 448, undefined)?.total, 56, "ESP without authentication");
    assert.equal(keymatLength(E, EspTransformId.ESP_NULL, undefined, 6)?.total, 48);
    assert.equal(keymatLength(ProtocolId.IPSEC_AH, AhTransformId.AH_SHA2_512, undefined, undefined)?.total, 64);
    assert.equal(keymatLength(E, EspTransformId.ESP_AES, 100, 2), undefined);
    assert.equal(keymatLength(E, 99, undefined, 2), undefined);
    assert.equal(keymatLength(E, EspTransformId.ESP_AES, 128, 99), undefined);
  });
});
