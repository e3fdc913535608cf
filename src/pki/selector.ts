/**
 * Certificate selectors: ike.config `cert-sel` strings (`cert_root`, `cert_trust`, `local_id`,
 * `remote_id`; ike-config.md §6) and ikecert certspec terms (ikecert.md §5), one language.
 *
 * One term is one of:
 *   ""                      anything (remote_id only: "accept any remote identity")
 *   !TERM                   the certificate must not match TERM
 *   SLOT=n | n              the store slot (file name) n
 *   SUBJECT=<DN> | <DN>     subject DN pattern (name.ts: listed attributes, any order, `*` wildcards)
 *   ISSUER=<DN>             issuer DN pattern
 *   DN=<DN>                 subject or a subjectAltName directoryName
 *   IP=addr[/len|-addr]     a subjectAltName iPAddress inside the address spec
 *   DNS=name                a subjectAltName dNSName (`*` wildcards, case-insensitive)
 *   EMAIL=addr              a subjectAltName rfc822Name or the subject's E= attribute
 *   URI=uri                 a subjectAltName URI
 *   RID=oid                 a registeredID (never present here: matches nothing)
 * A bare IP literal means IP=, a bare `user@domain` EMAIL=, any other bare word without `=` DNS=.
 */
import { addressCovers, parseAddressSpec, parseIp } from "../config/address.js";
import type { AddressSpec } from "../config/types.js";
import type { Certificate } from "./certificate.js";
import { IdType } from "../codec/constants.js";
import { DerError } from "./der.js";
import { decodeNameDer, dnMatches, globMatch, parseDn, type Ava } from "./name.js";
import { ATTRIBUTE_OIDS } from "./oids.js";

/** A parsed selector term. */
export type Selector =
  | { readonly kind: "any" }
  | { readonly kind: "not"; readonly term: Selector }
  | { readonly kind: "slot"; readonly slot: string }
  | { readonly kind: "subject" | "issuer" | "dn"; readonly dn: readonly (readonly Ava[])[] }
  | { readonly kind: "ip"; readonly spec: AddressSpec }
  | { readonly kind: "dns" | "email" | "uri" | "rid"; readonly value: string };

const TAGS = new Set(["SLOT", "SUBJECT", "ISSUER", "DN", "IP", "DNS", "EMAIL", "URI", "RID"]);

function dnTerm(kind: "subject" | "issuer" | "dn", text: string): Selector | string {
  const dn = parseDn(text);
  return typeof dn === "string" ? `bad DN '${text}': ${dn}` : { kind, dn };
}

/** Parses one term; a string result is the reason it does not parse. */
export function parseSelector(input: string): Selector | string {
  const s = input.trim();
  if (s === "") return { kind: "any" };
  if (s.startsWith("!")) {
    const inner = parseSelector(s.slice(1));
    if (typeof inner === "string") return inner;
    if (inner.kind === "any" || inner.kind === "not") return `'${s}' negates nothing`;
    return { kind: "not", term: inner };
  }
  const m = /^([A-Za-z]+)\s*=\s*(.*)$/s.exec(s);
  const tag = m?.[1]!.toUpperCase();
  if (m && tag !== undefined && TAGS.has(tag)) {
    const v = m[2]!.trim();
    if (v === "") return `empty value after ${tag}=`;
    switch (tag) {
      case "SLOT":
        return /^\d{1,9}$/.test(v) ? { kind: "slot", slot: String(Number(v)) } : `bad slot '${v}'`;
      case "SUBJECT":
      case "ISSUER":
      case "DN":
        return dnTerm(tag.toLowerCase() as "subject" | "issuer" | "dn", v);
      case "IP": {
        const a = parseAddressSpec(v);
        return a.ok ? { kind: "ip", spec: a.spec } : `bad IP '${v}': ${a.message}`;
      }
      default:
        return { kind: tag.toLowerCase() as "dns" | "email" | "uri" | "rid", value: v };
    }
  }
  if (/^\d{1,9}$/.test(s)) return { kind: "slot", slot: String(Number(s)) };
  if (s.includes("=")) {
    if (m && !ATTRIBUTE_OIDS.has(m[1]!.toUpperCase()) && !/^\d+(\.\d+)+$/.test(m[1]!)) return `unknown selector tag or DN attribute '${m[1]}'`;
    return dnTerm("subject", s);
  }
  const ip = parseAddressSpec(s);
  if (ip.ok && parseIp(s.split(/[/-]/)[0]!.trim())) return { kind: "ip", spec: ip.spec };
  if (s.includes("@")) return { kind: "email", value: s };
  if (/^[A-Za-z0-9*]([A-Za-z0-9*.-]*[A-Za-z0-9*])?\.?$/.test(s)) return { kind: "dns", value: s };
  return `'${s}' is neither a DN, a TAG=value term, an address, a mailbox nor a host name`;
}

const EMAIL_OID = "1.2.840.113549.1.9.1";

/** A 4- or 16-byte address as the config layer's IpValue. */
export function ipValueOf(bytes: Buffer): { family: 4 | 6; value: bigint } {
  return { family: bytes.length === 4 ? 4 : 6, value: BigInt(`0x${bytes.toString("hex")}`) };
}

/** Whether `cert` (stored as `slot`, if it is in the store) matches one term. */
export function selectorMatches(sel: Selector, cert: Certificate, slot?: string): boolean {
  const san = cert.ext.subjectAltName;
  switch (sel.kind) {
    case "any":
      return true;
    case "not":
      return !selectorMatches(sel.term, cert, slot);
    case "slot":
      return slot === sel.slot;
    case "subject":
      return dnMatches(sel.dn, cert.subject);
    case "issuer":
      return dnMatches(sel.dn, cert.issuer);
    case "dn":
      return dnMatches(sel.dn, cert.subject) || san.dn.some((n) => dnMatches(sel.dn, n));
    case "ip":
      return san.ip.some((b) => addressCovers(sel.spec, ipValueOf(b)));
    case "dns":
      return san.dns.some((d) => globMatch(sel.value.replace(/\.$/, ""), d.replace(/\.$/, "")));
    case "email":
      return san.email.some((e) => globMatch(sel.value, e)) || cert.subject.rdns.flat().some((a) => a.type === EMAIL_OID && globMatch(sel.value, a.value));
    case "uri":
      return san.uri.some((u) => u === sel.value);
    case "rid":
      return false;
    default: {
      const never: never = sel;
      return never;
    }
  }
}

/** A certspec (ikecert: every positive term matches, no `!` term does) over parsed terms. */
export function allMatch(terms: readonly Selector[], cert: Certificate, slot?: string): boolean {
  return terms.every((t) => selectorMatches(t, cert, slot));
}

/**
 * A rule's `remote_id` list (ike-config.md §8): allowed when some positive selector matches (or
 * there is none, or one is `""`) and no `!` selector's term matches.
 */
export function identityAllowed(selectors: readonly Selector[], cert: Certificate): boolean {
  const includes = selectors.filter((s) => s.kind !== "not");
  const excludes = selectors.filter((s) => s.kind === "not");
  const included = includes.length === 0 || includes.some((s) => selectorMatches(s, cert));
  return included && excludes.every((s) => selectorMatches(s, cert));
}

/** An ID payload's type and data (as identity.ts `IdentityData`). */
interface IdValue {
  readonly idType: number;
  readonly data: Buffer;
}

/**
 * Whether one term names an identity that comes without a certificate (an ID payload authenticated
 * by a pre-shared key): IP= an address ID inside the spec, DNS= an FQDN, EMAIL= a USER_FQDN, a DN
 * term an ID_DER_ASN1_DN. Terms only a certificate can satisfy (SLOT=, ISSUER=, URI=, RID=) match
 * nothing.
 */
export function selectorMatchesId(sel: Selector, id: IdValue): boolean {
  const text = id.data.toString("latin1");
  switch (sel.kind) {
    case "any":
      return true;
    case "not":
      return !selectorMatchesId(sel.term, id);
    case "ip":
      return (id.idType === IdType.ID_IPV4_ADDR || id.idType === IdType.ID_IPV6_ADDR) && addressCovers(sel.spec, ipValueOf(id.data));
    case "dns":
      return id.idType === IdType.ID_FQDN && globMatch(sel.value.replace(/\.$/, ""), text.replace(/\.$/, ""));
    case "email":
      return id.idType === IdType.ID_USER_FQDN && globMatch(sel.value, text);
    case "subject":
    case "dn":
      if (id.idType !== IdType.ID_DER_ASN1_DN) return false;
      try {
        return dnMatches(sel.dn, decodeNameDer(id.data));
      } catch (err) {
        if (err instanceof DerError || err instanceof RangeError) return false;
        throw err;
      }
    case "issuer":
    case "slot":
    case "uri":
    case "rid":
      return false;
    default: {
      const never: never = sel;
      return never;
    }
  }
}

/** `identityAllowed` for an identity without a certificate (see {@link selectorMatchesId}). */
export function identityValueAllowed(selectors: readonly Selector[], id: IdValue): boolean {
  const includes = selectors.filter((s) => s.kind !== "not");
  const excludes = selectors.filter((s) => s.kind === "not");
  const included = includes.length === 0 || includes.some((s) => selectorMatchesId(s, id));
  return included && excludes.every((s) => selectorMatchesId(s, id));
}
