/**
 * Reading data attributes (RFC 2408 §3.3) once decoded: a TLV attribute's value is a big-endian
 * number of any length (Life Duration is often sent as 4 bytes), a TV one a 16-bit number.
 */
import type { DataAttribute } from "../fields.js";

/**
 * The numeric value of an attribute: TV as is, TLV as a big-endian unsigned number, or undefined
 * when a TLV value is empty or longer than 6 bytes (beyond exact JavaScript integers).
 */
export function attributeNumber(a: DataAttribute): number | undefined {
  if (a.format === "tv") return a.value;
  const b = a.value;
  if (b.length === 0 || b.length > 6) return undefined;
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
  return n;
}

/** The first attribute of `type`, if any. */
export function findAttribute(attrs: readonly DataAttribute[], type: number): DataAttribute | undefined {
  for (const a of attrs) if (a.type === type) return a;
  return undefined;
}

/**
 * Builds an attribute of a variable (class V) type in its shortest form: TV when the value fits in
 * 16 bits, else a 4-byte TLV (the form strongSwan and racoon send for long lifetimes).
 */
export function variableAttribute(type: number, value: number): DataAttribute {
  if (value <= 0xffff) return { format: "tv", type, value };
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return { format: "tlv", type, value: b };
}
