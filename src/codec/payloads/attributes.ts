/**
 * Reading and building data attributes (RFC 2408 §3.3): a TLV attribute's value is a big-endian
 * number of any length (Life Duration is often sent as 4 bytes), a TV one a 16-bit number.
 */
import type { DataAttribute } from "../fields.js";

/** Largest value an attribute quantity (a lifetime, a key length) takes here: 2^32-1. */
const MAX_QUANTITY = 0xffffffff;

/**
 * The numeric value of an attribute: TV as is, TLV as a big-endian unsigned number saturating at
 * 2^32-1 (a peer's 8-byte lifetime means "longer than we count"); an empty TLV reads 0.
 */
export function attributeNumber(a: DataAttribute): number {
  if (a.format === "tv") return a.value;
  let n = 0;
  for (const byte of a.value) {
    n = n * 256 + byte;
    if (n > MAX_QUANTITY) return MAX_QUANTITY;
  }
  return n;
}

/** The first attribute of `type`, if any. */
export function findAttribute(attrs: readonly DataAttribute[], type: number): DataAttribute | undefined {
  for (const a of attrs) if (a.type === type) return a;
  return undefined;
}

/**
 * Builds an attribute of a variable (class V) type in its shortest form: TV when the value fits in
 * 16 bits, else a 4-byte TLV (the form strongSwan and racoon send for long lifetimes); a value past
 * 32 bits saturates at 2^32-1.
 */
export function variableAttribute(type: number, value: number): DataAttribute {
  if (value <= 0xffff) return { format: "tv", type, value };
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Math.min(value, MAX_QUANTITY) >>> 0, 0);
  return { format: "tlv", type, value: b };
}
