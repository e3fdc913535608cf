/**
 * Properties of the key holder over generated inputs (fast-check, time-bounded; the seed is
 * printed on failure, and every key input derives from generated values, so it replays exactly): encrypt/decrypt round-trips for every suite, payload length and message ID,
 * and arbitrary ciphertext from a peer never makes decrypt() throw.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Phase1Keymat, phase1Suite, type Phase1Exchange } from "../../src/crypto/keymat.js";

const SUITES = [
  phase1Suite(1, undefined, 1),
  phase1Suite(3, 40, 2),
  phase1Suite(3, 448, 6),
  phase1Suite(5, undefined, 2),
  phase1Suite(7, 128, 4),
  phase1Suite(7, 192, 5),
  phase1Suite(7, 256, 2),
];

/** `n` bytes determined by `seed` and `label`, so that fast-check's printed seed replays the keys too. */
function bytesOf(seed: number, label: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, k = 0; off < n; off += 32, k++) createHash("sha256").update(`${seed}/${label}/${k}`).digest().copy(out, off);
  return out;
}

function holders(suiteIndex: number, seed: number): [Phase1Keymat, Phase1Keymat] {
  const suite = SUITES[suiteIndex]!;
  const x: Phase1Exchange = {
    icookie: bytesOf(seed, "icookie", 8), rcookie: bytesOf(seed, "rcookie", 8), nonceI: bytesOf(seed, "nonceI", 16),
    nonceR: bytesOf(seed, "nonceR", 16), gxi: bytesOf(seed, "gxi", 96), gxr: bytesOf(seed, "gxr", 96),
  };
  const gxy = bytesOf(seed, "gxy", 96);
  const a = new Phase1Keymat(suite);
  const b = new Phase1Keymat(suite);
  a.deriveFromSig(x, Buffer.from(gxy));
  b.deriveFromSig(x, Buffer.from(gxy));
  return [a, b];
}

describe("Phase1Keymat properties", () => {
  it("decrypt(encrypt(p)) = p followed by zero padding, for every suite, length and M-ID", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SUITES.length - 1 }),
        fc.integer(),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.boolean()), { minLength: 1, maxLength: 8 }),
        (s, keySeed, messages) => {
          const [a, b] = holders(s, keySeed);
          try {
            for (const [payload, mid, fromA] of messages) {
              const [tx, rx] = fromA ? [a, b] : [b, a];
              const ct = tx.encrypt(mid, payload);
              const d = rx.decrypt(mid, ct);
              assert.ok(d.ok);
              assert.deepEqual(d.plaintext.subarray(0, payload.length), Buffer.from(payload));
              assert.ok(d.plaintext.length > payload.length && d.plaintext.subarray(payload.length).every((x) => x === 0));
              d.commit();
            }
          } finally {
            a.destroy();
            b.destroy();
          }
        },
      ),
      { numRuns: 60, interruptAfterTimeLimit: 4000 },
    );
  });

  it("decrypt() of arbitrary peer bytes returns a value and never throws", () => {
    const [a, b] = holders(6, 1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, mid) => {
        const d = a.decrypt(mid, bytes);
        if (d.ok) d.discard();
        else assert.equal(d.code, "IKE_ERR_DECRYPT_LENGTH");
        assert.equal(d.ok, bytes.length > 0 && bytes.length % 16 === 0);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 3000 },
    );
    a.destroy();
    b.destroy();
  });
});
