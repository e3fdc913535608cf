/**
 * NAT-Discovery payload — RFC 3947 §3.2 (payload 20; 130 in the drafts that peers still send).
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !        Payload length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                 HASH of the address and port                  ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** NAT-D payload, under either payload number. */
export interface NatDPayload extends PayloadBase {
  readonly type: typeof PayloadType.NATD | typeof PayloadType.NATDDraft;
  readonly hash: Buffer;
}

/** Layout of a NAT-D body. */
export const natDSpec = spec("NAT-D", [rest("hash")], {
  verify(n: NatDPayload, bodyStart) {
    if (n.hash.length === 0) return decodeError("IKE_ERR_INVALID_NAT_D", bodyStart - 2, n.type, "empty NAT-D hash");
    return null;
  },
});
