/**
 * X.500 distinguished names (RFC 5280 §4.1.2.4): decoding from DER, the reference's text syntax
 * (ike-config.md §6, ikecert.md §5: `C=US, O=Example\, Inc., CN=gw1`, most significant RDN first,
 * as written in ike.config and on ikecert's command line), encoding back to DER (ikecert -D), and
 * comparison.
 *
 * Comparison is RFC 5280 §7.1-style simplified: attribute types by OID, values case-insensitive
 * with runs of white space collapsed and ends trimmed. A DN *pattern* (a cert-sel) matches a name
 * when every attribute it lists appears in the name with a matching value, in any order: the
 * SunScreen/Solaris "portion of a matching pattern". A value may use `*` as a wildcard for any run
 * of characters (`CN=*.example.net`, `O=*`).
 */
import { DerError, Tag, oid, parseDer, seq, text, type Tlv } from "./der.js";
import { ia5, oidValue, printable, sequence, setOf, utf8 } from "./der-writer.js";
import { ATTRIBUTE_NAMES, ATTRIBUTE_OIDS, IA5_ATTRIBUTES, PRINTABLE_ATTRIBUTES } from "./oids.js";

/** One attribute of an RDN. */
export interface Ava {
  readonly type: string;
  readonly value: string;
}

/** A name: RDNs most significant first (DER order), each a set of attributes, plus its DER. */
export interface DistinguishedName {
  readonly rdns: readonly (readonly Ava[])[];
  readonly der: Buffer;
}

/** Decodes a Name (RDNSequence). */
export function decodeName(t: Tlv): DistinguishedName {
  const rdns = seq(t, "Name").map((rdn) => {
    const avas = seq(rdn, "RDN", Tag.SET).map((a) => {
      const [type, value, extra] = seq(a, "AttributeTypeAndValue");
      if (extra !== undefined) throw new DerError("AttributeTypeAndValue has extra fields");
      return { type: oid(type, "attribute type"), value: text(value, "attribute value") };
    });
    if (avas.length === 0) throw new DerError("empty RDN");
    return avas;
  });
  return { rdns, der: t.der };
}

const SPECIAL = /[,+"\\<>;=]/g;

function escapeValue(v: string): string {
  let s = v.replace(SPECIAL, (c) => `\\${c}`);
  if (s.startsWith(" ") || s.startsWith("#")) s = `\\${s}`;
  if (s.endsWith(" ") && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

/** The reference's text form: `C=US, O=Example, CN=gw1` (multi-valued RDNs joined with ` + `). */
export function formatName(n: DistinguishedName | readonly (readonly Ava[])[]): string {
  const rdns = "rdns" in n ? n.rdns : n;
  return rdns.map((rdn) => rdn.map((a) => `${ATTRIBUTE_NAMES.get(a.type) ?? a.type}=${escapeValue(a.value)}`).join(" + ")).join(", ");
}

/**
 * Parses the text form. Separators `,` (or `;`) between RDNs and `+` inside one; `\c` escapes a
 * character and `\XX` a byte (RFC 4514); types are the short names of oids.ts (any case) or dotted
 * OIDs. Returns the RDNs or a message saying what is wrong.
 */
export function parseDn(s: string): Ava[][] | string {
  const rdns: Ava[][] = [];
  let rdn: Ava[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  for (;;) {
    skipWs();
    const eq = s.indexOf("=", i);
    if (eq < 0) return `expected TYPE=value at offset ${i}`;
    const typeText = s.slice(i, eq).trim();
    const type = /^\d+(\.\d+)+$/.test(typeText) ? typeText : ATTRIBUTE_OIDS.get(typeText.toUpperCase());
    if (type === undefined) return `unknown attribute type '${typeText}'`;
    i = eq + 1;
    skipWs();
    const bytes: number[] = [];
    let trailingSpaces = 0;
    while (i < s.length && !",;+".includes(s[i]!)) {
      const c = s[i]!;
      if (c === "\\") {
        const hex = /^[0-9a-fA-F]{2}/.exec(s.slice(i + 1, i + 3));
        if (hex) {
          bytes.push(parseInt(hex[0], 16));
          i += 3;
        } else if (i + 1 < s.length) {
          bytes.push(...Buffer.from(s[i + 1]!, "utf8"));
          i += 2;
        } else return "a backslash ends the name";
        trailingSpaces = 0;
        continue;
      }
      bytes.push(...Buffer.from(c, "utf8"));
      trailingSpaces = c === " " ? trailingSpaces + 1 : 0;
      i++;
    }
    const value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString("utf8");
    if (value.length === 0) return `empty value for ${typeText}`;
    rdn.push({ type, value });
    if (i >= s.length) break;
    const sep = s[i++];
    if (sep !== "+") {
      rdns.push(rdn);
      rdn = [];
    }
  }
  rdns.push(rdn);
  return rdns;
}

/** DER for a parsed name (ikecert -D): PrintableString where RFC 5280 wants it, IA5 for e-mail/DC, else UTF8String. */
export function encodeName(rdns: readonly (readonly Ava[])[]): Buffer {
  return sequence(
    ...rdns.map((rdn) =>
      setOf(
        ...rdn.map((a) => {
          const v = PRINTABLE_ATTRIBUTES.has(a.type) && /^[A-Za-z0-9 '()+,./:=?-]*$/.test(a.value)
            ? printable(a.value)
            : IA5_ATTRIBUTES.has(a.type) ? ia5(a.value) : utf8(a.value);
          return sequence(oidValue(a.type), v);
        }),
      ),
    ),
  );
}

/** Canonical value for comparison: case-folded, white space collapsed and trimmed. */
export function foldValue(v: string): string {
  return v.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

/** Whether two names are equal (same RDNs in order, attribute sets equal under `foldValue`). */
export function namesEqual(a: DistinguishedName, b: DistinguishedName): boolean {
  if (a.der.equals(b.der)) return true;
  if (a.rdns.length !== b.rdns.length) return false;
  return a.rdns.every((ra, i) => {
    const rb = b.rdns[i]!;
    if (ra.length !== rb.length) return false;
    return ra.every((x) => rb.some((y) => y.type === x.type && foldValue(y.value) === foldValue(x.value)));
  });
}

/** `*` glob on folded strings. */
export function globMatch(pattern: string, value: string): boolean {
  const p = foldValue(pattern);
  const v = foldValue(value);
  if (!p.includes("*")) return p === v;
  const re = new RegExp(`^${p.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
  return re.test(v);
}

/** Whether `name` carries every attribute of `pattern` (any order), values compared with `globMatch`. */
export function dnMatches(pattern: readonly (readonly Ava[])[], name: DistinguishedName): boolean {
  const have = name.rdns.flat();
  const used = new Set<Ava>();
  return pattern.flat().every((want) => {
    const hit = have.find((a) => !used.has(a) && a.type === want.type && globMatch(want.value, a.value));
    if (hit) used.add(hit);
    return hit !== undefined;
  });
}

/** A decoded empty name (certificates with only a subjectAltName identity). */
export function isEmptyName(n: DistinguishedName): boolean {
  return n.rdns.length === 0;
}

/** Decodes a Name from its DER bytes (an ID_DER_ASN1_DN payload's data); throws `DerError`. */
export function decodeNameDer(der: Buffer): DistinguishedName {
  return decodeName(parseDer(der, Tag.SEQUENCE));
}
