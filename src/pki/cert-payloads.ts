/**
 * The certificates a peer sent in CERT payloads (RFC 2408 §3.9, RFC 4945 §3.3): X.509 Signature
 * (encoding 4) is understood; other defined encodings are CERT-TYPE-UNSUPPORTED, undefined ones
 * INVALID-CERT-ENCODING. More than `max_certs` payloads are refused before any is parsed, so a peer
 * cannot make the main thread decode an unbounded list.
 */
import { CertEncoding } from "../codec/constants.js";
import { parseCertificate, type Certificate } from "./certificate.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";

/** A CERT payload as the codec decodes it (src/codec/payloads/cert.ts). */
export interface CertPayloadData {
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Parses the X.509 certificates of a message's CERT payloads, in order. */
export function parseCertPayloads(payloads: readonly CertPayloadData[], maxCerts: number): PkiResult<Certificate[]> {
  if (payloads.length > maxCerts) return pkiFail(PkiCode.ChainTooLong, `${payloads.length} CERT payloads, max_certs is ${maxCerts}`);
  const out: Certificate[] = [];
  for (const p of payloads) {
    if (p.encoding !== CertEncoding.X509Signature) {
      if (p.encoding >= CertEncoding.PKCS7WrappedX509 && p.encoding <= CertEncoding.X509Attribute) {
        return pkiFail(PkiCode.CertTypeUnsupported, `CERT encoding ${p.encoding} is not supported (only X.509 signature, 4)`);
      }
      return pkiFail(PkiCode.CertEncodingInvalid, `CERT encoding ${p.encoding} is not defined`);
    }
    const c = parseCertificate(p.data);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return { ok: true, value: out };
}
