/**
 * Strict, bounds-checked DER reader (ITU-T X.690 §8, §10) for certificates, CRLs and names.
 *
 * Only what X.509 needs: low tag numbers (< 31), definite lengths in minimal form, at most 4 length
 * octets, no indefinite lengths (BER) and no trailing bytes. Every element is a view into the input
 * (no copies), so a certificate's TBS bytes can be handed to a signature check exactly as received.
 * Malformed input throws `DerError`; the parse entry points of src/pki catch it at their boundary
 * and return a `PkiResult`, so peer bytes never escape as an exception.
 */

/** A malformed encoding (caught by the parsers in src/pki). */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** Universal tags used in X.509 (X.680 §8.6). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  UniversalString: 0x1c,
  BMPString: 0x1e,
} as const;

/** Context-specific tag byte: `[n]` constructed (EXPLICIT or constructed IMPLICIT) or primitive. */
export const ctx = (n: number, constructed: boolean): number => 0x80 | (constructed ? 0x20 : 0) | n;

/** One element: its identifier byte, its whole encoding and its contents. */
export interface Tlv {
  readonly tag: number;
  /** The whole element (identifier, length, contents). */
  readonly der: Buffer;
  /** The contents octets. */
  readonly value: Buffer;
}

/** Deepest nesting the reader follows (X.509 needs about 10; this bounds hostile input). */
const MAX_DEPTH = 32;

/** Reads the element at `offset` of `buf`; returns it and the offset after it. */
export function readTlv(buf: Buffer, offset = 0): { tlv: Tlv; next: number } {
  if (offset + 2 > buf.length) throw new DerError(`truncated element at ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at ${offset}`);
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at ${offset}`);
    if (n > 4) throw new DerError(`length of ${n} octets at ${offset}`);
    if (pos + n > buf.length) throw new DerError(`truncated length at ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    // DER: the shortest form, so no leading zero octet and no long form below 128.
    if (buf[pos] === 0 || len < 0x80) throw new DerError(`non-minimal length at ${offset}`);
    pos += n;
  }
  if (pos + len > buf.length) throw new DerError(`element at ${offset} runs past its container (${len} bytes)`);
  return { tlv: { tag, der: buf.subarray(offset, pos + len), value: buf.subarray(pos, pos + len) }, next: pos + len };
}

/** Parses `buf` as exactly one element (no trailing bytes). */
export function parseDer(buf: Buffer, expectTag?: number): Tlv {
  const { tlv, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError(`${buf.length - next} bytes after the element`);
  if (expectTag !== undefined) expect(tlv, expectTag, "element");
  return tlv;
}

/** The elements inside a constructed element, in order, consuming it exactly. */
export function children(t: Tlv, depth = 0): Tlv[] {
  if ((t.tag & 0x20) === 0) throw new DerError(`tag 0x${t.tag.toString(16)} is not constructed`);
  if (depth > MAX_DEPTH) throw new DerError("nesting too deep");
  const out: Tlv[] = [];
  for (let pos = 0; pos < t.value.length; ) {
    const { tlv, next } = readTlv(t.value, pos);
    out.push(tlv);
    pos = next;
  }
  return out;
}

/** Throws unless `t` has tag `tag`. */
export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined) throw new DerError(`${what} missing`);
  if (t.tag !== tag) throw new DerError(`${what}: tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t;
}

/** A SEQUENCE's (or SET's) members, after checking the tag. */
export function seq(t: Tlv | undefined, what: string, tag: number = Tag.SEQUENCE): Tlv[] {
  return children(expect(t, tag, what));
}

/** INTEGER contents (two's complement, minimal); returned as the raw bytes. */
export function integerBytes(t: Tlv | undefined, what: string): Buffer {
  const v = expect(t, Tag.INTEGER, what).value;
  if (v.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if (v.length > 1 && ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
    throw new DerError(`${what}: non-minimal INTEGER`);
  }
  return v;
}

/** A small non-negative INTEGER as a number. */
export function smallInt(t: Tlv | undefined, what: string): number {
  const v = integerBytes(t, what);
  if ((v[0]! & 0x80) !== 0 || v.length > 6) throw new DerError(`${what}: out of range`);
  return v.reduce((n, b) => n * 256 + b, 0);
}

/** BOOLEAN (DER: 0x00 or 0xff only). */
export function boolean(t: Tlv | undefined, what: string): boolean {
  const v = expect(t, Tag.BOOLEAN, what).value;
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new DerError(`${what}: bad BOOLEAN`);
  return v[0] === 0xff;
}

/** OBJECT IDENTIFIER in dotted form. */
export function oid(t: Tlv | undefined, what: string): string {
  const v = expect(t, Tag.OID, what).value;
  if (v.length === 0 || v.length > 64 || (v[v.length - 1]! & 0x80) !== 0) throw new DerError(`${what}: bad OID`);
  const arcs: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (n === 0 && b === 0x80) throw new DerError(`${what}: non-minimal OID arc`);
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 256) throw new DerError(`${what}: OID arc too large`);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    }
  }
  return arcs.join(".");
}

/** BIT STRING contents without the unused-bits octet; `unused` says how many trailing bits are padding. */
export function bitString(t: Tlv | undefined, what: string): { bytes: Buffer; unused: number } {
  const v = expect(t, Tag.BIT_STRING, what).value;
  if (v.length === 0 || v[0]! > 7 || (v.length === 1 && v[0] !== 0)) throw new DerError(`${what}: bad BIT STRING`);
  const unused = v[0]!;
  const bytes = v.subarray(1);
  if (unused > 0 && (bytes[bytes.length - 1]! & ((1 << unused) - 1)) !== 0) throw new DerError(`${what}: padding bits set`);
  return { bytes, unused };
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), RFC 5280 §4.1.2.5; milliseconds since the epoch. */
export function time(t: Tlv | undefined, what: string): number {
  if (t === undefined) throw new DerError(`${what} missing`);
  const s = t.value.toString("latin1");
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === Tag.UTCTime && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === Tag.GeneralizedTime && (m = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    year = Number(m[1]);
  } else throw new DerError(`${what}: bad time`);
  const [mo, d, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m![i]));
  const ms = Date.UTC(year, mo! - 1, d!, h!, mi!, se!);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d! || h! > 23 || mi! > 59 || se! > 59) throw new DerError(`${what}: bad date`);
  return ms;
}

/** A directory string (X.520) or IA5String as text; unknown string types are refused. */
export function text(t: Tlv | undefined, what: string): string {
  if (t === undefined) throw new DerError(`${what} missing`);
  switch (t.tag) {
    case Tag.UTF8String:
      return t.value.toString("utf8");
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.T61String:
      return t.value.toString("latin1");
    case Tag.BMPString: {
      if (t.value.length % 2 !== 0) throw new DerError(`${what}: odd BMPString`);
      const le = Buffer.from(t.value);
      le.swap16();
      return le.toString("utf16le");
    }
    case Tag.UniversalString: {
      if (t.value.length % 4 !== 0) throw new DerError(`${what}: bad UniversalString`);
      let out = "";
      for (let i = 0; i < t.value.length; i += 4) out += String.fromCodePoint(t.value.readUInt32BE(i));
      return out;
    }
    default:
      throw new DerError(`${what}: unsupported string tag 0x${t.tag.toString(16)}`);
  }
}
