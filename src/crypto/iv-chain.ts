/**
 * CBC IV state of one ISAKMP SA (RFC 2409 appendix B): each exchange chains its own IVs.
 *
 * - Phase 1 (message ID 0) starts from hash(g^xi | g^xr); every later Phase 1 message uses the
 *   last ciphertext block of the previous one.
 * - A Quick Mode or Informational exchange (message ID m != 0) starts from
 *   hash(last Phase 1 CBC block | m) and then chains the same way within that exchange.
 *
 * IVs are derived from public values (g^x, ciphertext), so they live in normal memory. The table
 * is bounded: past `maxExchanges` message IDs the oldest non-zero one is dropped (an exchange that
 * old has long timed out).
 */
import type { HashInfo } from "./algorithms.js";
import { phase2Iv } from "./kdf.js";

/** Per-message-ID IVs of one ISAKMP SA. */
export class IvChain {
  readonly #ivs = new Map<number, Buffer>();
  readonly #hash: HashInfo;
  readonly #blockSize: number;
  readonly #maxExchanges: number;

  /** Starts the chain at the Phase 1 IV (`initialIv`, one block). */
  constructor(hash: HashInfo, blockSize: number, initialIv: Uint8Array, maxExchanges = 64) {
    this.#hash = hash;
    this.#blockSize = blockSize;
    this.#maxExchanges = maxExchanges;
    this.#ivs.set(0, Buffer.from(initialIv));
  }

  /** The IV the next message with `messageId` is en/decrypted with (a copy). */
  current(messageId: number): Buffer {
    const mid = messageId >>> 0;
    const iv = this.#ivs.get(mid);
    if (iv) return Buffer.from(iv);
    return phase2Iv(this.#hash, this.#phase1Block(), mid, this.#blockSize);
  }

  /** Advances the chain of `messageId` past a message whose ciphertext is `ciphertext`. */
  advance(messageId: number, ciphertext: Uint8Array): void {
    const mid = messageId >>> 0;
    const last = Buffer.from(ciphertext.subarray(ciphertext.length - this.#blockSize));
    this.#ivs.delete(mid);
    this.#ivs.set(mid, last);
    if (this.#ivs.size > this.#maxExchanges) {
      for (const key of this.#ivs.keys()) {
        if (key !== 0) {
          this.#ivs.delete(key);
          break;
        }
      }
    }
  }

  /** Forgets the IV of a finished exchange (never Phase 1's: later exchanges derive from it). */
  end(messageId: number): void {
    const mid = messageId >>> 0;
    if (mid !== 0) this.#ivs.delete(mid);
  }

  /** Number of exchanges with IV state, Phase 1 included. */
  get size(): number {
    return this.#ivs.size;
  }

  #phase1Block(): Buffer {
    const iv = this.#ivs.get(0);
    if (!iv) throw new Error("IvChain invariant: Phase 1 IV missing");
    return iv;
  }
}
