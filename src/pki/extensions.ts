/**
 * X.509v3 certificate extensions (RFC 5280 §4.2) that path validation and identity matching read:
 * basicConstraints, keyUsage, extendedKeyUsage, subjectAltName, cRLDistributionPoints and the key
 * identifiers. Unknown extensions are kept by OID; an unknown *critical* one makes the certificate
 * unusable (§4.2: "MUST reject"), which chain.ts reports.
 */
import { DerError, Tag, bitString, boolean, ctx, expect, oid, readTlv, seq, smallInt, type Tlv } from "./der.js";
import { decodeName, type DistinguishedName } from "./name.js";
import { Ext } from "./oids.js";

/** keyUsage bits (RFC 5280 §4.2.1.3), bit 0 first. */
export const KeyUsage = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;

/** GeneralNames this code understands; others are counted in `other`. */
export interface GeneralNames {
  readonly dns: readonly string[];
  readonly email: readonly string[];
  /** 4 or 16 bytes each. */
  readonly ip: readonly Buffer[];
  readonly uri: readonly string[];
  readonly dn: readonly DistinguishedName[];
  readonly other: number;
}

/** The extensions read from a certificate. */
export interface CertExtensions {
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number };
  /** Set bits of keyUsage, when the extension is present. */
  readonly keyUsage?: ReadonlySet<number>;
  readonly extKeyUsage?: readonly string[];
  readonly subjectAltName: GeneralNames;
  /** http/ldap URIs of the CRL distribution points (fullName URIs only). */
  readonly crlDistributionPoints: readonly string[];
  readonly subjectKeyId?: Buffer;
  readonly authorityKeyId?: Buffer;
  /** Critical extensions not understood here. */
  readonly unknownCritical: readonly string[];
}

const EMPTY_NAMES: GeneralNames = { dns: [], email: [], ip: [], uri: [], dn: [], other: 0 };

/** Decodes GeneralNames (SEQUENCE OF GeneralName, RFC 5280 §4.2.1.6). */
export function decodeGeneralNames(t: Tlv): GeneralNames {
  const out = { dns: [] as string[], email: [] as string[], ip: [] as Buffer[], uri: [] as string[], dn: [] as DistinguishedName[], other: 0 };
  for (const g of seq(t, "GeneralNames")) {
    switch (g.tag) {
      case ctx(1, false):
        out.email.push(g.value.toString("latin1"));
        break;
      case ctx(2, false):
        out.dns.push(g.value.toString("latin1"));
        break;
      case ctx(6, false):
        out.uri.push(g.value.toString("latin1"));
        break;
      case ctx(7, false):
        if (g.value.length !== 4 && g.value.length !== 16) throw new DerError(`iPAddress of ${g.value.length} bytes`);
        out.ip.push(g.value);
        break;
      case ctx(4, true): {
        const [inner, extra] = seq(g, "directoryName", g.tag);
        if (extra !== undefined) throw new DerError("directoryName has extra fields");
        out.dn.push(decodeName(expect(inner, Tag.SEQUENCE, "directoryName")));
        break;
      }
      default:
        out.other++;
    }
  }
  return out;
}

function decodeKeyUsage(t: Tlv): Set<number> {
  const { bytes, unused } = bitString(t, "keyUsage");
  const set = new Set<number>();
  const bits = bytes.length * 8 - unused;
  for (let i = 0; i < bits; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) set.add(i);
  return set;
}

function decodeCrlDp(t: Tlv): string[] {
  const uris: string[] = [];
  for (const dp of seq(t, "CRLDistributionPoints")) {
    for (const field of seq(dp, "DistributionPoint")) {
      if (field.tag !== 0xa0) continue; // reasons, cRLIssuer: not used for fetching
      const [name] = seq(field, "distributionPoint", field.tag);
      if (name?.tag === 0xa0) {
        // fullName [0] IMPLICIT GeneralNames
        uris.push(...decodeGeneralNames({ ...name, tag: Tag.SEQUENCE }).uri);
      }
    }
  }
  return uris;
}

/** Decodes the `[3] EXPLICIT Extensions` of a TBSCertificate (or returns the defaults when absent). */
export function decodeExtensions(t: Tlv | undefined): CertExtensions {
  const result: {
    -readonly [K in keyof CertExtensions]: CertExtensions[K];
  } = { subjectAltName: EMPTY_NAMES, crlDistributionPoints: [], unknownCritical: [] };
  if (t === undefined) return result;
  const [list, extra] = seq(t, "extensions", t.tag);
  if (extra !== undefined) throw new DerError("extensions has extra fields");
  const seen = new Set<string>();
  const unknownCritical: string[] = [];
  for (const e of seq(list, "Extensions")) {
    const parts = seq(e, "Extension");
    const id = oid(parts[0], "extnID");
    let critical = false;
    let i = 1;
    if (parts[1]?.tag === Tag.BOOLEAN) {
      critical = boolean(parts[1], "critical");
      // DER: DEFAULT FALSE is never encoded.
      if (!critical) throw new DerError("critical FALSE encoded");
      i = 2;
    }
    const octets = expect(parts[i], Tag.OCTET_STRING, "extnValue").value;
    if (parts.length !== i + 1) throw new DerError("Extension has extra fields");
    if (seen.has(id)) throw new DerError(`extension ${id} appears twice`);
    seen.add(id);
    const { tlv: v, next } = readTlv(octets, 0);
    if (next !== octets.length) throw new DerError(`extension ${id} has trailing bytes`);
    switch (id) {
      case Ext.basicConstraints: {
        const [a, b] = seq(v, "basicConstraints");
        const ca = a?.tag === Tag.BOOLEAN ? boolean(a, "cA") : false;
        const lenTlv = a?.tag === Tag.INTEGER ? a : b;
        result.basicConstraints = lenTlv ? { ca, pathLen: smallInt(lenTlv, "pathLenConstraint") } : { ca };
        break;
      }
      case Ext.keyUsage:
        result.keyUsage = decodeKeyUsage(v);
        break;
      case Ext.extKeyUsage:
        result.extKeyUsage = seq(v, "extKeyUsage").map((x) => oid(x, "KeyPurposeId"));
        break;
      case Ext.subjectAltName:
        result.subjectAltName = decodeGeneralNames(v);
        break;
      case Ext.cRLDistributionPoints:
        result.crlDistributionPoints = decodeCrlDp(v);
        break;
      case Ext.subjectKeyIdentifier:
        result.subjectKeyId = expect(v, Tag.OCTET_STRING, "subjectKeyIdentifier").value;
        break;
      case Ext.authorityKeyIdentifier: {
        const keyId = seq(v, "authorityKeyIdentifier").find((x) => x.tag === ctx(0, false));
        if (keyId) result.authorityKeyId = keyId.value;
        break;
      }
      default:
        // Policies and the rest are not processed; harmless unless the issuer marked them critical.
        if (critical) unknownCritical.push(id);
    }
  }
  result.unknownCritical = unknownCritical;
  return result;
}
