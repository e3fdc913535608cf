/**
 * DER encoding (X.690 §10) of the few element kinds certificates, requests and CRLs are built from;
 * used by ikecert to make self-signed certificates and PKCS#10 requests (RSA and DSA alike, which
 * node-forge cannot: it builds RSA only).
 */
import { Tag } from "./der.js";

/** An element with tag `tag` around `contents`. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let head: Buffer;
  if (n < 0x80) head = Buffer.from([tag, n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    head = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([head, body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(Tag.SEQUENCE, ...items);

/** SET OF, members sorted by their encodings as DER requires (X.690 §11.6). */
export const setOf = (...items: Buffer[]): Buffer => tlv(Tag.SET, ...[...items].sort(Buffer.compare));

export const nullValue = (): Buffer => Buffer.from([Tag.NULL, 0]);

export const bool = (v: boolean): Buffer => tlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0]));

/** INTEGER from unsigned magnitude bytes (a 0x00 is prepended when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(Tag.INTEGER, (m[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

export const smallInteger = (n: number): Buffer => {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Buffer.from(bytes.length ? bytes : [0]));
};

/** OBJECT IDENTIFIER from dotted form. */
export function oidValue(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const first = arcs[0]! * 40 + arcs[1]!;
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(Tag.OID, Buffer.from(out));
}

export const octetString = (b: Buffer): Buffer => tlv(Tag.OCTET_STRING, b);

/** BIT STRING of whole bytes (no unused bits). */
export const bitStringBytes = (b: Buffer): Buffer => tlv(Tag.BIT_STRING, Buffer.from([0]), b);

/** BIT STRING of named bits (bit 0 is the top bit of the first byte), trailing zero bits trimmed (X.690 §11.2.2). */
export function namedBits(bits: readonly number[]): Buffer {
  const top = bits.length === 0 ? -1 : Math.max(...bits);
  if (top < 0) return tlv(Tag.BIT_STRING, Buffer.from([0]));
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return tlv(Tag.BIT_STRING, Buffer.from([7 - (top % 8)]), bytes);
}

export const utf8 = (s: string): Buffer => tlv(Tag.UTF8String, Buffer.from(s, "utf8"));
export const printable = (s: string): Buffer => tlv(Tag.PrintableString, Buffer.from(s, "latin1"));
export const ia5 = (s: string): Buffer => tlv(Tag.IA5String, Buffer.from(s, "latin1"));

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function timeValue(ms: number): Buffer {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y >= 1950 && y < 2050) return tlv(Tag.UTCTime, Buffer.from(`${p(y % 100)}${rest}`, "latin1"));
  return tlv(Tag.GeneralizedTime, Buffer.from(`${p(y, 4)}${rest}`, "latin1"));
}

/** `[n]` with contents: EXPLICIT (constructed around an element) or IMPLICIT primitive. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
export const implicitPrimitive = (n: number, value: Buffer): Buffer => tlv(0x80 | n, value);
export const implicitConstructed = (n: number, ...inner: Buffer[]): Buffer => tlv(0xa0 | n, ...inner);
