import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { readHeader, SaDecryptor, walkChain } from "./ikev1-decrypt.js";

/** Builds an encrypted ISAKMP message: header + CBC(chain + zero padding) under `iv`. */
function encrypted(messageId: number, firstPayload: number, chain: Buffer, key: Buffer, iv: Buffer): Buffer {
  const pad = 8 - (chain.length % 8);
  const plain = Buffer.concat([chain, Buffer.alloc(pad)]);
  const c = createCipheriv("des-ede3-cbc", key, iv);
  c.setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const h = Buffer.alloc(28);
  h.fill(0xaa, 0, 8);
  h.fill(0xbb, 8, 16);
  h[16] = firstPayload;
  h[17] = 0x10;
  h[18] = messageId === 0 ? 2 : 32;
  h[19] = 1;
  h.writeUInt32BE(messageId, 20);
  h.writeUInt32BE(28 + ct.length, 24);
  return Buffer.concat([h, ct]);
}

const hashPayload = (next: number, fill: number) => Buffer.concat([Buffer.from([next, 0, 0, 24]), Buffer.alloc(20, fill)]);

test("ikev1-decrypt: follows the Phase 1 chain and derives the Quick Mode IV (RFC 2409 appendix B)", () => {
  const key = Buffer.alloc(24, 7);
  const iv0 = Buffer.from("0102030405060708", "hex");
  const dec = new SaDecryptor({ encKey: key.toString("hex"), initialIv: iv0.toString("hex"), cipher: "3des", hash: "sha1" });
  // MM5 (two HASH payloads stand in for ID and HASH), then MM6 chained on its last ciphertext block.
  const mm5 = encrypted(0, 8, Buffer.concat([hashPayload(8, 1), hashPayload(0, 2)]), key, iv0);
  const r5 = dec.decrypt(mm5);
  assert.ok("payloadTypes" in r5, JSON.stringify(r5));
  assert.deepEqual(r5.payloadTypes, [8, 8]);
  const mm6 = encrypted(0, 8, hashPayload(0, 3), key, mm5.subarray(mm5.length - 8));
  const r6 = dec.decrypt(mm6);
  assert.ok("payloadTypes" in r6);
  // QM1: IV = SHA1(last Phase 1 block | M-ID) truncated; QM2 chains on QM1.
  const mid = 0x9b21f84c;
  const midBytes = Buffer.alloc(4);
  midBytes.writeUInt32BE(mid);
  const qmIv = createHash("sha1").update(mm6.subarray(mm6.length - 8)).update(midBytes).digest().subarray(0, 8);
  const qm1 = encrypted(mid, 8, hashPayload(0, 4), key, qmIv);
  const r1 = dec.decrypt(qm1);
  assert.ok("plaintext" in r1);
  assert.deepEqual(r1.plaintext.subarray(4, 24), Buffer.alloc(20, 4));
  const qm2 = encrypted(mid, 8, hashPayload(0, 5), key, qm1.subarray(qm1.length - 8));
  assert.ok("plaintext" in dec.decrypt(qm2));
});

test("ikev1-decrypt: a wrong IV or key is reported, not returned as plaintext", () => {
  const key = Buffer.alloc(24, 7);
  const iv0 = Buffer.alloc(8, 1);
  const msg = encrypted(0, 8, hashPayload(0, 1), key, iv0);
  const wrong = new SaDecryptor({ encKey: Buffer.alloc(24, 9).toString("hex"), initialIv: iv0.toString("hex"), cipher: "3des", hash: "sha1" });
  assert.ok("error" in wrong.decrypt(msg));
  // A wrong IV garbles only the first block, which holds the generic header: still reported.
  const wrongIv = new SaDecryptor({ encKey: key.toString("hex"), initialIv: Buffer.alloc(8, 2).toString("hex"), cipher: "3des", hash: "sha1" });
  assert.ok("error" in wrongIv.decrypt(msg));
  const right = new SaDecryptor({ encKey: key.toString("hex"), initialIv: iv0.toString("hex"), cipher: "3des", hash: "sha1" });
  assert.ok("plaintext" in right.decrypt(msg), "the same message decrypts with the right key and IV");
  assert.ok("error" in new SaDecryptor({ encKey: key.toString("hex"), initialIv: "00", cipher: "3des", hash: "sha1" }).decrypt(Buffer.alloc(10)));
});

test("ikev1-decrypt: walkChain and readHeader bounds", () => {
  assert.deepEqual(walkChain(hashPayload(0, 1), 8, 0), { types: [8] });
  assert.ok("error" in walkChain(Buffer.from([0, 0, 0, 3]), 8, 0));
  assert.ok("error" in walkChain(Buffer.concat([hashPayload(0, 1), Buffer.alloc(9)]), 8, 8));
  assert.ok("error" in walkChain(Buffer.from([13, 0, 0, 4]), 8, 0));
  assert.equal(readHeader(Buffer.alloc(27)), undefined);
  assert.equal(readHeader(Buffer.alloc(28))?.length, 0);
});
