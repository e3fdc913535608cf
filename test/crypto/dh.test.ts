import { test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, diffieHellman, generateKeyPairSync, getDiffieHellman, type KeyObject, type KeyPairKeyObjectResult } from "node:crypto";
import {
  DhGroups,
  dhAgree,
  dhGenerate,
  dhPublicFromPrivate,
  dhRandomPrivate,
  isDhGroupId,
  validateDhPublic,
  type DhGroupId,
} from "../../src/crypto/dh.js";

const ALL: DhGroupId[] = [1, 2, 5, 14, 15, 16];
const NODE_NAME: Record<DhGroupId, string> = { 1: "modp1", 2: "modp2", 5: "modp5", 14: "modp14", 15: "modp15", 16: "modp16" };

const big = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt("0x" + Buffer.from(b).toString("hex")));
const bytes = (v: bigint, len: number): Buffer => Buffer.from(v.toString(16).padStart(len * 2, "0"), "hex");

/** Reference modular exponentiation, square-and-multiply over BigInt. */
function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

test("group primes are the RFC 2409/3526 values Node knows, with the chosen exponent sizes", () => {
  for (const id of ALL) {
    const g = DhGroups[id];
    assert.deepEqual(g.prime, getDiffieHellman(NODE_NAME[id]).getPrime(), `group ${id}`);
    assert.equal(g.primeBits, { 1: 768, 2: 1024, 5: 1536, 14: 2048, 15: 3072, 16: 4096 }[id]);
    assert.ok(g.privateBits >= 2 * g.strengthBits && g.privateBits >= 160);
    assert.equal(dhRandomPrivate(id).length * 8, g.privateBits);
  }
  assert.equal(DhGroups[14].privateBits, 224);
  assert.equal(isDhGroupId(3), false);
  assert.equal(isDhGroupId(14), true);
});

test("public values and shared secrets match a BigInt reference in every group", () => {
  for (const id of ALL) {
    const g = DhGroups[id];
    const p = big(g.prime);
    const a = dhGenerate(id);
    const b = dhGenerate(id);
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.publicValue.length, g.primeBytes);
    assert.equal(a.value.privateValue.length, g.privateBits / 8);
    assert.equal(big(a.value.publicValue), modPow(2n, big(a.value.privateValue), p), `g^x group ${id}`);
    const sAB = dhAgree(id, a.value.privateValue, b.value.publicValue);
    const sBA = dhAgree(id, b.value.privateValue, a.value.publicValue);
    assert.ok(sAB.ok && sBA.ok);
    assert.deepEqual(sAB.value, sBA.value);
    assert.equal(sAB.value.length, g.primeBytes);
    assert.equal(big(sAB.value), modPow(big(b.value.publicValue), big(a.value.privateValue), p), `g^xy group ${id}`);
  }
});

test("results shorter than the prime are left-padded with zeros", () => {
  const id = 2;
  const p = big(DhGroups[id].prime);
  // About one value in 256 starts with a zero byte; search deterministically from a fixed start.
  let found = false;
  for (let i = 1; i < 5000 && !found; i++) {
    const x = bytes(0xc0ffeen * 1000003n + BigInt(i), 20);
    const pub = dhPublicFromPrivate(id, x);
    assert.ok(pub.ok);
    if (pub.value[0] === 0) {
      found = true;
      assert.equal(pub.value.length, 128);
      assert.equal(big(pub.value), modPow(2n, big(x), p));
    }
  }
  assert.ok(found, "a public value with a leading zero byte");
  // g^xy with a leading zero: pick the peer value y = 2^k for small k so that g^xy = 2^(kx) is checkable.
  const peer = bytes(4n, 128);
  let secretFound = false;
  for (let i = 1; i < 5000 && !secretFound; i++) {
    const x = bytes(0xbeefn * 7919n + BigInt(i), 20);
    const s = dhAgree(id, x, peer);
    assert.ok(s.ok);
    if (s.value[0] === 0) {
      secretFound = true;
      assert.equal(s.value.length, 128);
      assert.equal(big(s.value), modPow(4n, big(x), p));
    }
  }
  assert.ok(secretFound, "a shared secret with a leading zero byte");
});

/** @types/node 20 lacks the "dh" overload of generateKeyPairSync; Node 20 itself has it. */
const dhKeyPair = generateKeyPairSync as unknown as (type: "dh", options: { group: string }) => KeyPairKeyObjectResult;

/** One DER TLV at `off`: its tag, where its content starts and where it ends. */
function tlvAt(der: Buffer, off: number): { tag: number; start: number; end: number } {
  const first = der[off + 1]!;
  const lenBytes = first & 0x80 ? first & 0x7f : 0;
  const len = lenBytes ? der.readUIntBE(off + 2, lenBytes) : first;
  const start = off + 2 + lenBytes;
  return { tag: der[off]!, start, end: start + len };
}

/** SPKI = SEQUENCE { AlgorithmIdentifier, BIT STRING { INTEGER y } }: the parts a DH key needs. */
function splitDhSpki(der: Buffer): { alg: Buffer; y: bigint } {
  const outer = tlvAt(der, 0);
  const alg = tlvAt(der, outer.start);
  const bits = tlvAt(der, alg.end);
  const int = tlvAt(der, bits.start + 1);
  return { alg: der.subarray(outer.start, alg.end), y: big(der.subarray(int.start, int.end)) };
}

/** SubjectPublicKeyInfo for a DH public value y, reusing a template key's algorithm parameters. */
function dhSpki(template: KeyObject, y: Buffer): KeyObject {
  const { alg } = splitDhSpki(template.export({ type: "spki", format: "der" }));
  const len = (n: number): Buffer =>
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
  let yBytes = y.subarray(y.findIndex((b) => b !== 0));
  if (yBytes[0]! & 0x80) yBytes = Buffer.concat([Buffer.from([0]), yBytes]);
  const bitString = tlv(0x03, Buffer.concat([Buffer.from([0]), tlv(0x02, yBytes)]));
  return createPublicKey({ key: tlv(0x30, Buffer.concat([alg, bitString])), format: "der", type: "spki" });
}

test("agreement matches OpenSSL's KeyObject DH path", () => {
  for (const id of [2, 14] as const) {
    const peer = dhKeyPair("dh", { group: NODE_NAME[id] });
    const ours = dhGenerate(id);
    assert.ok(ours.ok);
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: dhSpki(peer.publicKey, ours.value.publicValue) });
    // The peer's y as a KE payload carries it: fixed length, left-padded.
    const peerY = bytes(splitDhSpki(peer.publicKey.export({ type: "spki", format: "der" })).y, DhGroups[id].primeBytes);
    const ourSecret = dhAgree(id, ours.value.privateValue, peerY);
    assert.ok(ourSecret.ok);
    assert.equal(big(ourSecret.value), big(expected));
  }
});

test("peer public values outside 1 < y < p-1 or of the wrong length are typed errors", () => {
  const g = DhGroups[2];
  const p = big(g.prime);
  const x = dhRandomPrivate(2);
  const cases: Array<[string, Buffer, string]> = [
    ["zero", bytes(0n, 128), "IKE_ERR_DH_PUBLIC_RANGE"],
    ["one", bytes(1n, 128), "IKE_ERR_DH_PUBLIC_RANGE"],
    ["p-1", bytes(p - 1n, 128), "IKE_ERR_DH_PUBLIC_RANGE"],
    ["p", bytes(p, 128), "IKE_ERR_DH_PUBLIC_RANGE"],
    ["all ones", Buffer.alloc(128, 0xff), "IKE_ERR_DH_PUBLIC_RANGE"],
    ["one byte short", bytes(5n, 127), "IKE_ERR_DH_PUBLIC_LENGTH"],
    ["one byte long", bytes(5n, 129), "IKE_ERR_DH_PUBLIC_LENGTH"],
    ["empty", Buffer.alloc(0), "IKE_ERR_DH_PUBLIC_LENGTH"],
  ];
  for (const [name, y, code] of cases) {
    const r = dhAgree(2, x, y);
    assert.equal(r.ok, false, name);
    if (!r.ok) {
      assert.equal(r.error.code, code, name);
      assert.equal(r.error.group, 2);
      assert.doesNotMatch(r.error.message, new RegExp(x.toString("hex")));
    }
    assert.equal(validateDhPublic(2, y)?.code, code, name);
  }
  const lengthErr = validateDhPublic(2, bytes(5n, 127));
  assert.equal(lengthErr?.expected, 128);
  assert.equal(lengthErr?.actual, 127);
  assert.equal(validateDhPublic(2, bytes(2n, 128)), undefined, "2 is in range");
  assert.equal(validateDhPublic(2, bytes(p - 2n, 128)), undefined, "p-2 is in range");
  // A value that only fits a different group.
  assert.equal(validateDhPublic(14, bytes(5n, 128))?.code, "IKE_ERR_DH_PUBLIC_LENGTH");
});

test("unknown groups and unusable private values are typed errors", () => {
  const gen = dhGenerate(3);
  assert.equal(!gen.ok && gen.error.code, "IKE_ERR_DH_GROUP");
  const y = dhGenerate(2);
  assert.ok(y.ok);
  for (const x of [Buffer.alloc(0), Buffer.alloc(20), Buffer.alloc(129, 1), Buffer.from(DhGroups[2].prime)]) {
    const r = dhAgree(2, x, y.value.publicValue);
    assert.equal(!r.ok && r.error.code, "IKE_ERR_DH_PRIVATE");
    const pub = dhPublicFromPrivate(2, x);
    assert.equal(!pub.ok && pub.error.code, "IKE_ERR_DH_PRIVATE");
  }
  const agree = dhAgree(99, Buffer.alloc(20, 1), Buffer.alloc(128, 2));
  assert.equal(!agree.ok && agree.error.code, "IKE_ERR_DH_GROUP");
});
