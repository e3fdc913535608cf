/**
 * Phase 1 CBC ciphers against published test vectors. Each expected value names its document.
 * Single-block ECB vectors are checked as CBC with an all-zero IV (identical for one block).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { IkeEncryption } from "../../src/codec/index.js";
import { cipherById, type CipherInfo } from "../../src/crypto/algorithms.js";
import { cbcDecrypt, cbcEncrypt, checkCipherKey, padForEncryption, paddedLength } from "../../src/crypto/cipher.js";
import { CryptoError, CryptoErrorCode } from "../../src/crypto/crypto-error.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const alg = (id: number): CipherInfo => {
  const c = cipherById(id);
  assert.ok(c);
  return c;
};
const DES = alg(IkeEncryption.DES_CBC);
const TDES = alg(IkeEncryption.TRIPLEDES_CBC);
const BF = alg(IkeEncryption.BLOWFISH_CBC);
const AES = alg(IkeEncryption.AES_CBC);

/** Encrypts, compares, decrypts back. */
function kat(c: CipherInfo, key: string, iv: string, pt: string, ct: string): void {
  assert.equal(cbcEncrypt(c, hex(key), hex(iv), hex(pt)).toString("hex"), hex(ct).toString("hex"));
  assert.equal(cbcDecrypt(c, hex(key), hex(iv), hex(ct)).toString("hex"), hex(pt).toString("hex"));
}
const Z8 = "0000000000000000";

describe("DES-CBC", () => {
  it("FIPS 81 appendix B, CBC example (Table B2): 'Now is the time for all '", () => {
    kat(DES, "0123456789abcdef", "1234567890abcdef",
      "4e6f772069732074 68652074696d6520 666f7220616c6c20",
      "e5c7cdde872bf27c 43e934008c389c0f 683788499a7c05f6");
  });
  it("FIPS 81 appendix B, ECB example (Table B1), block by block", () => {
    const blocks = [["4e6f772069732074", "3fa40e8a984d4815"], ["68652074696d6520", "6a271787ab8883f9"], ["666f7220616c6c20", "893d51ec4b563b53"]];
    for (const [pt, ct] of blocks) kat(DES, "0123456789abcdef", Z8, pt ?? "", ct ?? "");
  });
  it("NBS SP 500-20 / SP 800-17 Table A.2, variable key known answers", () => {
    kat(DES, "8001010101010101", Z8, Z8, "95a8d72813daa94d");
    kat(DES, "4001010101010101", Z8, Z8, "0eec1487dd8c26d5");
  });
});

describe("3DES-CBC (DES-EDE3)", () => {
  it("NIST SP 800-67 rev. 1 appendix B, example: 'The qufck brown fox jump'", () => {
    const key = "0123456789abcdef 23456789abcdef01 456789abcdef0123";
    const blocks = [["5468652071756663", "a826fd8ce53b855f"], ["6b2062726f776e20", "cce21c8112256fe6"], ["666f78206a756d70", "68d5c05dd9b6b900"]];
    for (const [pt, ct] of blocks) kat(TDES, key, Z8, pt ?? "", ct ?? "");
  });
  it("chains like CBC: C2 = E(K, P2 xor C1), from the SP 800-67 ECB values", () => {
    const key = "0123456789abcdef 23456789abcdef01 456789abcdef0123";
    const c1 = cbcEncrypt(TDES, hex(key), hex(Z8), hex("5468652071756663"));
    const two = cbcEncrypt(TDES, hex(key), hex(Z8), hex("5468652071756663 6b2062726f776e20"));
    const p2x = Buffer.from(hex("6b2062726f776e20").map((b, i) => b ^ (c1[i] ?? 0)));
    assert.deepEqual(two.subarray(8), cbcEncrypt(TDES, hex(key), hex(Z8), p2x));
  });
});

describe("Blowfish-CBC", () => {
  it("Eric Young / Schneier ECB vectors (vectors.txt)", () => {
    kat(BF, "0000000000000000", Z8, "0000000000000000", "4ef997456198dd78");
    kat(BF, "ffffffffffffffff", Z8, "ffffffffffffffff", "51866fd5b85ecb8a");
    kat(BF, "3000000000000000", Z8, "1000000000000001", "7d856f9a613063f2");
  });
  it("Eric Young / Schneier set_key vectors: variable key lengths 40..192 bits", () => {
    const long = "f0e1d2c3b4a5968778695a4b3c2d1e0f0011223344556677";
    const expected: [number, string][] = [[5, "b39e44481bdb1e6e"], [8, "e87a244e2cc85e82"], [12, "9409da87a90f6bf2"], [16, "93142887ee3be15c"], [24, "05044b62fa52d080"]];
    for (const [len, ct] of expected) kat(BF, long.slice(0, len * 2), Z8, "fedcba9876543210", ct);
  });
  it("Eric Young's CBC vector: '7654321 Now is the time for ' (zero-padded)", () => {
    kat(BF, "0123456789abcdeff0e1d2c3b4a59687", "fedcba9876543210",
      "37363534333231204e6f77206973207468652074696d6520666f722000000000",
      "6b77b4d63006dee605b156e27403979358deb9e7154616d959f1652bd5ff92cc");
  });
  it("takes 448-bit keys and refuses 32-bit and non-byte sizes", () => {
    const k56 = Buffer.alloc(56, 7);
    assert.equal(cbcDecrypt(BF, k56, hex(Z8), cbcEncrypt(BF, k56, hex(Z8), hex("0011223344556677"))).toString("hex"), "0011223344556677");
    assert.throws(() => cbcEncrypt(BF, Buffer.alloc(4), hex(Z8), hex(Z8)), { code: CryptoErrorCode.KeyLength });
    assert.throws(() => cbcEncrypt(BF, Buffer.alloc(57), hex(Z8), hex(Z8)), { code: CryptoErrorCode.KeyLength });
  });
});

describe("AES-CBC", () => {
  it("FIPS 197 appendix C.1-C.3 (single block)", () => {
    const pt = "00112233445566778899aabbccddeeff";
    const zero = "00000000000000000000000000000000";
    kat(AES, "000102030405060708090a0b0c0d0e0f", zero, pt, "69c4e0d86a7b0430d8cdb78070b4c55a");
    kat(AES, "000102030405060708090a0b0c0d0e0f1011121314151617", zero, pt, "dda97ca4864cdfe06eaf70a0ec0d7191");
    kat(AES, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", zero, pt, "8ea2b7ca516745bfeafc49904b496089");
  });
  const iv = "000102030405060708090a0b0c0d0e0f";
  const pt = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
  it("NIST SP 800-38A F.2.1/F.2.2 CBC-AES128", () => {
    kat(AES, "2b7e151628aed2a6abf7158809cf4f3c", iv, pt,
      "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7");
  });
  it("NIST SP 800-38A F.2.3/F.2.4 CBC-AES192", () => {
    kat(AES, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", iv, pt,
      "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a 571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd");
  });
  it("NIST SP 800-38A F.2.5/F.2.6 CBC-AES256", () => {
    kat(AES, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", iv, pt,
      "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b");
  });
});

describe("key checks", () => {
  it("rejects every FIPS 74 weak and semi-weak DES key, also with flipped parity bits", () => {
    for (const k of ["0101010101010101", "fefefefefefefefe", "e0e0e0e0f1f1f1f1", "1f1f1f1f0e0e0e0e", "01fe01fe01fe01fe",
      "fe01fe01fe01fe01", "1fe01fe00ef10ef1", "e01fe01ff10ef10e", "01e001e001f101f1", "e001e001f101f101",
      "1ffe1ffe0efe0efe", "fe1ffe1ffe0efe0e", "011f011f010e010e", "1f011f010e010e01", "e0fee0fef1fef1fe", "fee0fee0fef1fef1"]) {
      assert.throws(() => checkCipherKey(DES, hex(k)), { code: CryptoErrorCode.WeakKey }, k);
      const noParity = Buffer.from(hex(k).map((b) => b & 0xfe));
      assert.throws(() => checkCipherKey(DES, noParity), { code: CryptoErrorCode.WeakKey }, k);
    }
    assert.doesNotThrow(() => checkCipherKey(DES, hex("0123456789abcdef")));
  });
  it("rejects 3DES keys with any two equal parts (K1 = K2, K2 = K3, K1 = K3) with their own code, and weak parts", () => {
    const a = "0123456789abcdef", b = "23456789abcdef01", c = "456789abcdef0123";
    assert.throws(() => checkCipherKey(TDES, hex(a + a + c)), { code: CryptoErrorCode.DegenerateKey });
    assert.throws(() => checkCipherKey(TDES, hex(a + b + b)), { code: CryptoErrorCode.DegenerateKey });
    // Two-key TDEA (keying option 2): disallowed for encryption by NIST SP 800-131A rev. 2.
    assert.throws(() => checkCipherKey(TDES, hex(a + b + a)), { code: CryptoErrorCode.DegenerateKey });
    const aOtherParity = Buffer.from(hex(a).map((x) => x ^ 1)).toString("hex");
    assert.throws(() => checkCipherKey(TDES, hex(a + b + aOtherParity)), { code: CryptoErrorCode.DegenerateKey });
    assert.throws(() => checkCipherKey(TDES, hex(a + "0101010101010101" + c)), { code: CryptoErrorCode.WeakKey });
    assert.doesNotThrow(() => checkCipherKey(TDES, hex(a + b + c)));
    assert.throws(() => cbcEncrypt(TDES, hex(a + a + c), hex(Z8), hex(Z8)), (e: unknown) => e instanceof CryptoError && e.code === CryptoErrorCode.DegenerateKey);
  });
  it("refuses AES keys other than 128/192/256 bits, wrong IVs and partial blocks", () => {
    assert.throws(() => checkCipherKey(AES, Buffer.alloc(20)), { code: CryptoErrorCode.KeyLength });
    assert.throws(() => cbcEncrypt(AES, Buffer.alloc(16, 1), Buffer.alloc(8), Buffer.alloc(16)), { code: CryptoErrorCode.BadInput });
    assert.throws(() => cbcEncrypt(AES, Buffer.alloc(16, 1), Buffer.alloc(16), Buffer.alloc(15)), { code: CryptoErrorCode.BadInput });
  });
  it("error messages carry no key bytes", () => {
    try {
      checkCipherKey(TDES, hex("0123456789abcdef0123456789abcdef456789abcdef0123"));
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof Error && !/0123456789abcdef/i.test(e.message));
    }
  });
});

describe("padding", () => {
  it("pads with zeros to the block size, always at least one byte", () => {
    assert.equal(paddedLength(0, 8), 8);
    assert.equal(paddedLength(7, 8), 8);
    assert.equal(paddedLength(8, 8), 16);
    assert.equal(paddedLength(33, 16), 48);
    const p = padForEncryption(Buffer.from("abcdefghijklmnop"), 16);
    assert.equal(p.length, 32);
    assert.equal(p.subarray(0, 16).toString(), "abcdefghijklmnop");
    assert.ok(p.subarray(16).every((b) => b === 0));
  });
});

describe("legacy provider", () => {
  it("without --openssl-legacy-provider, DES and Blowfish (and a holder for them) fail with IKE_ERR_CRYPTO_LEGACY_PROVIDER; AES and 3DES work", () => {
    const cipherModule = new URL("../../src/crypto/cipher.js", import.meta.url).href;
    const algModule = new URL("../../src/crypto/algorithms.js", import.meta.url).href;
    const keymatModule = new URL("../../src/crypto/keymat.js", import.meta.url).href;
    const script = `
      const { cbcEncrypt } = await import(${JSON.stringify(cipherModule)});
      const { cipherById } = await import(${JSON.stringify(algModule)});
      const out = {};
      for (const [id, len] of [[1, 8], [3, 16], [5, 24], [7, 16]]) {
        const key = Buffer.from(Array.from({ length: len }, (_, i) => 0x11 * (i % 15 + 1) ^ i));
        try { cbcEncrypt(cipherById(id), key, Buffer.alloc(cipherById(id).blockSize), Buffer.alloc(16)); out[id] = "ok"; }
        catch (e) { out[id] = e.code; }
      }
      const { Phase1Keymat, phase1Suite } = await import(${JSON.stringify(keymatModule)});
      const { cipherAvailable } = await import(${JSON.stringify(cipherModule)});
      try { new Phase1Keymat(phase1Suite(1, undefined, 1)); out.holder = "ok"; } catch (e) { out.holder = e.code; }
      out.available = [1, 3, 5, 7].map((id) => cipherAvailable(cipherById(id)));
      console.log(JSON.stringify(out));`;
    const env = { ...process.env, NODE_OPTIONS: "" };
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env, cwd: fileURLToPath(new URL(".", import.meta.url)) });
    assert.deepEqual(JSON.parse(out), {
      1: CryptoErrorCode.LegacyProvider, 3: CryptoErrorCode.LegacyProvider, 5: "ok", 7: "ok",
      holder: CryptoErrorCode.LegacyProvider, available: [false, false, true, true],
    });
  });
});
