/** ikeload's reused DH key pairs (src/load/reused-dh.ts) over the real inline crypto pool. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { CryptoPool } from "../../src/crypto/pool.js";
import { dhAgree, type DhKeyPair } from "../../src/crypto/dh.js";
import { ReusedDh } from "../../src/load/reused-dh.js";

// The exports object src/crypto/secure.ts calls (loaded through require, so it is shared).
const sodium = createRequire(import.meta.url)("sodium-native") as typeof import("sodium-native") & Record<string, unknown>;

test("one pair per group, generated once however many ask at the same time; each caller owns its copy", async () => {
  const pool = new CryptoPool({ threads: 0, warmGroups: [2] });
  let generates = 0;
  const counting = { dhGenerate: (g: number) => (generates++, pool.dhGenerate(g)), dhAgree: pool.dhAgree.bind(pool) };
  const dh = new ReusedDh(counting);
  try {
    const pairs = await Promise.all([dh.dhGenerate(2), dh.dhGenerate(2), dh.dhGenerate(2)]);
    const later = await dh.dhGenerate(2);
    const other = await dh.dhGenerate(14);
    assert.equal(generates, 2);
    assert.equal(dh.generated, 2);
    const values = [...pairs, later].map((r) => (assert.ok(r.ok), r.value as DhKeyPair));
    for (const v of values) {
      assert.deepEqual(v.publicValue, values[0]!.publicValue);
      assert.deepEqual(v.privateValue, values[0]!.privateValue);
    }
    // Copies: wiping one (as the engine's Keymat does) leaves the next caller's intact.
    values[0]!.privateValue.fill(0);
    assert.notDeepEqual(values[1]!.privateValue, values[0]!.privateValue);
    assert.ok(other.ok);
    assert.equal(other.value.publicValue.length, 256);
    // The reused pair agrees like any other: g^xy from both sides.
    const peer = await pool.dhGenerate(2);
    assert.ok(peer.ok);
    const ours = await dh.dhAgree(2, values[1]!.privateValue, peer.value.publicValue);
    const theirs = dhAgree(2, peer.value.privateValue, values[1]!.publicValue);
    assert.ok(ours.ok && theirs.ok);
    assert.deepEqual(ours.value, theirs.value);
  } finally {
    await dh.close();
    await pool.close();
  }
});

test("an aborted caller gets an error value; a failed generation is retried by the next caller", async () => {
  const pool = new CryptoPool({ threads: 0, warmGroups: [2] });
  let fail = true;
  const flaky = {
    dhGenerate: (g: number) => (fail ? Promise.resolve({ ok: false as const, error: { code: "IKE_ERR_TEST", message: "no" } }) : pool.dhGenerate(g)),
    dhAgree: pool.dhAgree.bind(pool),
  };
  const dh = new ReusedDh(flaky);
  try {
    const first = await dh.dhGenerate(2);
    assert.ok(!first.ok && first.error.code === "IKE_ERR_TEST");
    fail = false;
    const ac = new AbortController();
    ac.abort();
    const aborted = await dh.dhGenerate(2, { signal: ac.signal });
    assert.ok(!aborted.ok && aborted.error.code === "IKE_ERR_TASK_ABORTED");
    assert.ok((await dh.dhGenerate(2)).ok);
    assert.equal(dh.generated, 1);
  } finally {
    await dh.close();
    await pool.close();
  }
});

test("a generation that rejects (a worker died) is not kept: the next caller retries and close() still succeeds", async () => {
  const pool = new CryptoPool({ threads: 0, warmGroups: [2] });
  let reject = true;
  const dying = {
    dhGenerate: (g: number) => (reject ? Promise.reject(new Error("worker died")) : pool.dhGenerate(g)),
    dhAgree: pool.dhAgree.bind(pool),
  };
  const dh = new ReusedDh(dying);
  try {
    await assert.rejects(dh.dhGenerate(2), /worker died/);
    reject = false;
    assert.ok((await dh.dhGenerate(2)).ok, "the next caller gets a pair, not the kept rejection");
    assert.equal(dh.generated, 1);
  } finally {
    await dh.close();
    await pool.close();
  }
});

test("handing out the reused pair makes no page-protection calls (no mprotect per negotiation)", async () => {
  const pool = new CryptoPool({ threads: 0, warmGroups: [2] });
  const dh = new ReusedDh(pool);
  const calls: string[] = [];
  const names = ["sodium_mprotect_readwrite", "sodium_mprotect_noaccess", "sodium_mprotect_readonly"] as const;
  const originals = names.map((n) => sodium[n]);
  try {
    assert.ok((await dh.dhGenerate(2)).ok);
    names.forEach((n, i) => {
      sodium[n] = (buf: Buffer) => (calls.push(n), originals[i]!(buf));
    });
    for (let i = 0; i < 3; i++) {
      const r = await dh.dhGenerate(2);
      assert.ok(r.ok);
      assert.equal(r.value.privateValue.length, 20, "group 2's 160-bit exponent, copied whole");
    }
    assert.deepEqual(calls, []);
  } finally {
    names.forEach((n, i) => (sodium[n] = originals[i]!));
    await dh.close();
    await pool.close();
  }
});

test("close() succeeds while a generation that then rejects is still pending", async () => {
  let fail: ((e: Error) => void) | undefined;
  const dh = new ReusedDh({
    dhGenerate: () => new Promise((_, reject) => (fail = reject)),
    dhAgree: () => Promise.reject(new Error("unused")),
  });
  const asked = dh.dhGenerate(2);
  const closed = dh.close();
  fail!(new Error("worker died"));
  await assert.rejects(asked, /worker died/);
  await closed;
});
