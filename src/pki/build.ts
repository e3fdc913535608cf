/**
 * Building a self-signed certificate (RFC 5280 §4.1) and a PKCS#10 request (RFC 2986) for ikecert
 * `certlocal -ks` / `-kc`, for RSA and DSA keys alike, signed with Node's OpenSSL or, for a key on
 * a PKCS#11 token, by a `Signer` that asks the token.
 */
import { randomBytes, sign, type KeyObject } from "node:crypto";
import { parseIp } from "../config/address.js";
import {
  bitStringBytes, bool, explicit, implicitConstructed, implicitPrimitive, namedBits, nullValue, octetString, oidValue, sequence,
  setOf, smallInteger, timeValue, unsignedInteger,
} from "./der-writer.js";
import { KeyUsage } from "./extensions.js";
import { encodeName, parseDn, type Ava } from "./name.js";
import { Ext, SIGNATURE_OIDS } from "./oids.js";

/** A subjectAltName as ikecert's `-A tag=value` gives it. */
export type AltName = { readonly tag: "IP" | "DNS" | "EMAIL" | "URI" | "DN" | "RID"; readonly value: string };

/** Parses `-A tag=value`; a string result says what is wrong. */
export function parseAltName(text: string): AltName | string {
  const m = /^([A-Za-z]+)=(.+)$/s.exec(text);
  const tag = m?.[1]!.toUpperCase();
  if (!m || !["IP", "DNS", "EMAIL", "URI", "DN", "RID"].includes(tag!)) return `'${text}' is not TAG=value with TAG one of IP, DNS, EMAIL, URI, DN, RID`;
  const value = m[2]!.trim();
  if (tag === "IP" && !parseIp(value)) return `'${value}' is not an IP address`;
  if (tag === "DN" && typeof parseDn(value) === "string") return `bad DN '${value}'`;
  if (tag === "RID" && !/^\d+(\.\d+)+$/.test(value)) return `'${value}' is not an OID`;
  return { tag: tag as AltName["tag"], value };
}

function ipBytes(text: string): Buffer {
  const ip = parseIp(text)!;
  const hex = ip.value.toString(16).padStart(ip.family === 4 ? 8 : 32, "0");
  return Buffer.from(hex, "hex");
}

function generalName(a: AltName): Buffer {
  switch (a.tag) {
    case "EMAIL":
      return implicitPrimitive(1, Buffer.from(a.value, "latin1"));
    case "DNS":
      return implicitPrimitive(2, Buffer.from(a.value, "latin1"));
    case "URI":
      return implicitPrimitive(6, Buffer.from(a.value, "latin1"));
    case "IP":
      return implicitPrimitive(7, ipBytes(a.value));
    case "DN":
      return explicit(4, encodeName(parseDn(a.value) as Ava[][]));
    case "RID":
      return implicitPrimitive(8, oidValue(a.value).subarray(2));
  }
}

/** Signature algorithm OID for a key type and hash (RFC 3279, 4055, 5758). */
function sigAlgOid(keyType: "rsa" | "dsa", hash: string): string {
  for (const [oid, a] of SIGNATURE_OIDS) if (a.family === keyType && a.hash === hash) return oid;
  throw new RangeError(`no ${keyType} signature with ${hash}`);
}

function algId(keyType: "rsa" | "dsa", hash: string): Buffer {
  const oid = oidValue(sigAlgOid(keyType, hash));
  return keyType === "rsa" ? sequence(oid, nullValue()) : sequence(oid);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oidValue(id), ...(critical ? [bool(true)] : []), octetString(value));
}

/** Signs the DER to be signed and returns the signature as X.509 carries it (DSA: DER r, s). */
export type Signer = (data: Buffer) => Buffer;

function signWith(key: KeyObject | Signer, hash: string, data: Buffer): Buffer {
  return typeof key === "function" ? key(data) : sign(hash, data, key);
}

/** What to put in a certificate or request. */
export interface SubjectSpec {
  readonly subject: readonly (readonly Ava[])[];
  readonly altNames: readonly AltName[];
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  readonly keyType: "rsa" | "dsa";
  readonly hash: string;
}

function endEntityExtensions(s: SubjectSpec): Buffer[] {
  const usage = s.keyType === "rsa" ? [KeyUsage.digitalSignature, KeyUsage.keyEncipherment] : [KeyUsage.digitalSignature];
  const out = [extension(Ext.keyUsage, true, namedBits(usage))];
  if (s.altNames.length > 0) out.push(extension(Ext.subjectAltName, false, sequence(...s.altNames.map(generalName))));
  return out;
}

/** A self-signed X.509 v3 certificate (DER) for `s`, valid from `notBefore` to `notAfter` (ms). */
export function selfSignedCertificate(s: SubjectSpec, key: KeyObject | Signer, notBefore: number, notAfter: number): Buffer {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const name = encodeName(s.subject);
  const alg = algId(s.keyType, s.hash);
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    alg,
    name,
    sequence(timeValue(notBefore), timeValue(notAfter)),
    name,
    s.spki,
    explicit(3, sequence(...endEntityExtensions(s))),
  );
  return sequence(tbs, alg, bitStringBytes(signWith(key, s.hash, tbs)));
}

/** A PKCS#10 certificate request (DER), with the subjectAltNames and keyUsage as requested extensions. */
export function certificateRequest(s: SubjectSpec, key: KeyObject | Signer): Buffer {
  const extensionRequest = sequence(oidValue("1.2.840.113549.1.9.14"), setOf(sequence(...endEntityExtensions(s))));
  const info = sequence(smallInteger(0), encodeName(s.subject), s.spki, implicitConstructed(0, extensionRequest));
  const alg = algId(s.keyType, s.hash);
  return sequence(info, alg, bitStringBytes(signWith(key, s.hash, info)));
}
