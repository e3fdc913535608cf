/**
 * Random bytes for public protocol values (nonces, message IDs, DPD sequence numbers) drawn from a
 * buffer refilled by one CSPRNG call (`randomFillSync`) per 4 KiB, as the SADB's SPI picker does
 * (src/kernel/spi-picker.ts): a `randomBytes` call costs ~1.5 us on the main thread whatever its
 * length, several per negotiation. Each value is a copy of its own (no view of the pool, no share of
 * Node's Buffer slab), and the pool's bytes are zeroed once handed out, so no value is given twice.
 * Not for secrets: keys and the cookie secret keep their own sources.
 */
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;

/** A `random(n)` that draws from a pool of its own; values longer than a quarter of it come straight from the CSPRNG. */
export function pooledRandom(poolBytes = POOL_BYTES): (n: number) => Buffer {
  const pool = Buffer.alloc(poolBytes);
  let at = poolBytes;
  return (n: number): Buffer => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`random: length ${n}`);
    const out = Buffer.alloc(n);
    if (n > poolBytes / 4) return randomFillSync(out);
    if (at + n > poolBytes) {
      randomFillSync(pool);
      at = 0;
    }
    pool.copy(out, 0, at, at + n);
    pool.fill(0, at, at + n);
    at += n;
    return out;
  };
}
