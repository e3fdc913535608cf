/**
 * Properties of the key holder over generated inputs (fast-check, time-bounded; the seed is
 * printed on failure): encrypt/decrypt round-trips for every suite, payload length and message ID,
 * and arbitrary ciphertext from a peer never makes decrypt() throw.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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

function holders(suiteIndex: number): [Phase1Keymat, Phase1Keymat] {
  const suite = SUITES[suiteIndex]!;
  const x: Phase1Exchange = {
    icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(16), nonceR: randomBytes(16),
    gxi: randomBytes(96), gxr: randomBytes(96),
  };
  const gxy = randomBytes(96);
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
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.boolean()), { minLength: 1, maxLength: 8 }),
        (s, messages) => {
          const [a, b] = holders(s);
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
    const [a, b] = holders(6);
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
