/**
 * Key Exchange payload — RFC 2408 §3.7.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Key Exchange Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The data's length must match the negotiated group; that is checked in `ike/`, which knows it.
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** KE payload: the public DH value g^x. */
export interface KePayload extends PayloadBase {
  readonly type: typeof PayloadType.KE;
  readonly keyData: Buffer;
}

/** Layout of a KE body. */
export const keSpec = spec("KE", [rest("keyData")], {
  verify(ke: KePayload, bodyStart) {
    if (ke.keyData.length === 0) return decodeError("IKE_ERR_INVALID_KEY_INFORMATION", bodyStart, PayloadType.KE, "empty key exchange data");
    return null;
  },
});
