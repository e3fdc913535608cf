import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  decodeRequests,
  decodeResponses,
  encodeRequests,
  encodeResponses,
  type TaskRequest,
  type TaskResponse,
} from "../../src/crypto/tasks.js";
import { runEncoded } from "../../workers/crypto.worker.js";
import { runTask } from "../../workers/crypto-tasks.js";
import { dhPublicFromPrivate } from "../../src/crypto/dh.js";

const requests: TaskRequest[] = [
  { op: "dhGenerate", group: 14 },
  { op: "dhGenerate", group: 0x1_0002 },
  { op: "dhAgree", group: 2, privateValue: randomBytes(20), peerPublic: randomBytes(128) },
  { op: "sign", keyId: "host-ключ", keyVersion: 7, hash: randomBytes(20) },
  { op: "sign", keyId: "k", keyVersion: 1, keySource: { path: "/etc/inet/secret/ike.privatekeys/0" }, hash: randomBytes(32) },
  { op: "decrypt", keyId: "k", keyVersion: 2, keySource: { der: randomBytes(600) }, ciphertext: randomBytes(256) },
  { op: "loadKey", keyId: "k", keyVersion: 3, keySource: { pem: "-----BEGIN PRIVATE KEY-----\n..." } },
  { op: "verify", publicKey: randomBytes(294), hash: randomBytes(20), signature: randomBytes(256) },
  { op: "verify", publicKey: "-----BEGIN CERTIFICATE-----\n...", hash: Buffer.alloc(0), signature: randomBytes(40) },
  { op: "encrypt", publicKey: randomBytes(294), plaintext: randomBytes(16) },
  { op: "verifySignedData", spki: randomBytes(294), alg: { family: "rsa-pss", hash: "sha256", saltLength: 32 }, data: randomBytes(700), signature: randomBytes(256) },
  { op: "verifySignedData", spki: randomBytes(91), alg: { family: "ed25519", hash: null, saltLength: 0 }, data: randomBytes(70), signature: randomBytes(64) },
];

const responses: TaskResponse[] = [
  { ok: true, value: { publicValue: randomBytes(256), privateValue: randomBytes(28) } },
  { ok: true, value: randomBytes(128) },
  { ok: true, value: Buffer.alloc(0) },
  { ok: true, value: true },
  { ok: true, value: false },
  { ok: true, value: { type: "dsa", bits: 1024, spki: randomBytes(40) } },
  { ok: false, error: { code: "IKE_ERR_DH_PUBLIC_RANGE", message: "DH public value outside 1 < y < p-1 for group 2" } },
];

test("every request and response kind survives the wire format", () => {
  const decoded = decodeRequests(encodeRequests(requests));
  assert.equal(decoded.length, requests.length);
  decoded.forEach((d, i) => assert.deepEqual(JSON.parse(JSON.stringify(d)), JSON.parse(JSON.stringify(requests[i]))));
  assert.equal((decoded[1] as { group: number }).group, 0x1_0002, "groups are not truncated");
  const back = decodeResponses(encodeResponses(responses));
  assert.deepEqual(back, responses);
  for (const r of back) if (r.ok && r.value instanceof Uint8Array) assert.ok(Buffer.isBuffer(r.value));
});

test("truncated, extended and corrupted messages are refused, never misread", () => {
  const msg = encodeRequests(requests);
  for (const cut of [0, 1, 2, 3, 10, msg.length - 1]) {
    assert.throws(() => decodeRequests(msg.subarray(0, cut)), RangeError, `cut at ${cut}`);
  }
  assert.throws(() => decodeRequests(Buffer.concat([msg, Buffer.from([0])])), RangeError);
  const badOp = Buffer.from(msg);
  badOp[2] = 99;
  assert.throws(() => decodeRequests(badOp), RangeError);
  const res = encodeResponses(responses);
  assert.throws(() => decodeResponses(res.subarray(0, res.length - 3)), RangeError);
  const badTag = Buffer.from(encodeResponses([{ ok: true, value: true }]));
  badTag[3] = 9;
  assert.throws(() => decodeResponses(badTag), RangeError);
});

test("worker functions answer encoded requests directly and wipe what they received", () => {
  const x = Buffer.alloc(20, 0x42);
  const y = Buffer.alloc(20, 0x24);
  const gy = dhPublicFromPrivate(2, y);
  assert.ok(gy.ok);
  const req: TaskRequest = { op: "dhAgree", group: 2, privateValue: x, peerPublic: gy.value };
  const msg = encodeRequests([req]);
  const out = runEncoded(msg);
  assert.ok(msg.every((b) => b === 0), "the request message, holding x, is zero-filled");
  assert.deepEqual(decodeResponses(out), [runTask(req)]);

  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const pem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const hash = randomBytes(20);
  const mixed: TaskRequest[] = [
    { op: "sign", keyId: "wire-test", keyVersion: 1, hash },
    { op: "loadKey", keyId: "wire-test", keyVersion: 1, keySource: { pem } },
    { op: "sign", keyId: "wire-test", keyVersion: 1, hash },
    { op: "dhGenerate", group: 3 },
  ];
  const answers = decodeResponses(runEncoded(encodeRequests(mixed)));
  assert.equal(answers.length, 4);
  assert.equal(!answers[0]!.ok && answers[0]!.error.code, "IKE_ERR_KEY_NOT_LOADED");
  assert.deepEqual(answers[1], { ok: true, value: { type: "rsa", bits: 1024, spki: rsa.publicKey.export({ type: "spki", format: "der" }) } });
  assert.ok(answers[2]!.ok && (answers[2]!.value as Buffer).length === 128);
  assert.equal(!answers[3]!.ok && answers[3]!.error.code, "IKE_ERR_DH_GROUP");
  // A message that does not decode gets an empty answer, which the pool reports as IKE_ERR_WORKER_ANSWER.
  assert.deepEqual(decodeResponses(runEncoded(Uint8Array.from([0, 1, 42]))), []);
});

test("arbitrary bytes never make the decoders or the worker entry point throw anything but RangeError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      for (const decode of [decodeRequests, decodeResponses]) {
        try {
          decode(bytes);
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
        }
      }
      assert.ok(runEncoded(Uint8Array.from(bytes)) instanceof Uint8Array);
    }),
    { numRuns: 300 },
  );
});
