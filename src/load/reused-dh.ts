/**
 * A load generator's Diffie-Hellman that reuses its own key pair: the first `dhGenerate` of a
 * group makes one pair in the pool; every later negotiation gets a copy of it, so the generator
 * does one modular exponentiation per exchange (g^xy) instead of two, and costs its target more
 * than itself. The target still sees a valid public value and does all of its own work; only the
 * generator's side of the key agreement is weakened, which a load tester may do (RFC 2409 lets an
 * implementation reuse its exponent across exchanges; section 5's PFS is not the point of a load
 * run). The report says whether a run reused its pairs (`--fresh-dh` turns this off).
 *
 * The cached private value lives in secure memory; each caller gets a copy it owns (the engine's
 * Keymat takes and wipes it). `close()` destroys the cache (a generation still running is waited
 * for). Its pages stay readable between uses (`protect: false`, src/crypto/secure.ts): every
 * negotiation reads it, and locking and unlocking them would cost two mprotect calls per
 * negotiation. A generator only initiates, so there is no `dhGenerateAndAgree` (a responder's
 * call would fall back to a reused pair as well).
 */
import type { DhKeyPair } from "../crypto/dh.js";
import type { AbortLike } from "../crypto/abort-like.js";
import { PoolErrorCode } from "../crypto/pool.js";
import { SecureBuffer } from "../crypto/secure.js";
import type { TaskResult } from "../crypto/task-types.js";
import type { DhPort } from "../ike/ports.js";

type Options = { readonly signal?: AbortLike };

interface Held {
  readonly publicValue: Buffer;
  readonly privateValue: SecureBuffer;
}

/** A DhPort over `inner` that hands out one key pair per group. */
export class ReusedDh implements DhPort {
  readonly #inner: DhPort;
  readonly #pairs = new Map<number, Promise<TaskResult<Held>>>();
  #generated = 0;

  constructor(inner: DhPort) {
    this.#inner = inner;
  }

  /** Key pairs actually generated (one per group unless a generation failed). */
  get generated(): number {
    return this.#generated;
  }

  dhGenerate(group: number, options?: Options): Promise<TaskResult<DhKeyPair>> {
    let held = this.#pairs.get(group);
    if (held === undefined) {
      // No signal: the pair outlives the negotiation that asked first.
      // A failed or rejected generation (a worker that died) is not kept: the next caller retries.
      const made: Promise<TaskResult<Held>> = this.#inner.dhGenerate(group).then(
        (r) => {
          if (!r.ok) {
            if (this.#pairs.get(group) === made) this.#pairs.delete(group);
            return r;
          }
          this.#generated++;
          return { ok: true, value: { publicValue: r.value.publicValue, privateValue: SecureBuffer.take(r.value.privateValue, { protect: false }) } };
        },
        (err: unknown) => {
          if (this.#pairs.get(group) === made) this.#pairs.delete(group);
          throw err;
        },
      );
      held = made;
      this.#pairs.set(group, held);
    }
    return held.then((r) => {
      if (!r.ok) return r;
      if (options?.signal?.aborted) return { ok: false, error: { code: PoolErrorCode.Aborted, message: "dhGenerate aborted" } };
      const privateValue = Buffer.alloc(r.value.privateValue.length);
      r.value.privateValue.use((x) => x.copy(privateValue));
      return { ok: true, value: { publicValue: Buffer.from(r.value.publicValue), privateValue } };
    });
  }

  dhAgree(group: number, privateValue: Uint8Array, peerPublic: Uint8Array, options?: Options): Promise<TaskResult<Buffer>> {
    return this.#inner.dhAgree(group, privateValue, peerPublic, options);
  }

  /** Destroy the cached private values. */
  async close(): Promise<void> {
    const all = [...this.#pairs.values()];
    this.#pairs.clear();
    // A generation that rejected has nothing to destroy; its caller got the rejection.
    for (const r of await Promise.allSettled(all)) if (r.status === "fulfilled" && r.value.ok) r.value.value.privateValue.destroy();
  }
}
