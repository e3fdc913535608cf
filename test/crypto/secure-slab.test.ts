/**
 * Pooled secure buffers: carved from slab arenas (one sodium_malloc per arena, not per secret),
 * zeroed when released before the slot is handed out again, never page-protected; a Phase 1 key
 * holder with `pooled: true` makes no mapping of its own.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { IkeEncryption, IkeHash } from "../../src/codec/index.js";
import { CryptoErrorCode } from "../../src/crypto/crypto-error.js";
import { Phase1Keymat, phase1Suite } from "../../src/crypto/keymat.js";
import { SecureBuffer } from "../../src/crypto/secure.js";
import { MAX_SLAB_BYTES, slabAllocate, slabFreeSlots, slabRelease } from "../../src/crypto/secure-slab.js";

type Sodium = typeof import("sodium-native");
const sodium = createRequire(import.meta.url)("sodium-native") as Sodium & Record<string, unknown>;

/** Counts sodium_malloc and mprotect calls while `fn` runs. */
function countMappings(fn: () => void): { malloc: number; mprotect: number } {
  const n = { malloc: 0, mprotect: 0 };
  const { sodium_malloc: m, sodium_mprotect_noaccess: na, sodium_mprotect_readwrite: rw } = sodium;
  sodium.sodium_malloc = (size: number) => (n.malloc++, m(size));
  sodium.sodium_mprotect_noaccess = (b: Buffer) => (n.mprotect++, na(b));
  sodium.sodium_mprotect_readwrite = (b: Buffer) => (n.mprotect++, rw(b));
  try {
    fn();
  } finally {
    sodium.sodium_malloc = m;
    sodium.sodium_mprotect_noaccess = na;
    sodium.sodium_mprotect_readwrite = rw;
  }
  return n;
}

describe("secure slab", () => {
  it("hands out zeroed slots and zeroes a released slot before reuse", () => {
    const a = slabAllocate(40)!;
    assert.equal(a.length, 40);
    assert.ok(a.every((b) => b === 0));
    a.fill(0xa5);
    const whole = Buffer.from(a.buffer, a.byteOffset, 64);
    slabRelease(a);
    assert.ok(whole.every((b) => b === 0), "the whole 64-byte slot is zero once released");
    const b = slabAllocate(64)!;
    assert.equal(b.byteOffset, a.byteOffset, "the released slot is the next one handed out");
    assert.ok(b.every((x) => x === 0));
    slabRelease(b);
  });

  it("refuses lengths outside its slots and releases of foreign or already released buffers", () => {
    assert.equal(slabAllocate(0), undefined);
    assert.equal(slabAllocate(MAX_SLAB_BYTES + 1), undefined);
    assert.throws(() => slabRelease(Buffer.alloc(8)));
    const a = slabAllocate(8)!;
    slabRelease(a);
    assert.throws(() => slabRelease(a), "double release");
  });

  it("one arena serves many buffers: no mapping or mprotect per pooled SecureBuffer", () => {
    slabRelease(slabAllocate(200)!); // make sure the 256-byte class has an arena
    const free = slabFreeSlots()[256]!;
    const held: SecureBuffer[] = [];
    const n = countMappings(() => {
      for (let i = 0; i < Math.min(free, 100); i++) held.push(SecureBuffer.copyOf(randomBytes(200), { pooled: true }));
      for (const sb of held) sb.use((b) => b[0]);
    });
    assert.deepEqual(n, { malloc: 0, mprotect: 0 });
    const seen = held.map((sb) => sb.use((b) => Buffer.from(b)));
    assert.equal(new Set(seen.map((b) => b.toString("hex"))).size, held.length, "each holds its own bytes");
    for (const sb of held) sb.destroy();
    assert.equal(slabFreeSlots()[256], free, "every slot back");
    assert.throws(() => held[0]!.use(() => 0), { code: CryptoErrorCode.Destroyed });
  });

  it("a length above the largest slot gets its own (unprotected) mapping", () => {
    let sb: SecureBuffer | undefined;
    const n = countMappings(() => {
      sb = SecureBuffer.alloc(MAX_SLAB_BYTES + 1, { pooled: true });
      sb.use((b) => b.fill(1));
    });
    assert.deepEqual(n, { malloc: 1, mprotect: 0 });
    sb!.destroy();
  });

  it("a pooled Phase 1 key holder derives and encrypts without mappings of its own", () => {
    const suite = phase1Suite(IkeEncryption.AES_CBC, 128, IkeHash.SHA);
    for (const len of [36, 128, 224]) slabRelease(slabAllocate(len)!); // arenas exist for the three sizes used
    const x = { icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(16), nonceR: randomBytes(16), gxi: randomBytes(128), gxr: randomBytes(128) };
    const gxy = randomBytes(128);
    const i = new Phase1Keymat(suite, { pooled: true });
    const r = new Phase1Keymat(suite);
    r.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("k"));
    let ct: Buffer | undefined;
    const n = countMappings(() => {
      i.holdDhPrivate(randomBytes(128));
      i.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("k"));
      ct = i.encrypt(0, Buffer.from("payload chain"));
      i.keymat(3, 0x1234, x.nonceI, x.nonceR, undefined, 36).destroy();
    });
    assert.deepEqual(n, { malloc: 0, mprotect: 0 });
    const pt = r.decrypt(0, ct!);
    assert.ok(pt.ok, "an unpooled peer holder derived the same keys");
    assert.equal(pt.plaintext.subarray(0, 13).toString(), "payload chain");
    i.destroy();
    r.destroy();
  });
});
