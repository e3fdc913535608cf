/**
 * Addresses, selectors and lifetimes between the kernel interface's text form (kernel.ts) and the
 * XFRM structures: `xfrm_address_t` (16 bytes, IPv4 in the first 4), `xfrm_selector` (prefixes,
 * upper-layer protocol and ports; for ICMP the "ports" are type and code, as the kernel matches
 * them), `xfrm_lifetime_cfg` (`XFRM_INF` for "no limit").
 */
import { formatAddress, formatPrefix, makePrefix, parseAddress, parsePrefix } from "../address.js";
import type { Lifetime, TrafficSelector } from "../kernel.js";
import { AF_INET, AF_INET6, XFRM_INF } from "./constants.js";
import type { XfrmLifetimeCfg, XfrmSelector } from "./structs.js";

/** 16 bytes of `xfrm_address_t` and the family, from an address literal (null if not one). */
export function toXfrmAddress(text: string): { bytes: Buffer; family: number } | null {
  const a = parseAddress(text);
  if (a === null) return null;
  const bytes = Buffer.alloc(16);
  bytes.set(a);
  return { bytes, family: a.length === 4 ? AF_INET : AF_INET6 };
}

/** The address literal in `xfrm_address_t` bytes of `family`, or null for an unknown family. */
export function fromXfrmAddress(bytes: Buffer, family: number): string | null {
  if (family === AF_INET) return formatAddress(bytes.subarray(0, 4));
  if (family === AF_INET6) return formatAddress(bytes.subarray(0, 16));
  return null;
}

/** An all-zero selector (family AF_UNSPEC): matches everything. */
export function anySelector(family = 0): XfrmSelector {
  return {
    daddr: Buffer.alloc(16), saddr: Buffer.alloc(16), dport: 0, dportMask: 0, sport: 0, sportMask: 0,
    family, prefixlenD: 0, prefixlenS: 0, proto: 0, ifindex: 0, user: 0,
  };
}

/** A checked selector (canonical prefixes, see validate.ts) as `xfrm_selector`. */
export function toXfrmSelector(s: TrafficSelector): XfrmSelector {
  const src = parsePrefix(s.src)!;
  const dst = parsePrefix(s.dst)!;
  const out = anySelector(src.family === 4 ? AF_INET : AF_INET6);
  out.saddr.set(src.bytes);
  out.daddr.set(dst.bytes);
  out.prefixlenS = src.length;
  out.prefixlenD = dst.length;
  out.proto = s.ulp;
  out.sport = s.srcPort;
  out.sportMask = s.srcPort !== 0 ? 0xffff : 0;
  out.dport = s.dstPort;
  out.dportMask = s.dstPort !== 0 ? 0xffff : 0;
  return out;
}

/**
 * The selector as text, or null when it names no family (AF_UNSPEC: the SA has none). A port with a
 * partial mask cannot be said in `TrafficSelector`: it reads as the masked value.
 */
export function fromXfrmSelector(s: XfrmSelector): TrafficSelector | null | "bad" {
  if (s.family === 0) return null;
  const width = s.family === AF_INET ? 4 : s.family === AF_INET6 ? 16 : 0;
  if (width === 0 || s.prefixlenS > width * 8 || s.prefixlenD > width * 8) return "bad";
  const src = makePrefix(s.saddr.subarray(0, width), s.prefixlenS)!;
  const dst = makePrefix(s.daddr.subarray(0, width), s.prefixlenD)!;
  return {
    src: formatPrefix(src),
    dst: formatPrefix(dst),
    ulp: s.proto,
    srcPort: s.sport & s.sportMask,
    dstPort: s.dport & s.dportMask,
  };
}

const limit = (n: number): bigint => (n === 0 ? XFRM_INF : BigInt(n));
/** A kernel limit as a number: "none" (XFRM_INF, or beyond what a number holds exactly) is 0. */
const unlimit = (n: bigint): number => (n === XFRM_INF || n > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(n));

/**
 * Lifetimes as `xfrm_lifetime_cfg`. Allocations map to the packet limits, as Linux's own PF_KEY
 * does. XFRM has no idle lifetime: `idleSeconds` is not sent (the backend says so in its log).
 */
export function toXfrmLifetime(hard: Lifetime, soft: Lifetime): XfrmLifetimeCfg {
  return {
    softByteLimit: limit(soft.bytes),
    hardByteLimit: limit(hard.bytes),
    softPacketLimit: limit(soft.allocations),
    hardPacketLimit: limit(hard.allocations),
    softAddExpiresSeconds: BigInt(soft.addSeconds),
    hardAddExpiresSeconds: BigInt(hard.addSeconds),
    softUseExpiresSeconds: BigInt(soft.useSeconds),
    hardUseExpiresSeconds: BigInt(hard.useSeconds),
  };
}

/** `xfrm_lifetime_cfg` as hard and soft lifetimes (idle 0: XFRM has none). */
export function fromXfrmLifetime(l: XfrmLifetimeCfg): { hard: Lifetime; soft: Lifetime } {
  return {
    hard: { allocations: unlimit(l.hardPacketLimit), bytes: unlimit(l.hardByteLimit), addSeconds: unlimit(l.hardAddExpiresSeconds), useSeconds: unlimit(l.hardUseExpiresSeconds), idleSeconds: 0 },
    soft: { allocations: unlimit(l.softPacketLimit), bytes: unlimit(l.softByteLimit), addSeconds: unlimit(l.softAddExpiresSeconds), useSeconds: unlimit(l.softUseExpiresSeconds), idleSeconds: 0 },
  };
}

/** A lifetime config with no limit at all. */
export function infiniteLifetime(): XfrmLifetimeCfg {
  const none = { hard: { allocations: 0, bytes: 0, addSeconds: 0, useSeconds: 0, idleSeconds: 0 } };
  return toXfrmLifetime(none.hard, none.hard);
}
