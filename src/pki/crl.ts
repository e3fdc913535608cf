/**
 * Certificate revocation lists (RFC 5280 §5): strict decoding of the fields revocation checking
 * needs. Delta CRLs, indirect CRLs and issuing-distribution-point scopes are not supported: a CRL
 * that marks any of them critical is refused (a partial CRL taken as complete would let revoked
 * certificates through unseen).
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version OPTIONAL, signature, issuer, thisUpdate, nextUpdate OPTIONAL,
 *                              revokedCertificates SEQUENCE OF SEQUENCE { serial, date, [exts] } OPTIONAL,
 *                              [0] crlExtensions OPTIONAL }
 */
import { createHash } from "node:crypto";
import { DerError, Tag, bitString, boolean, ctx, expect, oid, parseDer, seq, smallInt, time, type Tlv } from "./der.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { decodeName, formatName, type DistinguishedName } from "./name.js";
import { Ext } from "./oids.js";
import { decodeSigAlg, serialHex, type SigAlg } from "./sig-alg.js";

/** Largest CRL accepted from disk or over HTTP. */
export const MAX_CRL_BYTES = 4 * 1024 * 1024;

/** A decoded CRL. */
export interface Crl {
  readonly der: Buffer;
  readonly tbs: Buffer;
  readonly sigAlg: SigAlg;
  readonly signature: Buffer;
  readonly issuer: DistinguishedName;
  readonly issuerText: string;
  readonly thisUpdate: number;
  /** Absent: the issuer promises no next CRL (RFC 5280 requires it; kept lenient, treated as never stale). */
  readonly nextUpdate?: number;
  /** Revoked serial numbers (lower-case hex) → revocation time. */
  readonly revoked: ReadonlyMap<string, number>;
  readonly authorityKeyId?: Buffer;
  readonly fingerprint: string;
}

/** Extensions of a CRL or entry: critical ones outside `understood` make the CRL unusable. */
function extensions(t: Tlv | undefined, understood: readonly string[], what: string): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  if (t === undefined) return out;
  for (const e of seq(t, what)) {
    const parts = seq(e, "Extension");
    const id = oid(parts[0], "extnID");
    const critical = parts[1]?.tag === Tag.BOOLEAN ? boolean(parts[1], "critical") : false;
    const value = expect(parts[parts.length - 1], Tag.OCTET_STRING, "extnValue");
    if (out.has(id)) throw new DerError(`${what}: extension ${id} twice`);
    if (critical && !understood.includes(id)) throw new DerError(`${what}: unsupported critical extension ${id}`);
    out.set(id, value);
  }
  return out;
}

function decode(der: Buffer): PkiResult<Crl> {
  const [tbsT0, algT, sigT, extra] = seq(parseDer(der), "CertificateList");
  if (extra !== undefined) throw new DerError("CertificateList has extra fields");
  const tbsT = expect(tbsT0, Tag.SEQUENCE, "TBSCertList");
  const f = seq(tbsT, "TBSCertList");
  let i = 0;
  if (f[0]?.tag === Tag.INTEGER) {
    if (smallInt(f[0], "version") !== 1) throw new DerError("CRL version other than v2");
    i = 1;
  }
  const innerAlg = expect(f[i++], Tag.SEQUENCE, "signature");
  const issuer = decodeName(expect(f[i++], Tag.SEQUENCE, "issuer"));
  const thisUpdate = time(f[i++], "thisUpdate");
  let nextUpdate: number | undefined;
  if (f[i]?.tag === Tag.UTCTime || f[i]?.tag === Tag.GeneralizedTime) nextUpdate = time(f[i++], "nextUpdate");
  const revoked = new Map<string, number>();
  if (f[i]?.tag === Tag.SEQUENCE) {
    for (const entry of seq(f[i++], "revokedCertificates")) {
      const [serialT, dateT, entryExts] = seq(entry, "revoked entry");
      // certificateIssuer (indirect CRLs) changes whose serial this is: refuse rather than misread.
      extensions(entryExts, [Ext.reasonCode, Ext.invalidityDate], "crlEntryExtensions");
      revoked.set(serialHex(expect(serialT, Tag.INTEGER, "userCertificate")), time(dateT, "revocationDate"));
    }
  }
  let authorityKeyId: Buffer | undefined;
  if (f[i]?.tag === ctx(0, true)) {
    const [list] = seq(f[i++], "crlExtensions", ctx(0, true));
    const exts = extensions(list, [Ext.cRLNumber, Ext.authorityKeyIdentifier], "crlExtensions");
    if (exts.has(Ext.deltaCRLIndicator)) throw new DerError("delta CRLs are not supported");
    const aki = exts.get(Ext.authorityKeyIdentifier);
    if (aki) authorityKeyId = seq(parseDer(aki.value), "authorityKeyIdentifier").find((x) => x.tag === ctx(0, false))?.value;
  }
  if (f[i] !== undefined) throw new DerError("TBSCertList has extra fields");
  if (!algT || !innerAlg.der.equals(algT.der)) throw new DerError("signatureAlgorithm differs from the TBS signature field");
  const sigAlg = decodeSigAlg(algT);
  if (!sigAlg.ok) return sigAlg;
  const sig = bitString(sigT, "signatureValue");
  if (sig.unused !== 0) throw new DerError("signatureValue with unused bits");
  return {
    ok: true,
    value: {
      der, tbs: tbsT.der, sigAlg: sigAlg.value, signature: sig.bytes, issuer, issuerText: formatName(issuer), thisUpdate,
      ...(nextUpdate !== undefined ? { nextUpdate } : {}), revoked,
      ...(authorityKeyId !== undefined ? { authorityKeyId } : {}),
      fingerprint: createHash("sha256").update(der).digest("hex"),
    },
  };
}

/** Decodes one DER CRL (input copied). Never throws. */
export function parseCrl(input: Uint8Array): PkiResult<Crl> {
  if (input.length > MAX_CRL_BYTES) return pkiFail(PkiCode.TooLarge, `CRL of ${input.length} bytes (at most ${MAX_CRL_BYTES})`);
  const der = Buffer.from(input);
  try {
    return decode(der);
  } catch (err) {
    return pkiFail(PkiCode.Malformed, `CRL does not decode: ${(err as Error).message}`);
  }
}
