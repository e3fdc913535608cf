/**
 * `DecodeError`: what the codec says about bytes it refuses. A value, never thrown (STYLE §3.3).
 * Each stable `IKE_ERR_...` code maps to the ISAKMP notify (RFC 2408 §3.14.1) a peer would be sent;
 * whether to send it is decided in `ike/`, never here.
 */
import { Notify } from "./notify-constants.js";

/** Stable decode error codes and the notify type each maps to. */
export const DecodeErrorNotify = {
  IKE_ERR_DATAGRAM_TOO_SHORT: Notify.UnequalPayloadLengths,
  IKE_ERR_DATAGRAM_TOO_LARGE: Notify.PayloadMalformed,
  IKE_ERR_LENGTH_MISMATCH: Notify.UnequalPayloadLengths,
  IKE_ERR_INVALID_COOKIE: Notify.InvalidCookie,
  IKE_ERR_INVALID_MAJOR_VERSION: Notify.InvalidMajorVersion,
  IKE_ERR_INVALID_MINOR_VERSION: Notify.InvalidMinorVersion,
  IKE_ERR_INVALID_EXCHANGE_TYPE: Notify.InvalidExchangeType,
  IKE_ERR_INVALID_FLAGS: Notify.InvalidFlags,
  IKE_ERR_INVALID_MESSAGE_ID: Notify.InvalidMessageId,
  IKE_ERR_EMPTY_ENCRYPTED_BODY: Notify.PayloadMalformed,
  IKE_ERR_INVALID_PAYLOAD_TYPE: Notify.InvalidPayloadType,
  IKE_ERR_PAYLOAD_TRUNCATED: Notify.UnequalPayloadLengths,
  IKE_ERR_PAYLOAD_LENGTH: Notify.UnequalPayloadLengths,
  IKE_ERR_PAYLOAD_TOO_SHORT: Notify.PayloadMalformed,
  IKE_ERR_TRAILING_DATA: Notify.UnequalPayloadLengths,
  IKE_ERR_RESERVED_NOT_ZERO: Notify.PayloadMalformed,
  IKE_ERR_TOO_MANY_PAYLOADS: Notify.PayloadMalformed,
  IKE_ERR_TOO_MANY_PROPOSALS: Notify.PayloadMalformed,
  IKE_ERR_TOO_MANY_TRANSFORMS: Notify.PayloadMalformed,
  IKE_ERR_TOO_MANY_ATTRIBUTES: Notify.PayloadMalformed,
  IKE_ERR_DOI_NOT_SUPPORTED: Notify.DoiNotSupported,
  IKE_ERR_SITUATION_NOT_SUPPORTED: Notify.SituationNotSupported,
  IKE_ERR_BAD_PROPOSAL_SYNTAX: Notify.BadProposalSyntax,
  IKE_ERR_TRANSFORM_COUNT: Notify.BadProposalSyntax,
  IKE_ERR_INVALID_PROTOCOL_ID: Notify.InvalidProtocolId,
  IKE_ERR_INVALID_SPI: Notify.InvalidSpi,
  IKE_ERR_INVALID_TRANSFORM_ID: Notify.InvalidTransformId,
  IKE_ERR_ATTRIBUTE_TRUNCATED: Notify.PayloadMalformed,
  IKE_ERR_ATTRIBUTE_FORM: Notify.AttributesNotSupported,
  IKE_ERR_INVALID_KEY_INFORMATION: Notify.InvalidKeyInformation,
  IKE_ERR_INVALID_ID_INFORMATION: Notify.InvalidIdInformation,
  IKE_ERR_INVALID_CERT_ENCODING: Notify.InvalidCertEncoding,
  IKE_ERR_INVALID_HASH_INFORMATION: Notify.InvalidHashInformation,
  IKE_ERR_INVALID_SIGNATURE: Notify.InvalidSignature,
  IKE_ERR_INVALID_NONCE: Notify.PayloadMalformed,
  IKE_ERR_INVALID_NOTIFY: Notify.PayloadMalformed,
  IKE_ERR_INVALID_DELETE: Notify.PayloadMalformed,
  IKE_ERR_INVALID_VENDOR_ID: Notify.PayloadMalformed,
  IKE_ERR_INVALID_NAT_D: Notify.PayloadMalformed,
  IKE_ERR_INVALID_NAT_OA: Notify.PayloadMalformed,
  IKE_ERR_INVALID_FRAGMENT: Notify.PayloadMalformed,
  IKE_ERR_INVALID_CFG_TYPE: Notify.PayloadMalformed,
  IKE_ERR_UNEXPECTED_PAYLOAD: Notify.InvalidPayloadType,
  IKE_ERR_MISSING_PAYLOAD: Notify.PayloadMalformed,
  IKE_ERR_REPEATED_PAYLOAD: Notify.PayloadMalformed,
  IKE_ERR_PAYLOAD_ORDER: Notify.PayloadMalformed,
  IKE_ERR_NOT_ENCRYPTED: Notify.InvalidFlags,
  IKE_ERR_UNEXPECTED_ENCRYPTION: Notify.InvalidFlags,
  IKE_ERR_WRONG_EXCHANGE: Notify.InvalidExchangeType,
  IKE_ERR_SA_PROTOCOL: Notify.InvalidProtocolId,
} as const;

/** A stable decode error code. */
export type DecodeErrorCode = keyof typeof DecodeErrorNotify;

/**
 * Why the codec refused some bytes: `code` (stable), `notify` (the ISAKMP notify type it maps to),
 * `offset` (byte offset in the datagram — for a decrypted body, offsets count from the start of the
 * datagram as if the body followed the 28-byte header), `payloadType` (where known) and `detail`
 * (numbers only; never payload content, so no secret can leak into a log).
 */
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly notify: number;
  readonly offset: number;
  readonly payloadType: number | undefined;
  readonly detail: string;
}

/** Builds a `DecodeError`, taking `notify` from the code's row in `DecodeErrorNotify`. */
export function decodeError(
  code: DecodeErrorCode,
  offset: number,
  payloadType: number | undefined,
  detail: string,
): DecodeError {
  return { code, notify: DecodeErrorNotify[code], offset, payloadType, detail };
}
