/**
 * NAT Original Address payload — RFC 3947 §5.2 (payload 21; 131 in the drafts).
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !        Payload length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !    ID Type    !   RESERVED    !            RESERVED           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !         IPv4 (4 octets) or IPv6 address (16 octets)           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, u8, reserved, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { IdType } from "../constants.js";
import type { PayloadBase } from "./payload.js";
import { PayloadType } from "../constants.js";

/** NAT-OA payload, under either payload number. */
export interface NatOaPayload extends PayloadBase {
  readonly type: typeof PayloadType.NATOA | typeof PayloadType.NATOADraft;
  readonly idType: number;
  readonly address: Buffer;
}

/** Layout of a NAT-OA body. */
export const natOaSpec = spec("NAT-OA", [u8("idType", IdType), reserved(3), rest("address")], {
  verify(n: NatOaPayload, bodyStart, _ctx, s) {
    const want = n.idType === IdType.ID_IPV4_ADDR ? 4 : n.idType === IdType.ID_IPV6_ADDR ? 16 : -1;
    if (want < 0) return decodeError("IKE_ERR_INVALID_NAT_OA", at(s, bodyStart, "idType"), n.type, `ID type ${n.idType}`);
    if (n.address.length !== want) {
      return decodeError("IKE_ERR_INVALID_NAT_OA", at(s, bodyStart, "address"), n.type, `${n.address.length}-byte address for ID type ${n.idType}`);
    }
    return null;
  },
});
