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
  /**
   * The last Phase 1 CBC block (message ID 0), where every Phase 2 IV starts, held for the SA's
   * life as its bytes in a latin1 string (one character per byte, so exact): ~32 bytes of heap,
   * against ~330 for a Buffer of its own (the view, its ArrayBuffer and the backing store; a view
   * of Node's shared pool slab would keep the whole 8 KiB slab alive). IVs are public values.
   */
  #phase1: string;
  /**
   * IVs of the Phase 2 exchanges under way, made at the first (a held, idle SA has none), as latin1
   * strings too: a finished Quick Mode's stays until its linger ends (a minute), and a copy in
   * Node's shared pool slab would keep that whole 8 KiB slab alive so long.
   */
  #ivs: Map<number, string> | undefined;
  readonly #hash: HashInfo;
  readonly #blockSize: number;
  readonly #maxExchanges: number;

  /** Starts the chain at the Phase 1 IV (`initialIv`, one block). */
  constructor(hash: HashInfo, blockSize: number, initialIv: Uint8Array, maxExchanges = 64) {
    this.#hash = hash;
    this.#blockSize = blockSize;
    this.#maxExchanges = maxExchanges;
    this.#phase1 = latin1Of(initialIv);
  }

  /** The IV the next message with `messageId` is en/decrypted with (a copy). */
  current(messageId: number): Buffer {
    const mid = messageId >>> 0;
    if (mid === 0) return Buffer.from(this.#phase1, "latin1");
    const iv = this.#ivs?.get(mid);
    if (iv !== undefined) return Buffer.from(iv, "latin1");
    return phase2Iv(this.#hash, Buffer.from(this.#phase1, "latin1"), mid, this.#blockSize);
  }

  /** Advances the chain of `messageId` past a message whose ciphertext is `ciphertext`. */
  advance(messageId: number, ciphertext: Uint8Array): void {
    const mid = messageId >>> 0;
    const last = ciphertext.subarray(ciphertext.length - this.#blockSize);
    if (mid === 0) {
      this.#phase1 = latin1Of(last);
      return;
    }
    const ivs = (this.#ivs ??= new Map());
    ivs.delete(mid);
    ivs.set(mid, latin1Of(last));
    if (1 + ivs.size > this.#maxExchanges) {
      for (const key of ivs.keys()) {
        ivs.delete(key);
        break;
      }
    }
  }

  /** Forgets the IV of a finished exchange (never Phase 1's: later exchanges derive from it). */
  end(messageId: number): void {
    const mid = messageId >>> 0;
    if (mid === 0 || this.#ivs === undefined) return;
    this.#ivs.delete(mid);
    if (this.#ivs.size === 0) this.#ivs = undefined;
  }

  /** Number of exchanges with IV state, Phase 1 included. */
  get size(): number {
    return 1 + (this.#ivs?.size ?? 0);
  }
}

/** The bytes of `b` as a latin1 string (one character per byte: exact, and no copy of the bytes first). */
function latin1Of(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}
