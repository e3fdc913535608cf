/**
 * Notification Data that is an SA attribute list — RFC 2407 §4.6.3.1 (RESPONDER-LIFETIME: "the
 * Notification Data field contains an attribute list", the §4.5 SA attributes; Phase 1's uses the
 * RFC 2409 appendix A classes). Decoded and encoded by the same spec engine as every payload, so the
 * table tests and the mutation fuzzer cover it.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !A!       Attribute Type        !    AF=0  Attribute Length     !
 * !F!                             !    AF=1  Attribute Value      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                   AF=0  Attribute Value                       .
 * .                   AF=1  Not Transmitted                       .
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ... repeated to the end of the Notification Data
 *
 * Which form an attribute takes is not checked here: peers send a Phase 1 RESPONDER-LIFETIME with
 * either class numbering, and the reader in src/ike decides what it accepts.
 */
import { attributes, spec, type DataAttribute } from "../fields.js";
import { PayloadType } from "../constants.js";
import { decodeStructure, encodeStructure, type DecodeEngine } from "../message.js";
import type { DecodeError } from "../errors.js";
import type { Result } from "../result.js";
import { MAX_ATTRIBUTES } from "./transform.js";

/** Layout of an attribute-list Notification Data. */
export const notifyAttributesSpec = spec("NotifyAttributes", [attributes("attributes", { max: MAX_ATTRIBUTES, checkForm: false })]);

/** The attributes of a notify's data; errors are values, offsets count from the data's first byte. */
export function decodeNotifyAttributes(data: Buffer, engine: DecodeEngine = "compiled"): Result<DataAttribute[], DecodeError> {
  const r = decodeStructure(notifyAttributesSpec, data, PayloadType.N, engine);
  return r.ok ? { ok: true, value: r.value["attributes"] as DataAttribute[] } : r;
}

/** Notification Data carrying `attrs` (the inverse of {@link decodeNotifyAttributes}). */
export function encodeNotifyAttributes(attrs: readonly DataAttribute[]): Buffer {
  return encodeStructure(notifyAttributesSpec, { attributes: attrs });
}
