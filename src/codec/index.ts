/**
 * The ISAKMP wire codec (RFC 2408, 2407, 2409, 3947, 3706): public API. No I/O, no crypto, no policy.
 *
 * Receive: `decodeMessage(datagram)` → a clear message's payloads, or an encrypted message's header
 * and ciphertext; decrypt, then `decodeDecrypted(header, plaintext)`; then
 * `checkRules(position, header, payloads)` before a state machine sees it.
 * Send: `encodeMessage(header, payloads)`, or `encodePayloads` → pad and encrypt →
 * `encodeEncrypted(header, firstPayloadType, ciphertext)`.
 * Errors are `DecodeError` values with a stable `code`, the `notify` it maps to and an `offset`.
 */
export { ok, err, type Result } from "./result.js";
export { decodeError, DecodeErrorNotify, type DecodeError, type DecodeErrorCode } from "./errors.js";
export { nameOf, isKnown, type NumberTable } from "./names.js";
export * from "./constants.js";
export * from "./attributes-constants.js";
export { Notify, notifyLabel, isNotifyError, type NotifyValue } from "./notify-constants.js";
export { MAX_DATAGRAM, headerSpec, type Header, type HeaderInit } from "./header.js";
export {
  MAX_PAYLOADS,
  decodeHeader,
  decodeMessage,
  decodeMessageBody,
  type BodyOptions,
  decodeDecrypted,
  decodePayloads,
  encodePayloads,
  encodeHeader,
  encodeMessage,
  encodeEncrypted,
  fixLength,
  type ChainOptions,
  type Message,
  type PlainMessage,
  type EncryptedMessage,
} from "./message.js";
export { RULES, checkRules, type MessagePosition, type MessageRule, type CountRule } from "./rules.js";
export { dumpHeader, dumpPayload, dumpMessage, type Redact } from "./dump.js";
export type { DataAttribute } from "./fields.js";
export { attributeNumber, findAttribute, variableAttribute } from "./payloads/attributes.js";
export { decodeNotifyAttributes, encodeNotifyAttributes } from "./payloads/notify-attributes.js";
export { payloadSpec } from "./payloads/index.js";
/** Every payload type (`Payload`, `PayloadOf`, `SaPayload` ... `FragmentPayload`, `PayloadRaw`). */
export type * from "./payloads/index.js";
export { MAX_PROPOSALS } from "./payloads/sa.js";
export { MAX_TRANSFORMS, validSpiSize } from "./payloads/proposal.js";
export { MAX_ATTRIBUTES } from "./payloads/transform.js";
export { NONCE_MIN, NONCE_MAX } from "./payloads/nonce.js";
export { idDataLength } from "./payloads/id.js";
export { CfgType } from "./payloads/attribute.js";
