/**
 * X.509 certificates (RFC 5280 §4.1): strict decoding into the fields validation and identity
 * matching use. Parsing never throws; malformed input is `IKE_ERR_PKI_MALFORMED` and oversized
 * input `IKE_ERR_PKI_TOO_LARGE` (a 64 KiB CERT payload is refused before any parsing).
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity,
 *                                 subject, subjectPublicKeyInfo, [1] [2] uniqueIDs, [3] extensions }
 */
import { createHash } from "node:crypto";
import { DerError, Tag, bitString, ctx, expect, oid, parseDer, seq, smallInt, time } from "./der.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { decodeExtensions, type CertExtensions } from "./extensions.js";
import { decodeName, formatName, type DistinguishedName } from "./name.js";
import { KeyAlg } from "./oids.js";
import { decodeSigAlg, serialHex, type SigAlg } from "./sig-alg.js";

/** Largest certificate accepted (an RSA-8192 certificate with many names is under 4 KiB). */
export const MAX_CERT_BYTES = 16 * 1024;

/** Subject key families by SPKI algorithm. */
export type KeyFamily = "rsa" | "rsa-pss" | "dsa" | "ec" | "ed25519" | "ed448" | "unknown";

const KEY_FAMILIES: ReadonlyMap<string, KeyFamily> = new Map([
  [KeyAlg.rsaEncryption, "rsa"],
  [KeyAlg.rsassaPss, "rsa-pss"],
  [KeyAlg.dsa, "dsa"],
  [KeyAlg.ecPublicKey, "ec"],
  [KeyAlg.ed25519, "ed25519"],
  [KeyAlg.ed448, "ed448"],
]);

/** A decoded certificate. Buffers are views into `der`. */
export interface Certificate {
  readonly der: Buffer;
  /** The TBSCertificate bytes, exactly as signed. */
  readonly tbs: Buffer;
  readonly version: number;
  /** Serial number, lower-case hex. */
  readonly serial: string;
  readonly sigAlg: SigAlg;
  readonly signature: Buffer;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  /** Validity, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  readonly keyFamily: KeyFamily;
  readonly ext: CertExtensions;
  /** SHA-256 of the DER, hex: the certificate's identity in caches and logs. */
  readonly fingerprint: string;
  /** `formatName(subject)`, for logs and listings. */
  readonly subjectText: string;
}

function decode(der: Buffer): PkiResult<Certificate> {
  const [tbsT0, algT, sigT, extra] = seq(parseDer(der), "Certificate");
  const tbsT = expect(tbsT0, Tag.SEQUENCE, "TBSCertificate");
  if (extra !== undefined) throw new DerError("Certificate has extra fields");
  const f = seq(tbsT, "TBSCertificate");
  let i = 0;
  let version = 1;
  if (f[0]?.tag === ctx(0, true)) {
    const [v, more] = seq(f[0], "version", f[0].tag);
    if (more !== undefined) throw new DerError("version has extra fields");
    version = smallInt(v, "version") + 1;
    // DER: v1 (the DEFAULT) is never encoded; X.509 knows v1..v3.
    if (version < 2 || version > 3) throw new DerError(`certificate version ${version}`);
    i = 1;
  }
  const serialT = expect(f[i++], Tag.INTEGER, "serialNumber");
  const innerAlgT = expect(f[i++], Tag.SEQUENCE, "signature");
  const issuer = decodeName(expect(f[i++], Tag.SEQUENCE, "issuer"));
  const [nb, na, vx] = seq(f[i++], "validity");
  if (vx !== undefined) throw new DerError("validity has extra fields");
  const subject = decodeName(expect(f[i++], Tag.SEQUENCE, "subject"));
  const spkiT = expect(f[i++], Tag.SEQUENCE, "subjectPublicKeyInfo");
  const [keyAlgT, keyBits, spkiExtra] = seq(spkiT, "subjectPublicKeyInfo");
  if (spkiExtra !== undefined) throw new DerError("subjectPublicKeyInfo has extra fields");
  const keyAlg = oid(seq(keyAlgT, "key algorithm")[0], "key algorithm");
  bitString(keyBits, "subjectPublicKey");
  // issuerUniqueID [1] and subjectUniqueID [2] (v2+) are skipped; extensions [3] only in v3.
  while (f[i] !== undefined && (f[i]!.tag === ctx(1, false) || f[i]!.tag === ctx(2, false))) {
    if (version < 2) throw new DerError("unique identifier in a v1 certificate");
    i++;
  }
  let extT = undefined;
  if (f[i]?.tag === ctx(3, true)) {
    if (version !== 3) throw new DerError("extensions in a v1/v2 certificate");
    extT = f[i++];
  }
  if (f[i] !== undefined) throw new DerError("TBSCertificate has extra fields");
  // RFC 5280 §4.1.1.2: the outer algorithm must equal the signed one.
  if (!algT || !innerAlgT.der.equals(algT.der)) throw new DerError("signatureAlgorithm differs from the TBS signature field");
  const sigAlg = decodeSigAlg(algT);
  const subjectText = formatName(subject);
  if (!sigAlg.ok) return pkiFail(sigAlg.error.code, sigAlg.error.message, subjectText);
  const sig = bitString(sigT, "signatureValue");
  if (sig.unused !== 0) throw new DerError("signatureValue with unused bits");
  return {
    ok: true,
    value: {
      der,
      tbs: tbsT.der,
      version,
      serial: serialHex(serialT),
      sigAlg: sigAlg.value,
      signature: sig.bytes,
      issuer,
      subject,
      notBefore: time(nb, "notBefore"),
      notAfter: time(na, "notAfter"),
      spki: spkiT.der,
      keyFamily: KEY_FAMILIES.get(keyAlg) ?? "unknown",
      ext: decodeExtensions(extT),
      fingerprint: createHash("sha256").update(der).digest("hex"),
      subjectText,
    },
  };
}

/**
 * Decodes one DER certificate. Input bytes are copied, so the result does not pin a datagram.
 * Never throws.
 */
export function parseCertificate(input: Uint8Array): PkiResult<Certificate> {
  if (input.length > MAX_CERT_BYTES) {
    return pkiFail(PkiCode.TooLarge, `certificate of ${input.length} bytes (at most ${MAX_CERT_BYTES})`);
  }
  const der = Buffer.from(input);
  try {
    return decode(der);
  } catch (err) {
    // DerError, or a RangeError from a malformed string value: both are bad input.
    return pkiFail(PkiCode.Malformed, `certificate does not decode: ${(err as Error).message}`);
  }
}

/** Whether the certificate names itself as issuer (a self-issued certificate, RFC 5280 §6.1). */
export function isSelfIssued(c: Certificate): boolean {
  return c.issuer.der.equals(c.subject.der);
}
