/**
 * Failure codes of certificate handling and the ISAKMP notify each maps to (RFC 2408 §3.14.1).
 *
 * Every check in src/pki returns one of these codes as a value; the exchange (stage 2) sends the
 * notify `notifyFor(code)` and logs the code, the message and the rule. Which notify: RFC 2408 gives
 * only names, so the choice follows what the name says and what strongSwan/isakmpd send:
 * - the certificate itself is bad (does not parse, expired, revoked, wrong usage, bad signature on
 *   it, too long a chain) → INVALID-CERTIFICATE;
 * - no trusted CA vouches for it (unknown issuer, issuer not a CA, path length exceeded)
 *   → INVALID-CERT-AUTHORITY;
 * - a CERT payload in an encoding other than X.509 → CERT-TYPE-UNSUPPORTED; one in no known
 *   encoding at all → INVALID-CERT-ENCODING;
 * - we hold no certificate for the peer and it sent none → CERTIFICATE-UNAVAILABLE;
 * - the SIG payload does not verify → INVALID-SIGNATURE;
 * - the ID payload does not match the certificate → INVALID-ID-INFORMATION;
 * - an authenticated identity the rule's remote_id does not allow → AUTHENTICATION-FAILED.
 */
import { Notify } from "../codec/notify-constants.js";

/** Stable failure codes (STYLE §2: code never branches on message text). */
export const PkiCode = {
  /** DER or X.509 structure does not decode (also a PEM armour that does not). */
  Malformed: "IKE_ERR_PKI_MALFORMED",
  /** Bigger than any certificate or CRL this daemon accepts. */
  TooLarge: "IKE_ERR_PKI_TOO_LARGE",
  /** A CERT payload encoding other than X.509 (RFC 2408 §3.9). */
  CertTypeUnsupported: "IKE_ERR_PKI_CERT_TYPE",
  /** A CERT payload encoding outside RFC 2408's table. */
  CertEncodingInvalid: "IKE_ERR_PKI_CERT_ENCODING",
  /** A signature or key algorithm this code does not verify, or refuses as broken (MD5). */
  UnsupportedAlgorithm: "IKE_ERR_PKI_ALGORITHM",
  Expired: "IKE_ERR_PKI_EXPIRED",
  NotYetValid: "IKE_ERR_PKI_NOT_YET_VALID",
  Revoked: "IKE_ERR_PKI_REVOKED",
  /** A CRL is required (no `ignore_crls`) but none is held, or the one held has expired. */
  CrlUnavailable: "IKE_ERR_PKI_CRL_UNAVAILABLE",
  /** A certificate's (or CRL's) signature does not verify with its issuer's key. */
  BadCertSignature: "IKE_ERR_PKI_CERT_SIGNATURE",
  /** keyUsage or extendedKeyUsage does not allow the use. */
  KeyUsage: "IKE_ERR_PKI_KEY_USAGE",
  /** An unrecognised critical extension (RFC 5280 §4.2). */
  CriticalExtension: "IKE_ERR_PKI_CRITICAL_EXTENSION",
  /** More certificates than `max_certs` in a chain or in one message. */
  ChainTooLong: "IKE_ERR_PKI_CHAIN_TOO_LONG",
  /** No path to a `cert_root` or `cert_trust` anchor. */
  UnknownCa: "IKE_ERR_PKI_UNKNOWN_CA",
  /** An issuer without basicConstraints cA or without keyCertSign. */
  NotCa: "IKE_ERR_PKI_NOT_CA",
  PathLength: "IKE_ERR_PKI_PATH_LENGTH",
  /** No certificate for the peer: none sent, none on disk or in the cache. */
  CertUnavailable: "IKE_ERR_PKI_CERT_UNAVAILABLE",
  /** The peer's SIG payload does not verify (stage 2 reports it through this code). */
  BadSignature: "IKE_ERR_PKI_SIGNATURE",
  /** The ID payload names something the certificate does not carry. */
  IdMismatch: "IKE_ERR_PKI_ID_MISMATCH",
  /** The identity is authenticated but the rule's remote_id does not allow it. */
  IdNotAllowed: "IKE_ERR_PKI_ID_NOT_ALLOWED",
} as const;
export type PkiErrorCode = (typeof PkiCode)[keyof typeof PkiCode];

/** A failed check: a code, a human message (never key material), and which certificate. */
export interface PkiError {
  readonly code: PkiErrorCode;
  readonly message: string;
  /** Subject of the certificate concerned, when there is one. */
  readonly subject?: string;
}

/** Success or a `PkiError`. */
export type PkiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PkiError };

/** A failure value. */
export function pkiFail(code: PkiErrorCode, message: string, subject?: string): { ok: false; error: PkiError } {
  return { ok: false, error: subject === undefined ? { code, message } : { code, message, subject } };
}

const NOTIFY: Readonly<Record<PkiErrorCode, number>> = {
  IKE_ERR_PKI_MALFORMED: Notify.InvalidCertificate,
  IKE_ERR_PKI_TOO_LARGE: Notify.InvalidCertificate,
  IKE_ERR_PKI_CERT_TYPE: Notify.CertTypeUnsupported,
  IKE_ERR_PKI_CERT_ENCODING: Notify.InvalidCertEncoding,
  IKE_ERR_PKI_ALGORITHM: Notify.InvalidCertificate,
  IKE_ERR_PKI_EXPIRED: Notify.InvalidCertificate,
  IKE_ERR_PKI_NOT_YET_VALID: Notify.InvalidCertificate,
  IKE_ERR_PKI_REVOKED: Notify.InvalidCertificate,
  IKE_ERR_PKI_CRL_UNAVAILABLE: Notify.InvalidCertificate,
  IKE_ERR_PKI_CERT_SIGNATURE: Notify.InvalidCertificate,
  IKE_ERR_PKI_KEY_USAGE: Notify.InvalidCertificate,
  IKE_ERR_PKI_CRITICAL_EXTENSION: Notify.InvalidCertificate,
  IKE_ERR_PKI_CHAIN_TOO_LONG: Notify.InvalidCertificate,
  IKE_ERR_PKI_UNKNOWN_CA: Notify.InvalidCertAuthority,
  IKE_ERR_PKI_NOT_CA: Notify.InvalidCertAuthority,
  IKE_ERR_PKI_PATH_LENGTH: Notify.InvalidCertAuthority,
  IKE_ERR_PKI_CERT_UNAVAILABLE: Notify.CertificateUnavailable,
  IKE_ERR_PKI_SIGNATURE: Notify.InvalidSignature,
  IKE_ERR_PKI_ID_MISMATCH: Notify.InvalidIdInformation,
  IKE_ERR_PKI_ID_NOT_ALLOWED: Notify.AuthenticationFailed,
};

/** The ISAKMP notify message type to send for a failure code. */
export function notifyFor(code: PkiErrorCode): number {
  return NOTIFY[code];
}
