/**
 * Nonce payload — RFC 2408 §3.13; length bounds from RFC 2409 §5 ("between 8 and 256 bytes").
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                            Nonce Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** Shortest and longest nonce RFC 2409 §5 allows. */
export const NONCE_MIN = 8;
export const NONCE_MAX = 256;

/** NONCE payload. */
export interface NoncePayload extends PayloadBase {
  readonly type: typeof PayloadType.NONCE;
  readonly data: Buffer;
}

/** Layout of a NONCE body. */
export const nonceSpec = spec("NONCE", [rest("data")], {
  verify(n: NoncePayload, bodyStart) {
    if (n.data.length < NONCE_MIN || n.data.length > NONCE_MAX) {
      return decodeError("IKE_ERR_INVALID_NONCE", bodyStart - 2, PayloadType.NONCE, `nonce of ${n.data.length} bytes`);
    }
    return null;
  },
});
