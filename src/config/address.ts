/**
 * The `IPaddr/prefix/range` forms of ike.config (reference §1) and the IP identities of
 * ike.preshared: a numeric IPv4 or IPv6 literal, optionally `/N` (prefix length, a C integer),
 * `/ADDR` (a contiguous netmask, stored as its prefix length) or `-ADDR` (inclusive range end).
 * Host names are refused: the original grammar has none and parsing never does DNS.
 */
import { isIPv6 } from "node:net";
import { parseCInteger } from "./numbers.js";
import type { AddressSpec, Family } from "./types.js";

/** A parsed IP address as a number. */
export interface IpValue {
  readonly family: Family;
  readonly value: bigint;
}

/** Inclusive numeric bounds of an address spec. */
export interface AddressBounds {
  readonly family: Family;
  readonly lo: bigint;
  readonly hi: bigint;
}

const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

/**
 * A dotted quad as `net.isIPv4` takes it (four parts 0-255, no leading zeros) as a number, or -1.
 * One pass over the characters: the responder looks a rule up for every MM1 of a flood.
 */
function dottedQuad(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a final "." closes the last part
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      if (c < 0x30 || c > 0x39 || (digits === 1 && part === 0)) return -1;
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Parses a numeric IPv4/IPv6 literal (no zone ids, no host names); `undefined` otherwise. */
export function parseIp(text: string): IpValue | undefined {
  if (text.length > 64) return undefined;
  const v4 = dottedQuad(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  if (!isIPv6(text) || text.includes("%")) return undefined;
  let s = text;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    // Embedded dotted quad (::ffff:192.0.2.1): rewrite it as the two hex groups it stands for.
    const v4 = parseIp(s.slice(lastColon + 1));
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4.value >> 16n).toString(16)}:${(v4.value & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.includes("::") ? s.split("::", 2) : [s, undefined];
  const hexGroups = (part: string | undefined): bigint[] =>
    part === undefined || part === "" ? [] : part.split(":").map((g) => BigInt(parseInt(g, 16)));
  const h = hexGroups(head);
  const r = hexGroups(rest);
  const fill = 8 - h.length - r.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return undefined;
  const groups = [...h, ...Array<bigint>(fill).fill(0n), ...r];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | g;
  return { family: 6, value: v };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** Result of parsing an address spec: the spec, or a message saying what is wrong. */
export type AddressParse =
  | { readonly ok: true; readonly spec: AddressSpec }
  | { readonly ok: false; readonly code: string; readonly message: string };

const bad = (code: string, message: string): AddressParse => ({ ok: false, code, message });

/** Prefix length of a contiguous netmask, or `undefined` if the mask has holes. */
function maskToPrefix(family: Family, mask: bigint): number | undefined {
  const bits = bitsOf(family);
  for (let len = 0; len <= bits; len++) {
    const m = ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
    if (m === mask) return len;
  }
  return undefined;
}

/**
 * Parses `addr`, `addr/N`, `addr/MASK` or `addr-addr` (spaces already removed) into a spec
 * with canonical address text. Errors use `IKE_ERR_CFG_BAD_ADDRESS` / `IKE_ERR_CFG_BAD_RANGE`.
 */
export function parseAddressSpec(text: string): AddressParse {
  const slash = text.indexOf("/");
  const dash = text.indexOf("-");
  if (slash >= 0 && dash >= 0) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(text)}' mixes a prefix and a range`);
  if (slash >= 0) {
    const base = parseIp(text.slice(0, slash));
    if (!base) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(text.slice(0, slash))}' is not a numeric IP address`);
    const after = text.slice(slash + 1);
    let prefixLen: number | undefined;
    if (after.includes(".") || after.includes(":")) {
      const mask = parseIp(after);
      if (!mask || mask.family !== base.family) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(after)}' is not a netmask of the same family`);
      prefixLen = maskToPrefix(base.family, mask.value);
      if (prefixLen === undefined) return bad("IKE_ERR_CFG_BAD_ADDRESS", `netmask '${clip(after)}' is not contiguous`);
    } else if (after === "") {
      return bad("IKE_ERR_CFG_BAD_ADDRESS", `a prefix length or netmask must follow '/'`);
    } else {
      prefixLen = parseCInteger(after);
      if (prefixLen === undefined || prefixLen > bitsOf(base.family)) {
        return bad("IKE_ERR_CFG_BAD_ADDRESS", `prefix length '${clip(after)}' is not a number from 0 to ${bitsOf(base.family)}`);
      }
    }
    return { ok: true, spec: { kind: "prefix", family: base.family, addr: formatIp(base.family, base.value), prefixLen } };
  }
  if (dash >= 0) {
    const lo = parseIp(text.slice(0, dash));
    const hi = parseIp(text.slice(dash + 1));
    if (!lo) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(text.slice(0, dash))}' is not a numeric IP address`);
    if (dash === text.length - 1) return bad("IKE_ERR_CFG_BAD_RANGE", "the range has no end address after '-'");
    if (!hi) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(text.slice(dash + 1))}' is not a numeric IP address`);
    if (lo.family !== hi.family) return bad("IKE_ERR_CFG_BAD_RANGE", "range mixes IPv4 and IPv6");
    if (hi.value < lo.value) return bad("IKE_ERR_CFG_BAD_RANGE", "range end is below its start");
    return {
      ok: true,
      spec: { kind: "range", family: lo.family, start: formatIp(lo.family, lo.value), end: formatIp(hi.family, hi.value) },
    };
  }
  const ip = parseIp(text);
  if (!ip) return bad("IKE_ERR_CFG_BAD_ADDRESS", `'${clip(text)}' is not a numeric IP address`);
  return { ok: true, spec: { kind: "single", family: ip.family, addr: formatIp(ip.family, ip.value) } };
}

/** Text for a spec in the file syntax (`a`, `a/N`, `a-b`). */
export function formatAddressSpec(spec: AddressSpec): string {
  switch (spec.kind) {
    case "single":
      return spec.addr;
    case "prefix":
      return `${spec.addr}/${spec.prefixLen}`;
    case "range":
      return `${spec.start}-${spec.end}`;
    default: {
      const never: never = spec;
      return never;
    }
  }
}

/** Bounds already computed, per spec object (specs are immutable), so lookups do not re-parse. */
const boundsCache = new WeakMap<AddressSpec, AddressBounds>();

/** Inclusive numeric bounds of a spec (a prefix covers its whole network, host bits ignored). */
export function addressBounds(spec: AddressSpec): AddressBounds {
  let b = boundsCache.get(spec);
  if (!b) {
    b = computeBounds(spec);
    boundsCache.set(spec, b);
  }
  return b;
}

function computeBounds(spec: AddressSpec): AddressBounds {
  const ipOf = (t: string): bigint => parseIp(t)?.value ?? 0n;
  switch (spec.kind) {
    case "single": {
      const v = ipOf(spec.addr);
      return { family: spec.family, lo: v, hi: v };
    }
    case "prefix": {
      const host = BigInt(bitsOf(spec.family) - spec.prefixLen);
      const hostMask = (1n << host) - 1n;
      const v = ipOf(spec.addr);
      return { family: spec.family, lo: v & ~hostMask, hi: v | hostMask };
    }
    case "range":
      return { family: spec.family, lo: ipOf(spec.start), hi: ipOf(spec.end) };
    default: {
      const never: never = spec;
      return never;
    }
  }
}

/** True when `spec` covers the address `ip`. */
export function addressCovers(spec: AddressSpec, ip: IpValue): boolean {
  const b = addressBounds(spec);
  return b.family === ip.family && ip.value >= b.lo && ip.value <= b.hi;
}

/** Number of addresses a spec covers (used to rank matches: smaller is more specific). */
export function addressSpan(spec: AddressSpec): bigint {
  const b = addressBounds(spec);
  return b.hi - b.lo + 1n;
}

/** Shortens user text quoted in a message so a hostile line cannot blow up the message. */
export function clip(text: string, max = 64): string {
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}
