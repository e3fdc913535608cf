/**
 * Value parsers of `ipsecinit.conf` words: addresses and prefixes, masks, ports, protocols, ICMP
 * types/codes, algorithms with key lengths. Each returns the value or a message; positions are added
 * by the caller, which knows the token.
 */
import { AUTH_ALGORITHMS, ENCRYPT_ALGORITHMS, EncAlg, findAlgorithm } from "../../kernel/algorithms.js";
import { makePrefix, parseAddress, type Prefix } from "../../kernel/address.js";
import { AUTH_NAMES, ENCR_NAMES, ICMP_CODES, ICMP_TYPES, PROTOCOLS, SERVICES } from "./names.js";
import type { AlgorithmChoice, NumberRange, PolicyErrorCode } from "./types.js";

/** A parse failure: code and message. */
export interface ValueError {
  code: PolicyErrorCode;
  message: string;
}

/** Either a value or an error. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ValueError };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string, code: PolicyErrorCode = "IKE_ERR_POLICY_VALUE"): Parsed<T> => ({ ok: false, error: { code, message } });

const DECIMAL = /^[0-9]{1,10}$/;

function decimal(text: string, min: number, max: number): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** An address with an optional `/plen`; `explicit` tells whether a prefix length was written. */
export interface AddressValue {
  prefix: Prefix;
  explicit: boolean;
}

/** `addr` or `addr/plen`. A word that is no address literal is a host name, which is not resolved. */
export function parseAddressValue(text: string): Parsed<AddressValue> {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (addr === null) {
    if (/^[A-Za-z][A-Za-z0-9.-]*$/.test(addrText)) {
      return fail(`'${addrText}' is a host or network name; names are not resolved, write an address literal`, "IKE_ERR_POLICY_HOSTNAME");
    }
    return fail(`'${text}' is not an IPv4 or IPv6 address`);
  }
  const bits = addr.length * 8;
  const len = slash < 0 ? bits : decimal(text.slice(slash + 1), 0, bits);
  if (len === null) return fail(`prefix length in '${text}' must be 0..${bits}`);
  return ok({ prefix: makePrefix(addr, len)!, explicit: slash >= 0 });
}

/** `smask`/`dmask`: `0xffffff00`, `0Xffffff00` or `255.255.255.0`, contiguous; returns the prefix length. */
export function parseMask(text: string): Parsed<number> {
  let value: number | null = null;
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(text)) value = parseInt(text.slice(2), 16);
  else {
    const a = parseAddress(text);
    if (a !== null && a.length === 4) value = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  }
  if (value === null) return fail(`'${text}' is not an IPv4 mask`);
  let len = 0;
  while (len < 32 && (value & (0x80000000 >>> len)) !== 0) len++;
  const rest = len === 32 ? 0 : (value << len) >>> 0;
  if (rest !== 0) return fail(`mask '${text}' is not contiguous`);
  return ok(len);
}

/** A port: 1..65535 or a service name. */
export function parsePort(text: string): Parsed<number> {
  const n = decimal(text, 1, 65535);
  if (n !== null) return ok(n);
  const s = SERVICES.get(text.toLowerCase());
  return s === undefined ? fail(`'${text}' is not a port number (1..65535) or known service name`) : ok(s);
}

/** An upper-layer protocol: 0..255 or a protocol name. */
export function parseProtocol(text: string): Parsed<number> {
  const n = decimal(text, 0, 255);
  if (n !== null) return ok(n);
  const p = PROTOCOLS.get(text.toLowerCase());
  return p === undefined ? fail(`'${text}' is not a protocol number (0..255) or known protocol name`) : ok(p);
}

/** ICMP `type`/`code`: a number, `n-m`, or a name from ipsecconf's table. */
export function parseIcmpRange(text: string, what: "type" | "code"): Parsed<NumberRange> {
  const max = what === "type" ? 255 : 254;
  const names = what === "type" ? ICMP_TYPES : ICMP_CODES;
  const named = names.get(text.toLowerCase());
  if (named !== undefined) return ok({ min: named, max: named });
  const m = /^([0-9]{1,3})(?:-([0-9]{1,3}))?$/.exec(text);
  const lo = m === null ? null : decimal(m[1]!, 0, max);
  const hi = m === null ? null : m[2] === undefined ? lo : decimal(m[2], 0, max);
  if (lo === null || hi === null) return fail(`ICMP ${what} '${text}' must be 0..${max}, a range n-m, or an ICMP ${what} name`);
  if (lo > hi) return fail(`ICMP ${what} range '${text}' runs backwards`);
  return ok({ min: lo, max: hi });
}

/** A tunnel interface name (LIFNAMSIZ is 32 with the NUL). */
export function parseInterface(text: string): Parsed<string> {
  return /^[A-Za-z][A-Za-z0-9._:-]{0,30}$/.test(text) ? ok(text) : fail(`'${text}' is not an interface name`);
}

/**
 * An algorithm with optional key length: `aes`, `aes(192)`, `aes(..192)`, `aes(192..)`,
 * `aes(128..256)`, `any(192..)`, or a number 1..255. Names are case-insensitive. A key range the
 * kernel cannot satisfy for that algorithm is refused here, as ipsecconf does.
 */
export function parseAlgorithm(text: string, kind: "auth" | "encr"): Parsed<AlgorithmChoice> {
  const m = /^([A-Za-z0-9-]+)(?:\(([^()]*)\))?$/.exec(text);
  if (m === null) return fail(`'${text}' is not an algorithm name with an optional (keylen)`);
  const name = m[1]!.toLowerCase();
  let id: number | "any" | undefined;
  if (name === "any") id = "any";
  else if (DECIMAL.test(name)) id = decimal(name, 1, 255) ?? undefined;
  else id = (kind === "auth" ? AUTH_NAMES : ENCR_NAMES).get(name);
  const what = kind === "auth" ? "authentication" : "encryption";
  if (id === undefined) return fail(`unknown ${what} algorithm '${m[1]}'`);
  let minBits = 0;
  let maxBits = 0;
  if (m[2] !== undefined) {
    const k = /^([0-9]{1,5})?(\.\.)?([0-9]{1,5})?$/.exec(m[2]);
    if (k === null || (k[1] === undefined && k[3] === undefined) || (k[2] === undefined && k[3] !== undefined)) {
      return fail(`key length '(${m[2]})' must be (n), (n..), (..n) or (n..m)`);
    }
    minBits = k[1] === undefined ? 0 : Number(k[1]);
    maxBits = k[2] === undefined ? minBits : k[3] === undefined ? 0 : Number(k[3]);
    if (minBits === 0 && maxBits === 0) return fail(`key length '(${m[2]})' must not be zero`);
    if (maxBits !== 0 && minBits > maxBits) return fail(`key length range '(${m[2]})' runs backwards`);
  }
  if (typeof id === "number") {
    const info = findAlgorithm(kind === "auth" ? AUTH_ALGORITHMS : ENCRYPT_ALGORITHMS, id);
    if (info !== undefined && (minBits !== 0 || maxBits !== 0)) {
      if (id === EncAlg.Null) return fail("null encryption takes no key length");
      const lo = Math.max(minBits, info.minBits);
      const hi = maxBits === 0 ? info.maxBits : Math.min(maxBits, info.maxBits);
      if (lo > hi) return fail(`${m[1]} keys are ${info.minBits}..${info.maxBits} bits; '(${m[2]})' leaves none`);
    }
  }
  return ok({ id, name: m[1]!, minBits, maxBits });
}
