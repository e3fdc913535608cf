/**
 * Phase1Keymat behaviour: two holders derived from the same exchange talk to each other, IVs
 * chain per message ID and advance only on commit(), peer garbage comes back as a value, KEYMAT
 * expands, destroy() wipes everything. Derivation values themselves are checked against
 * strongSwan in strongswan-kdf.test.ts.
 */
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { IkeEncryption, IkeHash, ProtocolId } from "../../src/codec/index.js";
import { hashById } from "../../src/crypto/algorithms.js";
import { CryptoErrorCode } from "../../src/crypto/crypto-error.js";
import { IvChain } from "../../src/crypto/iv-chain.js";
import * as kdf from "../../src/crypto/kdf.js";
import { Phase1Keymat, phase1Suite, type Phase1Exchange, type Phase1Suite } from "../../src/crypto/keymat.js";
import { SecureBuffer } from "../../src/crypto/secure.js";

const sodium = createRequire(import.meta.url)("sodium-native") as typeof import("sodium-native") & Record<string, unknown>;

function exchange(): Phase1Exchange {
  return {
    icookie: randomBytes(8),
    rcookie: randomBytes(8),
    nonceI: randomBytes(32),
    nonceR: randomBytes(32),
    gxi: randomBytes(128),
    gxr: randomBytes(128),
  };
}

function pair(suite: Phase1Suite, x = exchange(), gxy = randomBytes(128)): [Phase1Keymat, Phase1Keymat] {
  const i = new Phase1Keymat(suite);
  const r = new Phase1Keymat(suite);
  i.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("psk"));
  r.deriveFromPsk(x, Buffer.from(gxy), SecureBuffer.copyOf(Buffer.from("psk")));
  return [i, r];
}

const aesSha1 = phase1Suite(IkeEncryption.AES_CBC, 256, IkeHash.SHA);

describe("Phase1Keymat", () => {
  it("initiator and responder holders stay in step over Main Mode, Quick Mode and Informational", () => {
    for (const suite of [aesSha1, phase1Suite(5, undefined, 1), phase1Suite(3, 448, 6), phase1Suite(1, undefined, 2)]) {
      const [i, r] = pair(suite);
      const flow: [Phase1Keymat, Phase1Keymat, number, string][] = [
        [i, r, 0, "MM5 [ID,HASH,N]"], [r, i, 0, "MM6 [ID,HASH]"],
        [i, r, 0x1234, "QM1"], [r, i, 0x1234, "QM2"], [i, r, 0x1234, "QM3"],
        [r, i, 0xfffffffe, "INFO [HASH,D]"],
      ];
      for (const [from, to, mid, text] of flow) {
        const ct = from.encrypt(mid, Buffer.from(text));
        assert.equal(ct.length % suite.cipher.blockSize, 0);
        const d = to.decrypt(mid, ct);
        assert.ok(d.ok);
        assert.equal(d.plaintext.subarray(0, text.length).toString(), text, `${suite.cipher.name}: ${text}`);
        assert.ok(d.plaintext.subarray(text.length).every((b) => b === 0), "zero padding");
        d.commit();
        assert.deepEqual(to.currentIv(mid), from.currentIv(mid));
      }
      i.destroy();
      r.destroy();
    }
  });

  it("the IV advances only on commit(): a forged message is discarded, the genuine one still decrypts", () => {
    const [i, r] = pair(aesSha1);
    const before = r.currentIv(0);
    const genuine = i.encrypt(0, Buffer.from("MM5 payloads"));
    const forged = Buffer.from(genuine);
    forged[forged.length - 1]! ^= 0x01;
    const bad = r.decrypt(0, forged);
    assert.ok(bad.ok);
    bad.discard();
    bad.commit(); // settled already: no effect
    assert.deepEqual(r.currentIv(0), before);
    const good = r.decrypt(0, genuine);
    assert.ok(good.ok);
    assert.equal(good.plaintext.subarray(0, 12).toString(), "MM5 payloads");
    good.commit();
    assert.deepEqual(r.currentIv(0), genuine.subarray(genuine.length - 16));
  });

  it("Phase 2 IVs are hash(last Phase 1 block | M-ID), independent per exchange", () => {
    const [i, r] = pair(aesSha1);
    const mm5 = i.encrypt(0, Buffer.from("x"));
    const h = hashById(2)!;
    const expected = createHash("sha1").update(mm5.subarray(-16)).update(Buffer.from([0, 0, 0, 7])).digest().subarray(0, 16);
    assert.deepEqual(i.currentIv(7), expected);
    assert.deepEqual(kdf.phase2Iv(h, mm5.subarray(-16), 7, 16), expected);
    i.encrypt(7, Buffer.from("qm1"));
    assert.deepEqual(i.currentIv(8), createHash("sha1").update(mm5.subarray(-16)).update(Buffer.from([0, 0, 0, 8])).digest().subarray(0, 16));
    i.endExchange(7);
    assert.deepEqual(i.currentIv(7), expected, "a forgotten exchange starts over");
    r.destroy();
  });

  it("keeps IV state for a bounded number of exchanges, never dropping Phase 1's", () => {
    const h = hashById(IkeHash.SHA)!;
    const chain = new IvChain(h, 16, Buffer.alloc(16, 9), 64);
    for (let mid = 1; mid <= 200; mid++) chain.advance(mid, randomBytes(32));
    assert.equal(chain.size, 64);
    assert.deepEqual(chain.current(0), Buffer.alloc(16, 9));
    assert.deepEqual(chain.current(1), kdf.phase2Iv(h, Buffer.alloc(16, 9), 1, 16), "an evicted exchange starts over");
    chain.end(0);
    assert.deepEqual(chain.current(0), Buffer.alloc(16, 9));
  });

  it("returns a value, not an exception, for ciphertext that is not whole blocks", () => {
    const [, r] = pair(aesSha1);
    for (const len of [0, 1, 15, 17]) {
      const d = r.decrypt(0, Buffer.alloc(len));
      assert.equal(d.ok, false);
      if (!d.ok) assert.equal(d.code, "IKE_ERR_DECRYPT_LENGTH");
    }
  });

  it("hashes: HASH_I/HASH_R differ and verify in constant-time compare; QM and Informational hashes follow RFC 2409", () => {
    const x = exchange();
    const gxy = randomBytes(128);
    const [i, r] = pair(aesSha1, x, gxy);
    const saiB = randomBytes(40);
    const idB = Buffer.from("01000000 7f000001".replace(/ /g, ""), "hex");
    const hi = i.hashI(saiB, idB);
    assert.ok(r.verifyHashI(hi, saiB, idB));
    assert.ok(!r.verifyHashR(hi, saiB, idB));
    assert.ok(!r.verifyHashI(hi.subarray(0, 12), saiB, idB), "a truncated hash does not verify");
    // Independent recomputation with node:crypto from the RFC 2409 formulas.
    const skeyid = createHmac("sha1", "psk").update(x.nonceI).update(x.nonceR).digest();
    const skeyidD = createHmac("sha1", skeyid).update(gxy).update(x.icookie).update(x.rcookie).update(Buffer.of(0)).digest();
    const skeyidA = createHmac("sha1", skeyid).update(skeyidD).update(gxy).update(x.icookie).update(x.rcookie).update(Buffer.of(1)).digest();
    const hr = createHmac("sha1", skeyid).update(Buffer.concat([x.gxr, x.gxi, x.rcookie, x.icookie, saiB, idB])).digest();
    assert.deepEqual(r.hashR(saiB, idB), hr);
    const mid = Buffer.from("a1b2c3d4", "hex");
    const rest = randomBytes(60);
    const ni = randomBytes(16);
    const nr = randomBytes(16);
    assert.deepEqual(i.quickModeHash1(0xa1b2c3d4, rest), createHmac("sha1", skeyidA).update(mid).update(rest).digest());
    assert.deepEqual(i.quickModeHash2(0xa1b2c3d4, ni, rest), createHmac("sha1", skeyidA).update(mid).update(ni).update(rest).digest());
    assert.deepEqual(i.quickModeHash3(0xa1b2c3d4, ni, nr), createHmac("sha1", skeyidA).update(Buffer.of(0)).update(mid).update(ni).update(nr).digest());
    assert.deepEqual(i.informationalHash(0xa1b2c3d4, rest), i.quickModeHash1(0xa1b2c3d4, rest));
  });

  it("KEYMAT: expanded past one prf output, with and without PFS, into a SecureBuffer", () => {
    const x = exchange();
    const gxy = randomBytes(128);
    const [i] = pair(aesSha1, x, gxy);
    const skeyid = createHmac("sha1", "psk").update(x.nonceI).update(x.nonceR).digest();
    const skeyidD = createHmac("sha1", skeyid).update(gxy).update(x.icookie).update(x.rcookie).update(Buffer.of(0)).digest();
    const ni = randomBytes(32);
    const nr = randomBytes(32);
    const gqm = randomBytes(256);
    const seed = (pfs: boolean) => Buffer.concat([pfs ? gqm : Buffer.alloc(0), Buffer.of(3), Buffer.from("c0ffee01", "hex"), ni, nr]);
    for (const pfs of [false, true]) {
      const k1 = createHmac("sha1", skeyidD).update(seed(pfs)).digest();
      const k2 = createHmac("sha1", skeyidD).update(k1).update(seed(pfs)).digest();
      const k3 = createHmac("sha1", skeyidD).update(k2).update(seed(pfs)).digest();
      const g = pfs ? SecureBuffer.copyOf(gqm) : undefined;
      const km = i.keymat(ProtocolId.IPSEC_ESP, 0xc0ffee01, ni, nr, g, 52); // AES-256 + HMAC-SHA1: 32 + 20
      assert.equal(km.length, 52);
      assert.equal(km.use((b) => b.toString("hex")), Buffer.concat([k1, k2, k3]).subarray(0, 52).toString("hex"), `pfs=${pfs}`);
      const bySpiBytes = i.keymat(ProtocolId.IPSEC_ESP, Buffer.from("c0ffee01", "hex"), ni, nr, g, 52);
      assert.ok(bySpiBytes.equals(km));
      km.destroy();
      bySpiBytes.destroy();
      g?.destroy();
    }
  });

  it("deriveFromPkEnc and deriveFromSig use the RFC 2409 SKEYID formulas", () => {
    const x = exchange();
    const gxy = randomBytes(128);
    const h = hashById(IkeHash.SHA2_256)!;
    const pk = createHmac("sha256", createHash("sha256").update(x.nonceI).update(x.nonceR).digest()).update(x.icookie).update(x.rcookie).digest();
    assert.deepEqual(kdf.skeyidPkEnc(h, x.nonceI, x.nonceR, x.icookie, x.rcookie), pk);
    const sig = createHmac("sha256", Buffer.concat([x.nonceI, x.nonceR])).update(gxy).digest();
    assert.deepEqual(kdf.skeyidSig(h, x.nonceI, x.nonceR, gxy), sig);
    const suite = phase1Suite(7, 128, 4);
    const a = new Phase1Keymat(suite);
    const b = new Phase1Keymat(suite);
    a.deriveFromPkEnc(x, Buffer.from(gxy));
    b.deriveFromPkEnc(x, Buffer.from(gxy));
    const c = new Phase1Keymat(suite);
    c.deriveFromSig(x, Buffer.from(gxy));
    const saiB = randomBytes(20);
    assert.ok(b.verifyHashI(a.hashI(saiB, saiB), saiB, saiB));
    assert.ok(!c.verifyHashI(a.hashI(saiB, saiB), saiB, saiB));
    const ct = a.encrypt(0, Buffer.from("pkenc"));
    const d = b.decrypt(0, ct);
    assert.ok(d.ok && d.plaintext.subarray(0, 5).toString() === "pkenc");
  });

  it("holds the DH private value until derivation and wipes what it takes over", () => {
    const km = new Phase1Keymat(aesSha1);
    const priv = Buffer.from(randomBytes(32));
    const copy = Buffer.from(priv);
    km.holdDhPrivate(priv);
    assert.ok(priv.every((b) => b === 0), "private value source wiped");
    assert.deepEqual(km.dhPrivateForTask(), copy);
    const gxy = randomBytes(64);
    km.deriveFromPsk(exchange(), gxy, Buffer.from("k"));
    assert.ok(gxy.every((b) => b === 0), "g^xy source wiped");
    assert.throws(() => km.dhPrivateForTask(), { code: CryptoErrorCode.NotDerived }, "private value released after use");
    assert.throws(() => km.deriveFromPsk(exchange(), randomBytes(64), Buffer.from("k")), { code: CryptoErrorCode.BadInput });
    km.destroy();
  });

  it("keeps no copy of g^xy once SKEYID and its children are derived, nor room for one", () => {
    const allocated: Buffer[] = [];
    const lengths: number[] = [];
    const freed: { length: number; zero: boolean }[] = [];
    const original = { malloc: sodium.sodium_malloc, free: sodium.sodium_free };
    sodium.sodium_malloc = (n: number) => {
      const b = original.malloc(n);
      allocated.push(b);
      lengths.push(b.length);
      return b;
    };
    sodium.sodium_free = (b: Buffer) => {
      freed.push({ length: b.length, zero: b.every((x) => x === 0) });
      original.free(b);
    };
    const gxy = Buffer.alloc(128, 0xa5);
    const km = new Phase1Keymat(aesSha1, { protect: false });
    try {
      km.deriveFromPsk(exchange(), Buffer.from(gxy), Buffer.from("k"));
    } finally {
      sodium.sodium_malloc = original.malloc;
      sodium.sodium_free = original.free;
    }
    // The SA's one allocation holds SKEYID, SKEYID_d/a/e (4 x 20) and Ka (32), nothing more (it is
    // held for the SA's life); g^xy (128) had one of its own for the derivation, wiped and freed.
    assert.deepEqual(lengths, [4 * 20 + 32, 128]);
    assert.deepEqual(freed, [{ length: 128, zero: true }], "g^xy wiped and released after the derivation");
    assert.ok(allocated[0]!.some((b) => b !== 0), "the derived keys are still there");
    km.destroy();
  });

  it("refuses work before derivation and after destroy()", () => {
    const km = new Phase1Keymat(aesSha1);
    assert.equal(km.derived, false);
    assert.throws(() => km.encrypt(0, Buffer.from("x")), { code: CryptoErrorCode.NotDerived });
    assert.throws(() => km.hashI(Buffer.alloc(1), Buffer.alloc(1)), { code: CryptoErrorCode.NotDerived });
    const [i] = pair(aesSha1);
    i.destroy();
    i.destroy();
    assert.throws(() => i.encrypt(0, Buffer.from("x")), { code: CryptoErrorCode.Destroyed });
    assert.throws(() => i.keymat(3, 1, Buffer.alloc(8), Buffer.alloc(8), undefined, 16), { code: CryptoErrorCode.Destroyed });
  });

  it("phase1Over() drops the HASH_I/HASH_R inputs; keys, IVs, Quick Mode hashes and KEYMAT still work", () => {
    const [i, r] = pair(aesSha1);
    const rest = Buffer.from("QM payloads");
    const hashBefore = i.quickModeHash1(0x77, rest);
    i.phase1Over();
    assert.throws(() => i.hashI(Buffer.alloc(1), Buffer.alloc(1)), { code: CryptoErrorCode.NotDerived, message: /exchange over/ });
    assert.throws(() => i.hashR(Buffer.alloc(1), Buffer.alloc(1)), { code: CryptoErrorCode.NotDerived, message: /exchange over/ });
    assert.ok(i.quickModeHash1(0x77, rest).equals(hashBefore));
    assert.ok(i.quickModeHash1(0x77, rest).equals(r.quickModeHash1(0x77, rest)));
    const d = r.decrypt(0x77, i.encrypt(0x77, Buffer.from("QM1")));
    assert.ok(d.ok && d.plaintext.subarray(0, 3).toString() === "QM1");
    const km = i.keymat(3, 0xc0000001, Buffer.alloc(16, 1), Buffer.alloc(16, 2), undefined, 36);
    const kr = r.keymat(3, 0xc0000001, Buffer.alloc(16, 1), Buffer.alloc(16, 2), undefined, 36);
    assert.ok(km.use((a) => kr.use((b) => a.equals(b))));
    km.destroy();
    kr.destroy();
    i.destroy();
    r.destroy();
  });

  it("destroy() zero-fills every secure allocation before releasing it", () => {
    const seen: Buffer[] = [];
    const original = sodium.sodium_free;
    const [i] = pair(aesSha1);
    i.holdDhPrivate(randomBytes(32));
    const km = i.keymat(ProtocolId.IPSEC_ESP, 1, Buffer.alloc(8), Buffer.alloc(8), undefined, 36);
    sodium.sodium_free = (buf: Buffer) => {
      seen.push(Buffer.from(buf));
      original(buf);
    };
    try {
      km.destroy();
      i.destroy();
    } finally {
      sodium.sodium_free = original;
    }
    // KEYMAT (36), the SA's secrets (4 x 20 + 32) and the DH private value (32).
    assert.deepEqual(seen.map((b) => b.length).sort((a, b) => a - b), [32, 36, 112]);
    for (const b of seen) assert.ok(b.every((x) => x === 0), `${b.length} bytes zero when released`);
  });

  it("never prints keys", () => {
    const [i] = pair(aesSha1);
    for (const s of [String(i), JSON.stringify({ i }), inspect(i)]) assert.match(s, /^"?\[Phase1Keymat aes-256 sha1 derived\]"?$|"i":"\[Phase1Keymat aes-256 sha1 derived\]"/);
    i.destroy();
  });

  it("phase1Suite() rejects unknown algorithms and key lengths", () => {
    assert.throws(() => phase1Suite(2, undefined, 1), { code: CryptoErrorCode.UnknownAlgorithm });
    assert.throws(() => phase1Suite(7, 100, 2), { code: CryptoErrorCode.KeyLength });
    assert.equal(phase1Suite(3, undefined, 1).keyBits, 128, "Blowfish defaults to 128 bits");
    assert.equal(phase1Suite(7, undefined, 1).keyBits, 128, "AES defaults to 128 bits");
  });
});

describe("message ID and SPI bytes", () => {
  it("are the value's 4 big-endian bytes (mod 2^32), each call its own bytes", () => {
    const values = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 5, -1, -(2 ** 31), 123456789, 0xdeadbeef];
    const got = values.map((v) => kdf.messageIdBytes(v));
    values.forEach((v, i) => {
      const want = Buffer.alloc(4);
      want.writeUInt32BE(v >>> 0, 0);
      assert.deepEqual(got[i], want, `message ID ${v}`);
      assert.deepEqual(kdf.spiBytes(v), want, `SPI ${v}`);
    });
  });
});
