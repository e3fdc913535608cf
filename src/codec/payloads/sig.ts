/**
 * Signature payload — RFC 2408 §3.12.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Signature Data                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** SIG payload. */
export interface SigPayload extends PayloadBase {
  readonly type: typeof PayloadType.SIG;
  readonly data: Buffer;
}

/** Layout of a SIG body. */
export const sigSpec = spec("SIG", [rest("data")], {
  verify(sg: SigPayload, bodyStart) {
    if (sg.data.length === 0) return decodeError("IKE_ERR_INVALID_SIGNATURE", bodyStart, PayloadType.SIG, "empty signature data");
    return null;
  },
});
