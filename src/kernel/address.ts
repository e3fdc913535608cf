/**
 * IP address literals for the kernel boundary and IPsec policy selection: parse to bytes, print in one
 * canonical form (RFC 5952 for IPv6), and match prefixes.
 *
 * Canonical text matters because the SADB indexes SAs by (dst, proto, spi): "::1" and
 * "0:0:0:0:0:0:0:1" must name the same SA. Parsing never throws; it returns `null` on bad input.
 */
import { isIPv4, isIPv6 } from "node:net";

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type AddressBytes = Uint8Array;

/** An address prefix (`10.0.0.0/8`); `bytes` has the host bits cleared. */
export interface Prefix {
  readonly family: 4 | 6;
  readonly bytes: AddressBytes;
  readonly length: number;
}

/** Parses an IPv4 dotted quad or an IPv6 literal (no zone id) into bytes, or `null`. */
export function parseAddress(text: string): AddressBytes | null {
  if (isIPv4(text)) {
    const out = new Uint8Array(4);
    const parts = text.split(".");
    for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
    return out;
  }
  if (!isIPv6(text) || text.includes("%")) return null;
  return parseIPv6(text);
}

function parseIPv6(text: string): AddressBytes | null {
  const out = new Uint8Array(16);
  let body = text;
  // An embedded dotted quad (::ffff:1.2.3.4) fills the last 32 bits.
  const lastColon = body.lastIndexOf(":");
  const tail = body.slice(lastColon + 1);
  let words: number[] = [];
  let v4: AddressBytes | null = null;
  if (tail.includes(".")) {
    v4 = parseAddress(tail);
    if (v4 === null || v4.length !== 4) return null;
    body = body.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const rest = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  words = [...head.map((w) => parseInt(w, 16)), ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest.map((w) => parseInt(w, 16))];
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  }
  if (v4 !== null) out.set(v4, 12);
  return out;
}

/** Prints bytes as text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatAddress(bytes: AddressBytes): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero word is not compressed
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** The canonical text of an address literal, or `null` when it is not one. */
export function canonicalAddress(text: string): string | null {
  // Fast path: a valid dotted quad is already canonical (isIPv4 refuses leading zeros).
  if (isIPv4(text)) return text;
  const bytes = parseAddress(text);
  return bytes === null ? null : formatAddress(bytes);
}

/** Address family of a literal: 4, 6, or 0 when it is not an address. */
export function addressFamily(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}

/** Builds a prefix from bytes and a length, clearing the host bits. `null` if the length is out of range. */
export function makePrefix(bytes: AddressBytes, length: number): Prefix | null {
  const bits = bytes.length * 8;
  if (!Number.isInteger(length) || length < 0 || length > bits) return null;
  const masked = new Uint8Array(bytes);
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    masked[i] = masked[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes: masked, length };
}

/** Parses `addr` or `addr/len` (a bare address is a host prefix), or `null`. */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf("/");
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (addr === null) return null;
  if (slash < 0) return makePrefix(addr, addr.length * 8);
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return null;
  return makePrefix(addr, Number(lenText));
}

/** Whether `addr` lies inside `prefix` (families must agree). */
export function prefixContains(prefix: Prefix, addr: AddressBytes): boolean {
  if (addr.length !== prefix.bytes.length) return false;
  let left = prefix.length;
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((addr[i]! & mask) !== prefix.bytes[i]) return false;
  }
  return true;
}

/** Whether every address of `inner` lies inside `outer`. */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.length <= inner.length && prefixContains(outer, inner.bytes);
}

/** `addr/len` text of a prefix. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.bytes)}/${prefix.length}`;
}
