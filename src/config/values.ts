/**
 * Value readers for the ike.config grammar: each takes the keyword token just consumed, reads
 * its argument from the stream, reports problems to the diagnostics and returns the typed value
 * or `undefined`. A missing value (end of file, a brace or another keyword) is reported without
 * consuming that token, so the caller's next keyword still parses.
 */
import { clip, parseAddressSpec, parseIp } from "./address.js";
import type { Diagnostics } from "./diagnostics.js";
import type { Token, TokenStream } from "./lexer.js";
import { IkeEncryption } from "../codec/attributes-constants.js";
import { AES_KEY_BITS, ENCR_WORDS } from "./names.js";
import type { Bound } from "./limits.js";
import { MAX_UINT32, parseCInteger, parseFloatLiteral } from "./numbers.js";
import type { AddressSpec, KeyLengthRange, LdapServer } from "./types.js";

/** Every keyword of the ike.config grammar, wherever it is allowed. */
export const ALL_KEYWORDS: ReadonlySet<string> = new Set([
  "cert_root", "cert_trust", "expire_timer", "ignore_crls", "ldap_server", "pkcs11_path", "retry_limit", "metrics",
  "retry_timer_init", "retry_timer_max", "proxy", "socks", "use_http", "max_certs", "label_aware",
  "p1_lifetime_secs", "p1_nonce_len", "p2_lifetime_secs", "p2_softlife_secs", "p2_idletime_secs",
  "p2_lifetime_kb", "p2_softlife_kb", "p2_nonce_len", "p2_pfs", "local_id_type", "p1_xform",
  "label", "local_addr", "remote_addr", "local_id", "remote_id", "remote_port",
  "auth_method", "oakley_group", "encr_alg", "auth_alg", "single_label", "multi_label", "wire_label",
  "unverified_dh_share", "dpd_interval_secs", "dpd_retries",
]);

/**
 * How a token reads in a message: `'word'`, `"string"`, `'{'` or `end of file`; words and strings
 * go through `d.quote`, so a file whose text is hidden shows only their length.
 */
export function describe(d: Diagnostics, t: Token): string {
  if (t.kind === "eof") return "end of file";
  if (t.kind === "string") return d.quote(t.text, '"');
  if (t.kind === "word") return d.quote(t.text);
  return `'${t.text}'`;
}

/** True when `t` cannot be a value: end of file, a brace/paren, or a keyword. */
function isMissing(t: Token): boolean {
  return t.kind !== "string" && (t.kind !== "word" || ALL_KEYWORDS.has(t.text));
}

function missing(d: Diagnostics, key: Token, what: string, found: Token): undefined {
  d.error("IKE_ERR_CFG_MISSING_VALUE", found, `expected ${what} after '${key.text}', found ${describe(d, found)}`);
  return undefined;
}

/** Any 32-bit value: the bound of a number without one of its own (a group, a flag-like count). */
const ANY_U32: Bound = { min: 0, max: MAX_UINT32 };

function outOfRange(d: Diagnostics, key: Token, at: Token, b: Bound, v: number): undefined {
  const note = b.note === undefined ? "" : ` (${b.note})`;
  d.error("IKE_ERR_CFG_BAD_VALUE", at, `'${key.text}' must be from ${b.min} to ${b.max}${note}, found ${d.value(v)}`);
  return undefined;
}

/** Reads a C integer (`num`) within `bound` (limits.ts). */
export function readNum(s: TokenStream, d: Diagnostics, key: Token, bound: Bound = ANY_U32): number | undefined {
  const t = s.peek();
  if (isMissing(t)) return missing(d, key, "a number", t);
  s.next();
  const v = t.kind === "word" ? parseCInteger(t.text) : undefined;
  if (v === undefined) {
    d.error("IKE_ERR_CFG_BAD_NUMBER", t, `expected a number (decimal, 0x hex or 0 octal) after '${key.text}', found ${describe(d, t)}`);
    return undefined;
  }
  return v < bound.min || v > bound.max ? outOfRange(d, key, t, bound, v) : v;
}

/** Reads a positive integer or decimal fraction (retransmit timers) no larger than `bound.max`. */
export function readFloat(s: TokenStream, d: Diagnostics, key: Token, bound: Bound): number | undefined {
  const t = s.peek();
  if (isMissing(t)) return missing(d, key, "a number of seconds", t);
  s.next();
  const v = t.kind === "word" ? parseFloatLiteral(t.text) : undefined;
  if (v === undefined || v <= 0) {
    d.error("IKE_ERR_CFG_BAD_NUMBER", t, `expected a positive number of seconds (e.g. 0.5) after '${key.text}', found ${describe(d, t)}`);
    return undefined;
  }
  return v < bound.min || v > bound.max ? outOfRange(d, key, t, bound, v) : v;
}

/**
 * Reads a string. Quoting is the documented form; a single unquoted word that is not a keyword
 * is accepted as well (leniency: what the original does with it is unknown).
 */
export function readString(s: TokenStream, d: Diagnostics, key: Token, maxLen = 4096): string | undefined {
  const t = s.peek();
  if (isMissing(t)) return missing(d, key, "a quoted string", t);
  s.next();
  if (t.text.length > maxLen) {
    d.error("IKE_ERR_CFG_BAD_VALUE", t, `the value of '${key.text}' is longer than ${maxLen} characters`);
    return undefined;
  }
  return t.text;
}

/** Reads a word from a fixed table (algorithm, method or id-type names). */
export function readWord(s: TokenStream, d: Diagnostics, key: Token, table: ReadonlyMap<string, number>, what: string): number | undefined {
  const t = s.peek();
  if (isMissing(t)) return missing(d, key, what, t);
  s.next();
  const v = t.kind === "word" ? table.get(t.text) : undefined;
  if (v === undefined) {
    d.error("IKE_ERR_CFG_BAD_VALUE", t, `expected ${what} (${[...table.keys()].join(", ")}), found ${describe(d, t)}`);
  }
  return v;
}

/**
 * Reads `IPaddr[/prefix|/mask|-IPaddr]`, allowing whitespace around `/` and `-`
 * (`10.1.2.0 / 24`) by gluing the words that end or start with them.
 */
export function readAddress(s: TokenStream, d: Diagnostics, key: Token): AddressSpec | undefined {
  const first = s.peek();
  if (isMissing(first)) return missing(d, key, "an IP address, prefix or range", first);
  s.next();
  if (first.kind !== "word") {
    d.error("IKE_ERR_CFG_BAD_ADDRESS", first, `expected an unquoted IP address after '${key.text}', found ${describe(d, first)}`);
    return undefined;
  }
  let text = first.text;
  for (let parts = 1; parts < 8; parts++) {
    const nx = s.peek();
    const glue = /[/-]$/.test(text) || (nx.kind === "word" && /^[/-]/.test(nx.text));
    // A keyword is never part of an address: `10.0.0.1 - remote_addr ...` lacks its range end.
    if (!glue || nx.kind !== "word" || ALL_KEYWORDS.has(nx.text)) break;
    s.next();
    text += nx.text;
  }
  const r = parseAddressSpec(text);
  if (!r.ok) {
    d.error(r.code, first, `bad address after '${key.text}': ${d.hidesText ? d.quote(text) : r.message}`);
    return undefined;
  }
  return r.spec;
}

/** Reads `ENCR [ "(" low ".." high ")" ]`; the key range is only valid for AES. */
export function readEncr(s: TokenStream, d: Diagnostics, key: Token): { encrAlg: number; keyLen?: KeyLengthRange } | undefined {
  const alg = readWord(s, d, key, ENCR_WORDS, "an encryption algorithm");
  if (s.peek().kind !== "(") return alg === undefined ? undefined : { encrAlg: alg };
  const open = s.next();
  let inner = "";
  for (let i = 0; i < 8 && s.peek().kind === "word"; i++) inner += s.next().text;
  if (s.peek().kind !== ")") {
    d.error("IKE_ERR_CFG_BAD_KEYLEN", s.peek(), `expected ')' to close the key length opened at ${open.line}:${open.col}, found ${describe(d, s.peek())}`);
    return undefined;
  }
  s.next();
  if (alg === undefined) return undefined;
  if (alg !== IkeEncryption.AES_CBC) {
    d.error("IKE_ERR_CFG_BAD_KEYLEN", open, "a key length is only allowed for aes");
    return undefined;
  }
  const m = /^([^.]+)(?:\.\.([^.]+))?$/.exec(inner);
  const low = m ? parseCInteger(m[1]!) : undefined;
  const high = m ? (m[2] === undefined ? low : parseCInteger(m[2])) : undefined;
  if (low === undefined || high === undefined) {
    d.error("IKE_ERR_CFG_BAD_KEYLEN", open, `expected '(LOW..HIGH)' key lengths in bits, found ${d.quote(`(${inner})`)}`);
    return undefined;
  }
  if (!AES_KEY_BITS.has(low) || !AES_KEY_BITS.has(high)) {
    d.error("IKE_ERR_CFG_BAD_KEYLEN", open, `AES key lengths must be 128, 192 or 256, found ${d.value(`${low}..${high}`)}`);
    return undefined;
  }
  if (low > high) {
    d.error("IKE_ERR_CFG_BAD_KEYLEN", open, `AES key length range ${d.value(`${low}..${high}`)} has low above high`);
    return undefined;
  }
  return { encrAlg: alg, keyLen: { low, high } };
}

/** Parses an `ldap_server` list: `host[:port]` or `[v6addr][:port]`, comma-separated, port 389 default. */
export function parseLdapList(text: string): LdapServer[] | string {
  const out: LdapServer[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    // [v6]:port, host:port, or a bare IPv6 address (its colons are not a port separator).
    const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(item) ?? /^([^:\s]+)(?::([0-9]+))?$/.exec(item);
    const host = m?.[1] ?? (parseIp(item)?.family === 6 ? item : undefined);
    if (!host) return `'${clip(item)}' is not host[:port]`;
    const port = m?.[2] === undefined ? 389 : Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `port in '${clip(item)}' is not 1-65535`;
    out.push({ host, port });
  }
  return out;
}
