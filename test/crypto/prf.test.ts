/**
 * Hashes and HMAC prfs against published vectors: RFC 2202 (HMAC-MD5, HMAC-SHA1), RFC 4231
 * (HMAC-SHA-256/384/512), RFC 1321 A.5 (MD5), FIPS 180-2 appendices A-D ("abc" for SHA-1/2).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IkeHash } from "../../src/codec/index.js";
import { hashById, type HashInfo } from "../../src/crypto/algorithms.js";
import { hash, prf } from "../../src/crypto/prf.js";

const h = (id: number): HashInfo => {
  const x = hashById(id);
  assert.ok(x);
  return x;
};
const MD5 = h(IkeHash.MD5);
const SHA1 = h(IkeHash.SHA);
const SHA256 = h(IkeHash.SHA2_256);
const SHA384 = h(IkeHash.SHA2_384);
const SHA512 = h(IkeHash.SHA2_512);
const b = (byte: number, n: number): Buffer => Buffer.alloc(n, byte);
const s = (t: string): Buffer => Buffer.from(t, "ascii");

describe("HMAC-MD5 (RFC 2202 section 2)", () => {
  it("test cases 1, 2, 3 and 6", () => {
    assert.equal(prf(MD5, b(0x0b, 16), s("Hi There")).toString("hex"), "9294727a3638bb1c13f48ef8158bfc9d");
    assert.equal(prf(MD5, s("Jefe"), s("what do ya want for nothing?")).toString("hex"), "750c783e6ab0b503eaa86e310a5db738");
    assert.equal(prf(MD5, b(0xaa, 16), b(0xdd, 50)).toString("hex"), "56be34521d144c88dbb8c733f0e8b3f6");
    assert.equal(prf(MD5, b(0xaa, 80), s("Test Using Larger Than Block-Size Key - Hash Key First")).toString("hex"), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
  });
});

describe("HMAC-SHA1 (RFC 2202 section 3)", () => {
  it("test cases 1, 2, 3 and 6", () => {
    assert.equal(prf(SHA1, b(0x0b, 20), s("Hi There")).toString("hex"), "b617318655057264e28bc0b6fb378c8ef146be00");
    assert.equal(prf(SHA1, s("Jefe"), s("what do ya want for nothing?")).toString("hex"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    assert.equal(prf(SHA1, b(0xaa, 20), b(0xdd, 50)).toString("hex"), "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
    assert.equal(prf(SHA1, b(0xaa, 80), s("Test Using Larger Than Block-Size Key - Hash Key First")).toString("hex"), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  });
});

describe("HMAC-SHA-256/384/512 (RFC 4231 section 4)", () => {
  const cases: [string, Buffer, Buffer, string, string, string][] = [
    ["4.2 test case 1", b(0x0b, 20), s("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"],
    ["4.3 test case 2", s("Jefe"), s("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"],
    ["4.7 test case 6", b(0xaa, 131), s("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"],
  ];
  for (const [name, key, data, e256, e384, e512] of cases) {
    it(name, () => {
      assert.equal(prf(SHA256, key, data).toString("hex"), e256);
      assert.equal(prf(SHA384, key, data).toString("hex"), e384);
      assert.equal(prf(SHA512, key, data).toString("hex"), e512);
    });
  }
});

describe("plain hashes", () => {
  it("'abc': RFC 1321 A.5 (MD5), FIPS 180-2 appendices A-D (SHA-1, SHA-256, SHA-384, SHA-512)", () => {
    assert.equal(hash(MD5, s("abc")).toString("hex"), "900150983cd24fb0d6963f7d28e17f72");
    assert.equal(hash(SHA1, s("abc")).toString("hex"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(hash(SHA256, s("abc")).toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hash(SHA384, s("abc")).toString("hex"), "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    assert.equal(hash(SHA512, s("abc")).toString("hex"), "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  });
  it("feeds parts in order: hash(a, b) = hash(a | b), prf(k, a, b) = prf(k, a | b)", () => {
    assert.deepEqual(hash(SHA1, s("a"), s("bc")), hash(SHA1, s("abc")));
    assert.deepEqual(prf(SHA256, s("Jefe"), s("what do ya "), s("want for nothing?")), prf(SHA256, s("Jefe"), s("what do ya want for nothing?")));
  });
});
