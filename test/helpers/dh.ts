/**
 * Diffie-Hellman ports for tests and tools without a crypto pool: {@link inlineDh} computes on the
 * calling thread (what a pool of size 0 does), {@link deterministicDh} takes its private values from
 * the test so exchanges replay byte for byte. Agreement is always the real computation.
 */
import { dhAgree, dhGenerate, dhGenerateAndAgree, dhPublicFromPrivate } from "../../src/crypto/dh.js";
import type { TaskResult } from "../../src/crypto/tasks.js";
import type { DhPort } from "../../src/ike/ports.js";

/** A synchronous DH result as the pool would return it (its error without the stack). */
function asTask<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): TaskResult<T> {
  return r.ok ? r : ({ ok: false, error: { code: r.error.code, message: r.error.message } } as TaskResult<T>);
}

/** DH on the calling thread (what a pool of size 0 does), for tools and tests without a pool. */
export const inlineDh: DhPort = {
  async dhGenerate(group) {
    return asTask(dhGenerate(group));
  },
  async dhAgree(group, privateValue, peerPublic) {
    return asTask(dhAgree(group, privateValue, peerPublic));
  },
  async dhGenerateAndAgree(group, peerPublic) {
    return asTask(dhGenerateAndAgree(group, peerPublic));
  },
};

/**
 * A {@link DhPort} whose private values come from `privateOf(group, n)` (n counts calls), for
 * tests that need reproducible exchanges; agreement is the real computation.
 */
export function deterministicDh(privateOf: (group: number, n: number) => Buffer): DhPort {
  let n = 0;
  return {
    async dhGenerate(group) {
      const privateValue = privateOf(group, n++);
      const pub = dhPublicFromPrivate(group, privateValue);
      if (!pub.ok) return asTask(pub);
      return { ok: true, value: { publicValue: pub.value, privateValue: Buffer.from(privateValue) } };
    },
    async dhAgree(group, privateValue, peerPublic) {
      return asTask(dhAgree(group, privateValue, peerPublic));
    },
    async dhGenerateAndAgree(group, peerPublic) {
      const privateValue = privateOf(group, n++);
      return asTask(dhGenerateAndAgree(group, peerPublic, privateValue));
    },
  };
}
