/**
 * A growable big-endian writer for the encoder. Encoding our own values is not hostile input: a value
 * out of its field's range is a programming error and throws a RangeError (an invariant, STYLE §7).
 */
export class Writer {
  private buf: Buffer;
  /** Bytes written so far. */
  pos = 0;

  constructor(initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Writes one octet. */
  u8(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`u8 out of range: ${v}`);
    this.room(1);
    this.buf[this.pos++] = v;
  }

  /** Writes a big-endian 16-bit number. */
  u16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`u16 out of range: ${v}`);
    this.room(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  /** Writes a big-endian 32-bit unsigned number. */
  u32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    this.room(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** Writes `n` zero octets. */
  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Copies `b` in. */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Overwrites a 16-bit number already written at `at` (payload lengths are known only afterwards). */
  patchU16(at: number, v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`length out of range: ${v}`);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }

  /** Overwrites a 32-bit number already written at `at`. */
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v, at);
  }

  /** A fresh copy of the bytes written (the writer may be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
