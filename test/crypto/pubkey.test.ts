import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { constants, createHash, generateKeyPairSync, privateDecrypt, publicDecrypt, publicEncrypt, randomBytes } from "node:crypto";
import { decrypt, encrypt, loadPrivateKey, loadPublicKey, sign, verify, type PrivateKeyRef, type PublicKeyRef } from "../../src/crypto/pubkey.js";

const dir = mkdtempSync(path.join(tmpdir(), "iked-pubkey-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
const files = {
  rsaKey: path.join(dir, "rsa.pem"),
  rsaPub: path.join(dir, "rsa.pub.pem"),
  dsaKey: path.join(dir, "dsa.pem"),
  dsaPub: path.join(dir, "dsa.pub.pem"),
};
writeFileSync(files.rsaKey, rsa.privateKey.export({ type: "pkcs8", format: "pem" }));
writeFileSync(files.rsaPub, rsa.publicKey.export({ type: "spki", format: "pem" }));
writeFileSync(files.dsaKey, dsa.privateKey.export({ type: "pkcs8", format: "pem" }));
writeFileSync(files.dsaPub, dsa.publicKey.export({ type: "spki", format: "pem" }));

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { code: string } }): T {
  if (!r.ok) assert.fail(`unexpected error ${r.error.code}`);
  return r.value;
}

const rsaPriv: PrivateKeyRef = ok(loadPrivateKey(rsa.privateKey.export({ type: "pkcs8", format: "der" })));
const rsaPubRef: PublicKeyRef = ok(loadPublicKey(rsa.publicKey.export({ type: "spki", format: "der" })));
const dsaPriv: PrivateKeyRef = ok(loadPrivateKey(dsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string));
const dsaPubRef: PublicKeyRef = ok(loadPublicKey(dsa.publicKey.export({ type: "spki", format: "pem" }) as string));

/** Run the OpenSSL CLI on files in the temp dir; returns stdout. */
function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });
}

function tmp(name: string, data: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, data);
  return f;
}

/** r|s to the DER DSA-Sig-Value OpenSSL's CLI reads and writes. */
function rsToDer(rs: Buffer): Buffer {
  const int = (v: Buffer): Buffer => {
    let b = v.subarray(Math.max(0, Math.min(v.findIndex((x) => x !== 0), v.length - 1)));
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(rs.subarray(0, rs.length / 2)), int(rs.subarray(rs.length / 2))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function derToRs(der: Buffer, q: number): Buffer {
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const s = der.subarray(6 + rLen, 6 + rLen + der[5 + rLen]!);
  const pad = (v: Buffer): Buffer => Buffer.concat([Buffer.alloc(q), v]).subarray(-q);
  return Buffer.concat([pad(r), pad(s)]);
}

test("keys load from PEM, PKCS#8 and PKCS#1 DER, SPKI and X.509; other inputs are typed errors", () => {
  assert.equal(rsaPriv.type, "rsa");
  assert.equal(rsaPriv.bits, 2048);
  assert.equal(dsaPriv.type, "dsa");
  assert.equal(dsaPriv.bits, 1024);
  assert.equal(ok(loadPrivateKey(rsa.privateKey.export({ type: "pkcs1", format: "der" }))).type, "rsa");
  assert.equal(ok(loadPublicKey(rsa.publicKey.export({ type: "pkcs1", format: "der" }))).type, "rsa");
  assert.equal(ok(loadPublicKey(rsa.privateKey)).kind, "public");
  const certDer = openssl(["req", "-x509", "-new", "-key", files.rsaKey, "-subj", "/CN=iked-test", "-days", "1", "-outform", "DER"]);
  const fromCert = ok(loadPublicKey(certDer));
  assert.equal(fromCert.bits, 2048);
  const hash = randomBytes(20);
  assert.equal(ok(verify(fromCert, hash, ok(sign(rsaPriv, hash)))), true);

  const garbage = loadPrivateKey(Buffer.from("not a key"));
  assert.equal(!garbage.ok && garbage.error.code, "IKE_ERR_PUBKEY_DECODE");
  assert.equal(!loadPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok, true);
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecRes = loadPrivateKey(ec.privateKey);
  assert.equal(!ecRes.ok && ecRes.error.code, "IKE_ERR_PUBKEY_TYPE");
  const pubAsPriv = loadPrivateKey(rsa.publicKey);
  assert.equal(!pubAsPriv.ok && pubAsPriv.error.code, "IKE_ERR_PUBKEY_DECODE");
});

test("RSA signatures are PKCS#1 type 1 over the raw hash, no DigestInfo (matches openssl pkeyutl)", () => {
  const hash = createHash("sha1").update("HASH_I input").digest();
  const sig = ok(sign(rsaPriv, hash));
  assert.equal(sig.length, 256);
  // The recovered block is the hash itself.
  assert.deepEqual(publicDecrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig), hash);
  const cli = openssl(["pkeyutl", "-sign", "-inkey", files.rsaKey, "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", tmp("h1", hash)]);
  assert.deepEqual(sig, cli, "type-1 padding is deterministic: identical to OpenSSL's");
  assert.equal(ok(verify(rsaPubRef, hash, sig)), true);

  const wrongHash = Buffer.from(hash);
  wrongHash.writeUInt8(wrongHash.readUInt8(0) ^ 1, 0);
  assert.equal(ok(verify(rsaPubRef, wrongHash, sig)), false);
  const badSig = Buffer.from(sig);
  badSig.writeUInt8(badSig.readUInt8(100) ^ 1, 100);
  assert.equal(ok(verify(rsaPubRef, hash, badSig)), false);
  assert.equal(ok(verify(rsaPubRef, hash, sig.subarray(1))), false, "short signature");
  // A signature whose first octet is 0x00, with that octet cut: OpenSSL alone would accept it.
  let zeroHead: { h: Buffer; s: Buffer } | undefined;
  for (let i = 0; i < 4096 && zeroHead === undefined; i++) {
    const h = createHash("sha1").update(`zero-head ${i}`).digest();
    const s = ok(sign(rsaPriv, h));
    if (s[0] === 0) zeroHead = { h, s };
  }
  assert.ok(zeroHead, "a signature starting with 0x00 within 4096 tries");
  assert.equal(ok(verify(rsaPubRef, zeroHead.h, zeroHead.s)), true);
  assert.equal(ok(verify(rsaPubRef, zeroHead.h, zeroHead.s.subarray(1))), false, "short signature missing its 0x00 head");
  assert.equal(ok(verify(rsaPubRef, hash, Buffer.alloc(256, 0xff))), false, "signature above the modulus");
  assert.equal(ok(verify(rsaPubRef, hash.subarray(0, 19), sig)), false, "hash of another length");
  // SHA-256 and SHA-512 sized HASH_I (other PRFs) also fit a 2048-bit key.
  const h64 = randomBytes(64);
  assert.equal(ok(verify(rsaPubRef, h64, ok(sign(rsaPriv, h64)))), true);
  const tooLong = sign(rsaPriv, randomBytes(246));
  assert.equal(!tooLong.ok && tooLong.error.code, "IKE_ERR_PUBKEY_INPUT");
});

test("DSS signatures are r|s over the raw 20-byte hash, checked by openssl pkeyutl both ways", () => {
  const hash = createHash("sha1").update("HASH_R input").digest();
  const sig = ok(sign(dsaPriv, hash));
  assert.equal(sig.length, 40);
  assert.equal(ok(verify(dsaPubRef, hash, sig)), true);
  // OpenSSL verifies our signature on the same raw digest (no hashing: pkeyutl without -digest).
  const hashFile = tmp("h2", hash);
  const out = openssl(["pkeyutl", "-verify", "-pubin", "-inkey", files.dsaPub, "-in", hashFile, "-sigfile", tmp("s2", rsToDer(sig))]);
  assert.match(out.toString(), /Signature Verified Successfully/);
  // And we verify OpenSSL's.
  const cliSig = derToRs(openssl(["pkeyutl", "-sign", "-inkey", files.dsaKey, "-in", hashFile]), 20);
  assert.equal(ok(verify(dsaPubRef, hash, cliSig)), true);

  const wrong = Buffer.from(hash);
  wrong.writeUInt8(wrong.readUInt8(19) ^ 0x80, 19);
  assert.equal(ok(verify(dsaPubRef, wrong, sig)), false);
  const flipped = Buffer.from(sig);
  flipped.writeUInt8(flipped.readUInt8(5) ^ 1, 5);
  assert.equal(ok(verify(dsaPubRef, hash, flipped)), false);
  assert.equal(ok(verify(dsaPubRef, hash, sig.subarray(0, 39))), false, "39-byte signature");
  assert.equal(ok(verify(dsaPubRef, hash, Buffer.alloc(40))), false, "r = s = 0");
  // An RSA-sized signature is just invalid.
  assert.equal(ok(verify(dsaPubRef, hash, Buffer.alloc(256, 1))), false);
});

test("DSA keys with a 256-bit q sign as 64-byte r|s", () => {
  const big = generateKeyPairSync("dsa", { modulusLength: 2048, divisorLength: 256 });
  const priv = ok(loadPrivateKey(big.privateKey));
  const pub = ok(loadPublicKey(big.publicKey));
  const hash = randomBytes(32);
  const sig = ok(sign(priv, hash));
  assert.equal(sig.length, 64);
  assert.equal(ok(verify(pub, hash, sig)), true);
});

test("RSA PKCS#1 v1.5 encryption round trips with node:crypto and openssl pkeyutl", () => {
  const nonce = randomBytes(32);
  const ct = ok(encrypt(rsaPubRef, nonce));
  assert.equal(ct.length, 256);
  assert.deepEqual(ok(decrypt(rsaPriv, ct)), nonce);
  assert.deepEqual(openssl(["pkeyutl", "-decrypt", "-inkey", files.rsaKey, "-in", tmp("c1", ct)]), nonce);
  const cliCt = openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", files.rsaPub, "-in", tmp("m1", nonce)]);
  assert.deepEqual(ok(decrypt(rsaPriv, cliCt)), nonce);
  // Longest and shortest plaintexts.
  for (const m of [randomBytes(245), Buffer.alloc(0), Buffer.from([0])]) {
    assert.deepEqual(ok(decrypt(rsaPriv, ok(encrypt(rsaPubRef, m)))), m);
  }
  const tooLong = encrypt(rsaPubRef, randomBytes(246));
  assert.equal(!tooLong.ok && tooLong.error.code, "IKE_ERR_PUBKEY_INPUT");
  const dsaEnc = encrypt(dsaPubRef, nonce);
  assert.equal(!dsaEnc.ok && dsaEnc.error.code, "IKE_ERR_PUBKEY_TYPE");
  const dsaDec = decrypt(dsaPriv, ct);
  assert.equal(!dsaDec.ok && dsaDec.error.code, "IKE_ERR_PUBKEY_TYPE");
});

/** Encrypt a hand-made encoded message with no padding, to test the unpadding. */
function rawEncrypt(em: Buffer): Buffer {
  return publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_NO_PADDING }, em);
}

function encoded(psLen: number, message: Buffer, first = 0x00, second = 0x02): Buffer {
  const ps = Buffer.alloc(psLen, 0x5a);
  const head = Buffer.from([first, second]);
  const em = Buffer.concat([head, ps, Buffer.from([0]), message]);
  assert.equal(em.length, 256);
  return em;
}

test("bad PKCS#1 padding yields a deterministic pseudo-random message, never an error", () => {
  const k = 256;
  const good = encoded(k - 3 - 20, Buffer.alloc(20, 0x11));
  assert.deepEqual(ok(decrypt(rsaPriv, rawEncrypt(good))), Buffer.alloc(20, 0x11), "hand-made valid block");
  assert.deepEqual(ok(decrypt(rsaPriv, rawEncrypt(encoded(8, Buffer.alloc(k - 11, 0x22))))), Buffer.alloc(k - 11, 0x22), "8-byte PS");
  assert.deepEqual(ok(decrypt(rsaPriv, rawEncrypt(encoded(k - 3, Buffer.alloc(0))))), Buffer.alloc(0), "empty message");

  const bad: Array<[string, Buffer]> = [
    ["7-byte PS", encoded(7, Buffer.alloc(k - 10, 0x33))],
    ["block type 1", encoded(k - 23, Buffer.alloc(20, 0x44), 0x00, 0x01)],
    ["no separator", Buffer.concat([Buffer.from([0, 2]), Buffer.alloc(k - 2, 0x77)])],
    // Random, but never block type 2: with type 2 (1 in 256), eight non-zero bytes and a zero after
    // them, a random block is valid padding (about 1 run in 430 failed on that before).
    ["random", (() => { const b = randomBytes(k); b[0] = 0; if (b[1] === 2) b[1] = 3; return b; })()],
  ];
  const seen = new Set<string>();
  for (const [name, em] of bad) {
    const ct = rawEncrypt(em);
    const m1 = ok(decrypt(rsaPriv, ct));
    const m2 = ok(decrypt(rsaPriv, ct));
    assert.deepEqual(m1, m2, `${name}: same ciphertext, same synthetic message`);
    assert.ok(m1.length <= k - 11, `${name}: synthetic length fits a real message`);
    // An empty synthetic message (its length is pseudo-random, 0 included) is every block's empty tail.
    if (m1.length > 0) assert.notDeepEqual(m1, em.subarray(em.length - m1.length), `${name}: not the tail of the block`);
    seen.add(m1.toString("hex"));
    // The raw RSA operation really yields the hand-made block: only the unpadding rejected it.
    assert.deepEqual(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_NO_PADDING }, ct), em);
  }
  assert.equal(seen.size, bad.length, "different ciphertexts give different synthetic messages");

  // A ciphertext with its leading zero bytes stripped decrypts the same as the full-length one.
  let ct = ok(encrypt(rsaPubRef, Buffer.from("nonce")));
  for (let i = 0; i < 500 && ct[0] !== 0; i++) ct = ok(encrypt(rsaPubRef, Buffer.from("nonce")));
  if (ct[0] === 0) assert.deepEqual(ok(decrypt(rsaPriv, ct.subarray(1))), Buffer.from("nonce"));
});

test("ciphertexts that cannot be RSA values are input errors (public facts only)", () => {
  for (const ct of [Buffer.alloc(256, 0xff), Buffer.alloc(257, 1), Buffer.alloc(0)]) {
    const r = decrypt(rsaPriv, ct);
    assert.equal(!r.ok && r.error.code, "IKE_ERR_PUBKEY_INPUT");
  }
});
