import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { createHash, generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { loadNative } from "../../native/index.js";

/**
 * The addon is context-aware: several worker threads load it at once, each gets its own instance,
 * and key handles made in one thread work there (they are not shared).
 */
const loader = fileURLToPath(new URL("../../native/index.js", import.meta.url));

const workerSource = `
  const { parentPort, workerData } = require("node:worker_threads");
  import(workerData.loader).then(({ loadNative }) => {
    const addon = loadNative();
    const key = addon.loadPrivateKey(Buffer.from(workerData.der));
    const sigs = [];
    for (let i = 0; i < workerData.rounds; i++) sigs.push(addon.dsaSign(key, Buffer.from(workerData.hash)));
    parentPort.postMessage({ info: addon.keyInfo(key), sigs });
  });
`;

function runWorker(der: Buffer, hash: Buffer): Promise<{ info: { type: string; bits: number }; sigs: Uint8Array[] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { loader, der, hash, rounds: 20 } });
    w.once("message", (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once("error", reject);
  });
}

test("the addon loads and signs in four worker threads at once", async () => {
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const der = dsa.privateKey.export({ type: "pkcs8", format: "der" });
  const hash = createHash("sha1").update("HASH_I").digest();
  const main = loadNative();
  const pub = main.loadPublicKey(dsa.publicKey.export({ type: "spki", format: "der" }));
  const results = await Promise.all([0, 1, 2, 3].map(() => runWorker(der, hash)));
  for (const r of results) {
    assert.deepEqual(r.info, { type: "dsa", bits: 1024, bytes: 48 });
    assert.equal(r.sigs.length, 20);
    for (const sig of r.sigs) assert.equal(main.dsaVerify(pub, hash, sig), true);
  }
  // The main thread's instance keeps working after the workers are gone.
  assert.equal(main.dsaVerify(pub, hash, main.dsaSign(main.loadPrivateKey(der), hash)), true);
});

test("key handles are type-tagged: other values are refused with a code", () => {
  const addon = loadNative();
  for (const bad of [{}, null, Buffer.alloc(4)]) {
    assert.throws(() => addon.dsaSign(bad as never, Buffer.alloc(20)), { code: "IKE_ERR_NATIVE_ARG" });
  }
  assert.throws(() => addon.loadPrivateKey(Buffer.from("nope")), { code: "IKE_ERR_KEY_DECODE" });
  assert.throws(() => addon.loadPublicKey(Buffer.alloc(0)), { code: "IKE_ERR_KEY_DECODE" });
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const rsaKey = addon.loadPrivateKey(rsa.privateKey.export({ type: "pkcs8", format: "der" }));
  assert.throws(() => addon.dsaSign(rsaKey, Buffer.alloc(20)), { code: "IKE_ERR_KEY_TYPE" });
  assert.deepEqual(addon.keyInfo(rsaKey), { type: "rsa", bits: 1024, bytes: 128 });
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const dsaKey = addon.loadPrivateKey(dsa.privateKey.export({ type: "pkcs8", format: "der" }));
  assert.throws(() => addon.rsaDecryptPkcs1(dsaKey, Buffer.alloc(128)), { code: "IKE_ERR_KEY_TYPE" });
});
