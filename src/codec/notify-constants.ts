/**
 * Notify message types (RFC 2408 §3.14.1 errors 1–30 and status 16384, RFC 2407 §4.6.3 IPsec DOI
 * status types, RFC 3706 dead-peer detection), with their RFC spellings for logs and `ikeadm`.
 */

/** Notify message types. */
export const Notify = {
  InvalidPayloadType: 1,
  DoiNotSupported: 2,
  SituationNotSupported: 3,
  InvalidCookie: 4,
  InvalidMajorVersion: 5,
  InvalidMinorVersion: 6,
  InvalidExchangeType: 7,
  InvalidFlags: 8,
  InvalidMessageId: 9,
  InvalidProtocolId: 10,
  InvalidSpi: 11,
  InvalidTransformId: 12,
  AttributesNotSupported: 13,
  NoProposalChosen: 14,
  BadProposalSyntax: 15,
  PayloadMalformed: 16,
  InvalidKeyInformation: 17,
  InvalidIdInformation: 18,
  InvalidCertEncoding: 19,
  InvalidCertificate: 20,
  CertTypeUnsupported: 21,
  InvalidCertAuthority: 22,
  InvalidHashInformation: 23,
  AuthenticationFailed: 24,
  InvalidSignature: 25,
  AddressNotification: 26,
  NotifySaLifetime: 27,
  CertificateUnavailable: 28,
  UnsupportedExchangeType: 29,
  UnequalPayloadLengths: 30,
  Connected: 16384,
  ResponderLifetime: 24576,
  ReplayStatus: 24577,
  InitialContact: 24578,
  RUThere: 36136,
  RUThereAck: 36137,
} as const;
export type NotifyValue = (typeof Notify)[keyof typeof Notify];

const LABELS: ReadonlyMap<number, string> = new Map<number, string>([
  [1, "INVALID-PAYLOAD-TYPE"],
  [2, "DOI-NOT-SUPPORTED"],
  [3, "SITUATION-NOT-SUPPORTED"],
  [4, "INVALID-COOKIE"],
  [5, "INVALID-MAJOR-VERSION"],
  [6, "INVALID-MINOR-VERSION"],
  [7, "INVALID-EXCHANGE-TYPE"],
  [8, "INVALID-FLAGS"],
  [9, "INVALID-MESSAGE-ID"],
  [10, "INVALID-PROTOCOL-ID"],
  [11, "INVALID-SPI"],
  [12, "INVALID-TRANSFORM-ID"],
  [13, "ATTRIBUTES-NOT-SUPPORTED"],
  [14, "NO-PROPOSAL-CHOSEN"],
  [15, "BAD-PROPOSAL-SYNTAX"],
  [16, "PAYLOAD-MALFORMED"],
  [17, "INVALID-KEY-INFORMATION"],
  [18, "INVALID-ID-INFORMATION"],
  [19, "INVALID-CERT-ENCODING"],
  [20, "INVALID-CERTIFICATE"],
  [21, "CERT-TYPE-UNSUPPORTED"],
  [22, "INVALID-CERT-AUTHORITY"],
  [23, "INVALID-HASH-INFORMATION"],
  [24, "AUTHENTICATION-FAILED"],
  [25, "INVALID-SIGNATURE"],
  [26, "ADDRESS-NOTIFICATION"],
  [27, "NOTIFY-SA-LIFETIME"],
  [28, "CERTIFICATE-UNAVAILABLE"],
  [29, "UNSUPPORTED-EXCHANGE-TYPE"],
  [30, "UNEQUAL-PAYLOAD-LENGTHS"],
  [16384, "CONNECTED"],
  [24576, "RESPONDER-LIFETIME"],
  [24577, "REPLAY-STATUS"],
  [24578, "INITIAL-CONTACT"],
  [36136, "R-U-THERE"],
  [36137, "R-U-THERE-ACK"],
]);

/** The RFC spelling of a notify type ("PAYLOAD-MALFORMED"), or `UNKNOWN(<n>)`. */
export function notifyLabel(type: number): string {
  return LABELS.get(type) ?? `UNKNOWN(${type})`;
}

/** Whether a notify type is an error (RFC 2408 §3.14.1: 1–16383). */
export function isNotifyError(type: number): boolean {
  return type >= 1 && type <= 16383;
}
