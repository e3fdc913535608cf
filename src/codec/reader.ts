/**
 * A bounded reader over one region of a datagram (STYLE §3.2). It knows its end and cannot read past
 * it: a read that does not fit returns -1 (numbers) or `undefined` (bytes) and moves nothing, so a
 * caller's bounds check can never be skipped into an exception. Buffers it returns are views.
 */
export class Reader {
  /** Current position, an absolute index into `buf`. */
  pos: number;

  /**
   * @param buf the whole datagram (or decrypted body)
   * @param start absolute index of the region's first byte
   * @param end absolute index one past the region's last byte (clamped to `buf.length`)
   */
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
    if (this.end > buf.length) this.end = buf.length;
  }

  /** Bytes left before the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Reads one octet, or -1 if none is left. */
  u8(): number {
    const p = this.pos;
    if (p + 1 > this.end) return -1;
    this.pos = p + 1;
    return this.buf[p]!;
  }

  /** Reads a big-endian 16-bit number, or -1 if fewer than 2 bytes are left. */
  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) return -1;
    const b = this.buf;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  /** Reads a big-endian 32-bit unsigned number, or -1 if fewer than 4 bytes are left. */
  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) return -1;
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!));
  }

  /** A view of the next `n` bytes, or `undefined` if fewer are left. */
  bytes(n: number): Buffer | undefined {
    const p = this.pos;
    if (n < 0 || p + n > this.end) return undefined;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }
}
