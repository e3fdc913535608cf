import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CryptoPool, PoolErrorCode, workerChannel } from "../../src/crypto/pool.js";
import { dhAgree, dhPublicFromPrivate, DhGroups } from "../../src/crypto/dh.js";
import { WorkerError } from "../../src/errors.js";
import type { TaskResult } from "../../src/crypto/tasks.js";
import { SaAbort } from "../../src/ike/sa-abort.js";

const dir = mkdtempSync(path.join(tmpdir(), "iked-pool-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
const rsaPem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
const rsaSpki = rsa.publicKey.export({ type: "spki", format: "der" });
const dsaDer = dsa.privateKey.export({ type: "pkcs8", format: "der" });
const dsaSpki = dsa.publicKey.export({ type: "spki", format: "der" });
const rsaPath = path.join(dir, "rsa.pem");
writeFileSync(rsaPath, rsaPem, { mode: 0o600 });

function ok<T>(r: TaskResult<T>): T {
  if (!r.ok) assert.fail(`unexpected error ${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof WorkerError && err.code === code);
}

test("inline (threads 0) and pooled (threads 2) give identical results", async () => {
  const x = Buffer.alloc(28, 0x5c);
  const y = Buffer.alloc(28, 0xa3);
  const gy = dhPublicFromPrivate(14, y);
  assert.ok(gy.ok);
  const hash = createHash("sha1").update("hashI").digest();
  const results = [];
  for (const threads of [0, 2]) {
    const pool = new CryptoPool({ threads, warmGroups: [14] });
    try {
      ok(await pool.addPrivateKey("rsa", { pem: rsaPem }));
      ok(await pool.addPrivateKey("dsa", { der: dsaDer }));
      const agreed = ok(await pool.dhAgree(14, x, gy.value));
      assert.ok(Buffer.isBuffer(agreed));
      const rsaSig = ok(await pool.sign("rsa", hash));
      const dsaSig = ok(await pool.sign("dsa", hash));
      const ct = ok(await pool.encrypt(rsaSpki, Buffer.from("Ni_b")));
      const badPeer = await pool.dhAgree(14, x, Buffer.alloc(256));
      const pair = ok(await pool.dhGenerate(5));
      assert.deepEqual(ok(dhPublicFromPrivate(5, pair.privateValue) as TaskResult<Buffer>), pair.publicValue);
      assert.equal(pair.publicValue.length, DhGroups[5].primeBytes);
      results.push({
        agreed,
        rsaSig,
        rsaValid: ok(await pool.verify(rsaSpki, hash, rsaSig)),
        dsaValid: ok(await pool.verify(dsaSpki, hash, dsaSig)),
        dsaLength: dsaSig.length,
        plain: ok(await pool.decrypt("rsa", ct)),
        badCipher: ok(await pool.decrypt("rsa", Buffer.alloc(256, 0x01))),
        badPeer: !badPeer.ok && badPeer.error.code,
      });
      assert.deepEqual(x, Buffer.alloc(28, 0x5c), "the caller's private value is left as it was");
    } finally {
      await pool.close();
    }
  }
  const [inline, pooled] = results;
  assert.deepEqual(inline, pooled);
  assert.deepEqual(inline!.agreed, ok(dhAgree(14, x, gy.value) as TaskResult<Buffer>));
  assert.equal(inline!.rsaValid, true);
  assert.equal(inline!.dsaValid, true);
  assert.equal(inline!.dsaLength, 40);
  assert.deepEqual(inline!.plain, Buffer.from("Ni_b"));
  assert.equal(inline!.badPeer, "IKE_ERR_DH_PUBLIC_RANGE");
});

test("requests made together are micro-batched and each gets its own answer", async () => {
  const pool = new CryptoPool({ threads: 1, maxBatch: 8, warmGroups: [2] });
  try {
    const pairs = await Promise.all(Array.from({ length: 40 }, () => pool.dhGenerate(2)));
    const seen = new Set<string>();
    for (const r of pairs) {
      const pair = ok(r);
      assert.deepEqual(ok(dhPublicFromPrivate(2, pair.privateValue) as TaskResult<Buffer>), pair.publicValue);
      seen.add(pair.publicValue.toString("hex"));
    }
    assert.equal(seen.size, 40);
    const s = pool.stats();
    assert.equal(s.requests, 40);
    assert.ok(s.dispatches <= 40 / 8 + 1, `40 requests in ${s.dispatches} dispatches`);
    assert.equal(s.queued, 0);
    assert.equal(s.running, 0);
  } finally {
    await pool.close();
  }
});

test("requests made together go out as at most one batch per thread, not one per free slot", async () => {
  // Two slots per thread: splitting over the slots sent each thread two batches to run one after
  // the other (4 dispatches for 4 requests on 2 threads), each a round trip of its own.
  for (const [threads, expected] of [[1, 1], [2, 2]] as const) {
    const pool = new CryptoPool({ threads, warmGroups: [2] });
    try {
      const peer = dhPublicFromPrivate(2, Buffer.alloc(DhGroups[2].privateBits / 8, 0x42));
      assert.ok(peer.ok);
      const results = await Promise.all(Array.from({ length: 4 }, () => pool.dhGenerateAndAgree(2, peer.value)));
      for (const r of results) {
        const v = ok(r);
        const theirs = dhAgree(2, Buffer.alloc(DhGroups[2].privateBits / 8, 0x42), v.publicValue);
        assert.ok(theirs.ok);
        assert.deepEqual(v.sharedSecret, theirs.value);
      }
      const s = pool.stats();
      assert.equal(s.requests, 4);
      assert.equal(s.dispatches, expected, `4 requests made together on ${threads} thread(s)`);
    } finally {
      await pool.close();
    }
  }
});

test("past maxBatch a flush fills the free slots, and what is left goes out as slots free", async () => {
  // 1 thread (2 slots), at most 2 calls a batch: 5 calls made together go out as 2 + 2 at once,
  // and the fifth when a slot frees; none is left waiting.
  const pool = new CryptoPool({ threads: 1, maxBatch: 2, warmGroups: [2] });
  try {
    const results = await Promise.all(Array.from({ length: 5 }, () => pool.dhGenerate(2)));
    for (const r of results) ok(r);
    const s = pool.stats();
    assert.equal(s.requests, 5);
    assert.equal(s.dispatches, 3);
    assert.equal(s.queued, 0);
  } finally {
    await pool.close();
  }
});

test("keys load on demand in every worker; unknown and removed keys are values, not throws", async () => {
  const pool = new CryptoPool({ threads: 2, warmGroups: [] });
  try {
    assert.deepEqual(ok(await pool.addPrivateKey("host", { path: rsaPath })), { type: "rsa", bits: 2048, spki: rsaSpki });
    const hashes = Array.from({ length: 12 }, () => randomBytes(20));
    const sigs = await Promise.all(hashes.map((h) => pool.sign("host", h)));
    for (let i = 0; i < hashes.length; i++) {
      assert.equal(ok(await pool.verify(rsaSpki, hashes[i]!, ok(sigs[i]!))), true);
    }
    assert.equal(pool.removePrivateKey("host"), true);
    const gone = await pool.sign("host", hashes[0]!);
    assert.equal(!gone.ok && gone.error.code, "IKE_ERR_KEY_UNKNOWN");
    const bad = await pool.addPrivateKey("junk", { der: Buffer.from("junk") });
    assert.equal(!bad.ok && bad.error.code, "IKE_ERR_PUBKEY_DECODE");
    const missing = await pool.addPrivateKey("nofile", { path: path.join(dir, "absent.pem") });
    assert.equal(!missing.ok && missing.error.code, "IKE_ERR_PUBKEY_DECODE");
    const device = await pool.addPrivateKey("device", { path: "/dev/zero" });
    assert.equal(!device.ok && device.error.code, "IKE_ERR_PUBKEY_DECODE", "not a regular file");
    assert.doesNotMatch(!missing.ok ? missing.error.message : "", /PRIVATE KEY/);
    const junkSign = await pool.decrypt("junk", Buffer.alloc(256, 1));
    assert.equal(!junkSign.ok && junkSign.error.code, "IKE_ERR_KEY_UNKNOWN");
  } finally {
    await pool.close();
  }
});

test("aborting removes queued requests and rejects running ones with WorkerError", async () => {
  const pool = new CryptoPool({ threads: 1, warmGroups: [] });
  try {
    const pre = new AbortController();
    pre.abort();
    await rejectsWith(pool.dhGenerate(14, { signal: pre.signal }), PoolErrorCode.Aborted);

    // Calls of one tick wait in the queue until the microtask flush: abort them there.
    const teardown = new AbortController();
    const queued = Array.from({ length: 10 }, () => pool.dhGenerate(16, { signal: teardown.signal }));
    teardown.abort();
    for (const p of queued) await rejectsWith(p, PoolErrorCode.Aborted);
    assert.equal(pool.stats().queued, 0);

    // Already sent to the worker: the promise rejects now and the late result is dropped.
    const late = new AbortController();
    const running = pool.dhGenerate(16, { signal: late.signal });
    await new Promise((r) => setImmediate(r));
    late.abort();
    await rejectsWith(running, PoolErrorCode.Aborted);
    assert.ok(ok(await pool.dhGenerate(2)).publicValue.length === 128, "the pool keeps working");

    // An ISAKMP SA's own signal (not an AbortSignal) works the same.
    const sa = new SaAbort();
    const saQueued = Array.from({ length: 3 }, () => pool.dhGenerate(16, { signal: sa.signal }));
    sa.abort("SA destroyed");
    for (const p of saQueued) await rejectsWith(p, PoolErrorCode.Aborted);
    await rejectsWith(pool.dhGenerate(2, { signal: sa.signal }), PoolErrorCode.Aborted);
    assert.equal(pool.stats().queued, 0);
  } finally {
    await pool.close();
  }
});

test("a full queue rejects at once with IKE_ERR_POOL_QUEUE_FULL", async () => {
  const pool = new CryptoPool({ threads: 1, maxQueue: 4, warmGroups: [] });
  try {
    const calls = Array.from({ length: 10 }, () => pool.dhGenerate(2).then((r) => (r.ok ? "ok" : r.error.code), (e: WorkerError) => e.code));
    const outcomes = await Promise.all(calls);
    assert.deepEqual(outcomes.slice(0, 4), ["ok", "ok", "ok", "ok"]);
    assert.deepEqual(new Set(outcomes.slice(4)), new Set([PoolErrorCode.QueueFull]));
  } finally {
    await pool.close();
  }
});

test("a worker that exits mid-task fails only its requests; it is replaced and keys reload", async () => {
  const pool = new CryptoPool({ threads: 1, warmGroups: [], workerFile: new URL("./pool-exit.worker.js", import.meta.url) });
  try {
    ok(await pool.addPrivateKey("host", { pem: rsaPem }));
    const hash = randomBytes(20);
    ok(await pool.sign("host", hash));
    const events: unknown[] = [];
    const listener = (m: unknown): void => void events.push(m);
    workerChannel.subscribe(listener);
    await rejectsWith(pool.dhGenerate(0xdead), PoolErrorCode.WorkerDied);
    workerChannel.unsubscribe(listener);
    assert.deepEqual(events, [{ event: "worker-died", requests: 1, ops: ["dhGenerate"] }]);
    assert.ok(pool.stats().workerFailures >= 1);
    // The replacement worker has no keys yet: the pool resends the request with the key's source.
    assert.equal(ok(await pool.verify(rsaSpki, hash, ok(await pool.sign("host", hash)))), true);
    assert.equal(ok(await pool.dhGenerate(14)).publicValue.length, 256);
    // Again, among other requests: those that were on the dying worker fail with it, the others
    // (still queued, or on the replacement) complete.
    const mixed = await Promise.allSettled([pool.dhGenerate(2), pool.dhGenerate(0xdead), pool.dhGenerate(2)]);
    const dead = mixed[1]!;
    assert.ok(dead.status === "rejected" && dead.reason instanceof WorkerError && dead.reason.code === PoolErrorCode.WorkerDied);
    for (const r of [mixed[0]!, mixed[2]!]) {
      if (r.status === "fulfilled") assert.equal(ok(r.value).publicValue.length, 128);
      else assert.equal((r.reason as WorkerError).code, PoolErrorCode.WorkerDied);
    }
    assert.equal(ok(await pool.sign("host", hash)).length, 256);
  } finally {
    await pool.close();
  }
  await rejectsWith(pool.dhGenerate(2), PoolErrorCode.Closed);
});

test("closing the pool settles everything: finished work resolves, the rest rejects IKE_ERR_POOL_CLOSED", async () => {
  const pool = new CryptoPool({ threads: 1, maxBatch: 2, warmGroups: [] });
  const settled = Promise.allSettled(Array.from({ length: 12 }, () => pool.dhGenerate(16)));
  await new Promise((r) => setImmediate(r));
  await pool.close();
  const outcomes = await settled;
  let closed = 0;
  for (const o of outcomes) {
    if (o.status === "fulfilled") assert.equal(ok(o.value).publicValue.length, 512);
    else {
      assert.ok(o.reason instanceof WorkerError);
      assert.equal(o.reason.code, PoolErrorCode.Closed);
      closed++;
    }
  }
  assert.ok(closed > 0, "12 group-16 key pairs cannot all finish before close()");
  assert.equal(pool.stats().workerFailures, 0);
});

test("batchesPerThread 1: one batch in flight per thread, every request still answered in order", async () => {
  const pool = new CryptoPool({ threads: 1, batchesPerThread: 1, warmGroups: [2] });
  try {
    const peer = dhPublicFromPrivate(2, Buffer.alloc(DhGroups[2].privateBits / 8, 0x21));
    assert.ok(peer.ok);
    const calls = Array.from({ length: 40 }, () => pool.dhGenerateAndAgree(2, peer.value));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.stats().running, 1, "one batch in flight, the rest queued");
    const results = await Promise.all(calls);
    for (const r of results) {
      const v = ok(r);
      const theirs = dhAgree(2, Buffer.alloc(DhGroups[2].privateBits / 8, 0x21), v.publicValue);
      assert.ok(theirs.ok);
      assert.deepEqual(v.sharedSecret, theirs.value);
    }
    assert.ok(pool.stats().dispatches < 40, "requests queued behind a running batch travel together");
  } finally {
    await pool.close();
  }
});
