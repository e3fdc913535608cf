/**
 * Notification payload — RFC 2408 §3.14; IPsec DOI status types RFC 2407 §4.6.3; DPD RFC 3706.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !              Domain of Interpretation  (DOI)                  !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Liberal where peers differ: protocol 0 (strongSwan's unauthenticated errors) and SPI sizes 0, 2, 4,
 * 8 and 16 (cookie pair for ISAKMP, as DPD and INITIAL-CONTACT use) are accepted; unknown notify
 * types decode (RFC 2408 §3.14.1 leaves their handling to the receiver).
 */
import { spec, u8, u16, u32, lengthOf, sized, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { Doi, PayloadType, ProtocolId } from "../constants.js";
import { notifyLabel } from "../notify-constants.js";
import type { PayloadBase } from "./payload.js";

/** N payload. */
export interface NotifyPayload extends PayloadBase {
  readonly type: typeof PayloadType.N;
  readonly doi: number;
  readonly protocolId: number;
  readonly notifyType: number;
  readonly spi: Buffer;
  readonly data: Buffer;
}

/** Layout of an N body. */
export const notifySpec = spec(
  "N",
  [u32("doi", Doi), u8("protocolId", ProtocolId), lengthOf(1, "spi"), u16("notifyType", (n) => notifyLabel(n)), sized("spi"), rest("data")],
  {
    verifyPrefix(n: NotifyPayload, bodyStart, _ctx, s) {
      if (n.doi !== Doi.Isakmp && n.doi !== Doi.Ipsec) {
        return decodeError("IKE_ERR_DOI_NOT_SUPPORTED", at(s, bodyStart, "doi"), PayloadType.N, `DOI ${n.doi}`);
      }
      if (n.protocolId > ProtocolId.IPCOMP) {
        return decodeError("IKE_ERR_INVALID_PROTOCOL_ID", at(s, bodyStart, "protocolId"), PayloadType.N, `protocol ${n.protocolId}`);
      }
      return null;
    },
    verify(n: NotifyPayload, bodyStart, _ctx, s) {
      const size = n.spi.length;
      if (size !== 0 && size !== 2 && size !== 4 && size !== 8 && size !== 16) {
        return decodeError("IKE_ERR_INVALID_SPI", at(s, bodyStart, "#spi"), PayloadType.N, `SPI size ${size}`);
      }
      return null;
    },
  },
);
