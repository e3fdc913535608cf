/**
 * Secure-memory exhaustion: `sodium_free` only detaches a buffer, its guarded pages go when garbage
 * collection finds it, and GC does not count them as pressure, so ~16,000 guarded allocations with
 * little else allocated exhaust `vm.max_map_count` and Node aborts. Every per-SA secret must come
 * from a bounded scheme (the pooled slab, the SADB's key store). Here 25,000 whole SA lives (six
 * secure buffers and four SADB keys each) and then 100,000 SAs' worth of secrets at the allocation
 * level are made and destroyed in one process: no guarded allocation may happen per SA, and the
 * process's mappings must not grow with the SA count (V8's own heap pages come and go: a few dozen).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { IkeEncryption, IkeHash } from "../../src/codec/index.js";
import { Phase1Keymat, phase1Suite } from "../../src/crypto/keymat.js";
import { SecureBuffer } from "../../src/crypto/secure.js";
import { SA_KEY_MEMORY } from "../../src/ike/phase1/phase1.js";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { SecureKeyStore } from "../../src/kernel/secure-keys.js";

const sodium = createRequire(import.meta.url)("sodium-native") as typeof import("sodium-native") & Record<string, unknown>;
const LIVES = 25_000;
const SAS = 100_000;
/** Growth allowed for V8's heap pages; one guarded mapping per SA would add 3 x the SA count. */
const SLACK = 500;

function mappings(): number {
  return readFileSync("/proc/self/maps", "latin1").split("\n").length;
}

/** Counts sodium_malloc calls (each one a mapping of its own) while `fn` runs. */
async function countMallocs(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const m = sodium.sodium_malloc;
  sodium.sodium_malloc = (size: number) => (n++, m(size));
  try {
    await fn();
  } finally {
    sodium.sodium_malloc = m;
  }
  return n;
}

const suite = phase1Suite(IkeEncryption.AES_CBC, 128, IkeHash.SHA);
const x = { icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(16), nonceR: randomBytes(16), gxi: randomBytes(128), gxr: randomBytes(128) };
const psk = Buffer.from("a pre-shared key");

/** One SA's life: Phase 1 holder (DH x, SKEYID*), PFS g^qmxy, two KEYMATs into the SADB, then teardown. */
async function oneSa(kernel: MemoryKernel, spi: number): Promise<void> {
  const km = new Phase1Keymat(suite, SA_KEY_MEMORY);
  km.holdDhPrivate(randomBytes(32));
  km.dhPrivateForTask().fill(0);
  km.deriveFromPsk(x, randomBytes(128), psk);
  const gqmxy = SecureBuffer.take(randomBytes(128), { pooled: true });
  const pfsX = SecureBuffer.take(randomBytes(32), { pooled: true });
  for (const dir of [0, 1]) {
    const keymat = km.keymat(3, spi + dir, x.nonceI, x.nonceR, gqmxy, 36);
    keymat.use((k) =>
      kernel.add({
        src: dir === 0 ? "192.0.2.1" : "192.0.2.2",
        dst: dir === 0 ? "192.0.2.2" : "192.0.2.1",
        proto: "esp",
        spi: spi + dir,
        mode: "tunnel",
        encAlg: EncAlg.AesCbc,
        encKey: Buffer.from(k.subarray(0, 16)),
        authAlg: AuthAlg.HmacSha1,
        authKey: Buffer.from(k.subarray(16, 36)),
      }),
    );
    keymat.destroy();
  }
  pfsX.destroy();
  gqmxy.destroy();
  km.destroy();
  await kernel.delete("192.0.2.1", "192.0.2.2", "esp", spi);
  await kernel.delete("192.0.2.2", "192.0.2.1", "esp", spi + 1);
}

test(`${LIVES} SA lives (key holder, KEYMAT, PFS, SADB add/delete): no guarded allocation, mappings do not grow`, async () => {
  const kernel = new MemoryKernel({ clock: new ManualClock() });
  try {
    for (let i = 0; i < 256; i++) await oneSa(kernel, 0x1000 + 2 * i); // arenas for every slot size exist
    const before = mappings();
    const mallocs = await countMallocs(async () => {
      for (let i = 0; i < LIVES; i++) await oneSa(kernel, 0x1000 + 2 * (i % 0x10000));
    });
    const after = mappings();
    assert.equal(mallocs, 0, "no sodium_malloc per SA");
    assert.ok(after - before < SLACK, `mappings grew from ${before} to ${after}`);
  } finally {
    await kernel.close();
  }
});

test(`${SAS} SAs' worth of pooled secrets and SADB keys, allocated and released: no guarded allocation, no growth`, async () => {
  const store = new SecureKeyStore();
  const sizes = [32, 36, 128, 144, 224, 36, 36]; // DH x, KEYMAT, g^qmxy, Phase 1 secrets (SHA-1 to SHA-256)
  const warm = sizes.map((n) => SecureBuffer.alloc(n, { pooled: true }));
  for (const w of warm) w.destroy();
  store.free(store.allocate(32));
  const before = mappings();
  const mallocs = await countMallocs(async () => {
    for (let i = 0; i < SAS; i++) {
      const held = sizes.map((n) => SecureBuffer.alloc(n, { pooled: true }));
      const keys = [store.allocate(16), store.allocate(20), store.allocate(16), store.allocate(20)];
      for (const k of keys) store.free(k);
      for (const h of held) h.destroy();
    }
  });
  const after = mappings();
  store.destroy();
  assert.equal(mallocs, 0, "no sodium_malloc per SA");
  assert.ok(after - before < SLACK, `mappings grew from ${before} to ${after}`);
});

test("SADB key stores made and destroyed in a loop reuse their arenas instead of mapping new ones", () => {
  const warm = new SecureKeyStore();
  warm.allocate(20);
  warm.destroy();
  const before = mappings();
  let mallocs = 0;
  const m = sodium.sodium_malloc;
  sodium.sodium_malloc = (size: number) => (mallocs++, m(size));
  try {
    for (let i = 0; i < 20_000; i++) {
      const store = new SecureKeyStore();
      const key = store.allocate(32);
      assert.ok(key.every((b) => b === 0), "a reused arena comes zeroed");
      key.fill(0xa5);
      store.destroy();
    }
  } finally {
    sodium.sodium_malloc = m;
  }
  assert.equal(mallocs, 0);
  assert.ok(mappings() - before < SLACK);
});
