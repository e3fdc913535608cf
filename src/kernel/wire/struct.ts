/**
 * The one engine behind every kernel structure the PF_KEY and XFRM codecs read and write (STYLE §3.1
 * applied to the kernel ABI): a structure is an ordered list of field descriptors, and offsets, the
 * padding C inserts for alignment, the size and the alignment of the whole follow from that list as
 * the C compiler lays it out on Linux (natural alignment; `packed` structures have none, as
 * `<linux/pfkeyv2.h>` declares them). No structure computes an offset by hand.
 *
 * Field kinds: `u8 u16 u32 i32 u64` in host byte order (what the kernel ABI uses; u64 decodes to a
 * bigint), `be16 be32` in network byte order (ports, SPIs), `bytes(n)` (a view of n bytes),
 * `pad(n)` (explicit reserved bytes: written as zero, ignored on read, as the kernel does not promise
 * to clear them), and `nested(struct)`.
 *
 * `decode()` expects `size` bytes at the offset (callers check with `fits()` first, so this layer
 * never sees short input) and returns views into the buffer for byte fields: copy what outlives the
 * datagram. `encode()` writes every byte of the structure, padding included.
 */
import { endianness } from "node:os";

const LE = endianness() === "LE";

type Kind = "u8" | "u16" | "u32" | "i32" | "u64" | "be16" | "be32" | "bytes" | "pad" | "nested";

/** One field descriptor. */
export interface FieldSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly size: number;
  readonly align: number;
  readonly struct?: Struct<unknown>;
}

/** A laid-out field. */
export interface LaidField extends FieldSpec {
  readonly offset: number;
}

/** A structure layout with its codec. */
export interface Struct<T> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly fields: readonly LaidField[];
  /** Whether `size` bytes are there at `offset`. */
  fits(buf: Uint8Array, offset?: number): boolean;
  decode(buf: Buffer, offset?: number): T;
  /** Writes `value` at `offset` of `out` (a new zeroed Buffer of `size` bytes by default). */
  encode(value: T, out?: Buffer, offset?: number): Buffer;
}

const field = (name: string, kind: Kind, size: number, align: number): FieldSpec => ({ name, kind, size, align });
/** Unsigned 8-bit. */
export const u8 = (name: string): FieldSpec => field(name, "u8", 1, 1);
/** Unsigned 16-bit, host order. */
export const u16 = (name: string): FieldSpec => field(name, "u16", 2, 2);
/** Unsigned 32-bit, host order. */
export const u32 = (name: string): FieldSpec => field(name, "u32", 4, 4);
/** Signed 32-bit, host order (netlink error numbers, interface indexes). */
export const i32 = (name: string): FieldSpec => field(name, "i32", 4, 4);
/** Unsigned 64-bit, host order, as a bigint. */
export const u64 = (name: string): FieldSpec => field(name, "u64", 8, 8);
/** Unsigned 16-bit, network order. */
export const be16 = (name: string): FieldSpec => field(name, "be16", 2, 2);
/** Unsigned 32-bit, network order. */
export const be32 = (name: string): FieldSpec => field(name, "be32", 4, 4);
/** `n` bytes, as a view; `align` for unions such as `xfrm_address_t` (4). */
export const bytes = (name: string, n: number, align = 1): FieldSpec => field(name, "bytes", n, align);
/** `n` reserved bytes, aligned like a C field of that alignment (`__u16 reserved` is `pad(2, 2)`). */
export const pad = (n: number, align = 1): FieldSpec => field("", "pad", n, align);
/** A nested structure. */
export const nested = (name: string, s: Struct<unknown>): FieldSpec => ({ name, kind: "nested", size: s.size, align: s.align, struct: s });

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Lays out `fields` as C does and returns the structure's codec. */
export function struct<T>(name: string, specs: readonly FieldSpec[], options: { packed?: boolean } = {}): Struct<T> {
  const fields: LaidField[] = [];
  let offset = 0;
  let align = 1;
  for (const f of specs) {
    const a = options.packed === true ? 1 : f.align;
    offset = roundUp(offset, a);
    fields.push({ ...f, offset });
    offset += f.size;
    align = Math.max(align, a);
  }
  const size = roundUp(offset, align);
  const s: Struct<T> = {
    name,
    size,
    align,
    fields,
    fits: (buf, off = 0) => off >= 0 && buf.length - off >= size,
    decode: (buf, off = 0) => decodeFields(fields, buf, off) as T,
    encode: (value, out = Buffer.alloc(size), off = 0) => {
      out.fill(0, off, off + size);
      encodeFields(fields, value as Record<string, unknown>, out, off, name);
      return out;
    },
  };
  return s;
}

function decodeFields(fields: readonly LaidField[], buf: Buffer, base: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const at = base + f.offset;
    switch (f.kind) {
      case "u8":
        out[f.name] = buf[at]!;
        break;
      case "u16":
        out[f.name] = LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
        break;
      case "u32":
        out[f.name] = LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
        break;
      case "i32":
        out[f.name] = LE ? buf.readInt32LE(at) : buf.readInt32BE(at);
        break;
      case "u64":
        out[f.name] = LE ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
        break;
      case "be16":
        out[f.name] = buf.readUInt16BE(at);
        break;
      case "be32":
        out[f.name] = buf.readUInt32BE(at);
        break;
      case "bytes":
        out[f.name] = buf.subarray(at, at + f.size);
        break;
      case "pad":
        break;
      case "nested":
        out[f.name] = f.struct!.decode(buf, at);
        break;
      default: {
        const never: never = f.kind;
        throw new Error(`unknown field kind ${String(never)}`);
      }
    }
  }
  return out;
}

function encodeFields(fields: readonly LaidField[], v: Record<string, unknown>, out: Buffer, base: number, where: string): void {
  for (const f of fields) {
    const at = base + f.offset;
    const x = v[f.name];
    const num = (): number => {
      // A value the field cannot hold is a bug of ours (encoders get checked values), never peer input.
      if (typeof x !== "number" || !Number.isInteger(x)) throw new TypeError(`${where}.${f.name}: not an integer`);
      return x;
    };
    switch (f.kind) {
      case "u8":
        out.writeUInt8(num(), at);
        break;
      case "u16":
        if (LE) out.writeUInt16LE(num(), at);
        else out.writeUInt16BE(num(), at);
        break;
      case "u32":
        if (LE) out.writeUInt32LE(num(), at);
        else out.writeUInt32BE(num(), at);
        break;
      case "i32":
        if (LE) out.writeInt32LE(num(), at);
        else out.writeInt32BE(num(), at);
        break;
      case "u64": {
        const b = typeof x === "bigint" ? x : BigInt(num());
        if (LE) out.writeBigUInt64LE(b, at);
        else out.writeBigUInt64BE(b, at);
        break;
      }
      case "be16":
        out.writeUInt16BE(num(), at);
        break;
      case "be32":
        out.writeUInt32BE(num(), at);
        break;
      case "bytes": {
        if (!(x instanceof Uint8Array) || x.length > f.size) throw new TypeError(`${where}.${f.name}: not at most ${f.size} bytes`);
        out.set(x, at);
        break;
      }
      case "pad":
        break;
      case "nested":
        f.struct!.encode(x as never, out, at);
        break;
      default: {
        const never: never = f.kind;
        throw new Error(`unknown field kind ${String(never)}`);
      }
    }
  }
}
