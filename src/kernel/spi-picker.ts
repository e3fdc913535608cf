/**
 * Random SPI choice for GETSPI (RFC 2367 §3.1.1: the kernel picks an SPI from the requested range
 * that no SA to the same destination uses). Random draws first, as unpredictable SPIs make blind
 * spoofing harder; if the range is crowded, a scan from a random start.
 */
import { randomFillSync } from "node:crypto";

/** Picks free SPIs; randomness comes from a pooled buffer, one CSPRNG call per 1024 picks. */
export class SpiPicker {
  readonly #pool = Buffer.alloc(4096);
  #at = 4096;

  /**
   * A value in min..max for which `taken` is false, or null when there is none. `used` bounds how
   * many values can be taken (the SADB size), so the scan never runs longer than `used + 1` steps.
   */
  pick(min: number, max: number, used: number, taken: (spi: number) => boolean): number | null {
    const span = max - min + 1;
    for (let i = 0; i < 8; i++) {
      const spi = min + (this.#random32() % span);
      if (!taken(spi)) return spi;
    }
    const start = this.#random32() % span;
    const tries = Math.min(span, used + 1);
    for (let i = 0; i < tries; i++) {
      const spi = min + ((start + i) % span);
      if (!taken(spi)) return spi;
    }
    return null;
  }

  #random32(): number {
    if (this.#at >= this.#pool.length) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    const v = this.#pool.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }
}
