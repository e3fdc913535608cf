/**
 * Delete payload — RFC 2408 §3.15.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !              Domain of Interpretation  (DOI)                  !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Protocol-Id  !   SPI Size    !           # of SPIs           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~               Security Parameter Index(es) (SPI)              ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `spiSize` is kept as a field (not derived) so an empty SPI list still encodes the peer's size.
 * The SPIs must fill the payload exactly: # of SPIs × SPI size = bytes left.
 */
import { spec, u8, u32, lengthOf, array, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { Doi, PayloadType, ProtocolId } from "../constants.js";
import { validSpiSize } from "./proposal.js";
import type { PayloadBase } from "./payload.js";

/** D payload. */
export interface DeletePayload extends PayloadBase {
  readonly type: typeof PayloadType.D;
  readonly doi: number;
  readonly protocolId: number;
  readonly spiSize: number;
  readonly spis: readonly Buffer[];
}

/** Layout of a D body. */
export const deleteSpec = spec(
  "D",
  [u32("doi", Doi), u8("protocolId", ProtocolId), u8("spiSize"), lengthOf(2, "spis"), array("spis", { sizeFrom: "spiSize", code: "IKE_ERR_INVALID_DELETE" })],
  {
    verifyPrefix(d: DeletePayload, bodyStart, _ctx, s) {
      if (d.doi !== Doi.Isakmp && d.doi !== Doi.Ipsec) {
        return decodeError("IKE_ERR_DOI_NOT_SUPPORTED", at(s, bodyStart, "doi"), PayloadType.D, `DOI ${d.doi}`);
      }
      if (d.protocolId < ProtocolId.ISAKMP || d.protocolId > ProtocolId.IPCOMP) {
        return decodeError("IKE_ERR_INVALID_PROTOCOL_ID", at(s, bodyStart, "protocolId"), PayloadType.D, `protocol ${d.protocolId}`);
      }
      // A delete names SAs, so unlike a proposal an ISAKMP delete must carry the 16-byte cookie pair.
      if (!validSpiSize(d.protocolId, d.spiSize) || d.spiSize === 0) {
        return decodeError("IKE_ERR_INVALID_SPI", at(s, bodyStart, "spiSize"), PayloadType.D, `SPI size ${d.spiSize} for protocol ${d.protocolId}`);
      }
      return null;
    },
    verify(d: DeletePayload, bodyStart, _ctx, s) {
      if (d.spis.length === 0) return decodeError("IKE_ERR_INVALID_DELETE", at(s, bodyStart, "#spis"), PayloadType.D, "no SPIs");
      return null;
    },
  },
);
