/**
 * Hash payload — RFC 2408 §3.11.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                           Hash Data                           ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Its length must equal the negotiated PRF's output; `ike/` checks that (it knows the PRF).
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** HASH payload. */
export interface HashPayload extends PayloadBase {
  readonly type: typeof PayloadType.HASH;
  readonly data: Buffer;
}

/** Layout of a HASH body. */
export const hashSpec = spec("HASH", [rest("data")], {
  verify(h: HashPayload, bodyStart) {
    if (h.data.length === 0) return decodeError("IKE_ERR_INVALID_HASH_INFORMATION", bodyStart, PayloadType.HASH, "empty hash data");
    return null;
  },
});
