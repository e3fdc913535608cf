/**
 * Proposal payload — RFC 2408 §3.5, RFC 2407 §4.4.1 (protocol identifiers).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Proposal #   !  Protocol-Id  !    SPI Size   !# of Transforms!
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                        SPI (variable)                         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        Transforms ...                         ~
 *
 * The SPI size and transform count are derived from `spi` and `transforms` on encode and checked
 * on decode (a count that disagrees with the chain is BAD-PROPOSAL-SYNTAX).
 */
import { spec, u8, lengthOf, sized, chain, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType, ProtocolId } from "../constants.js";
import { transformSpec, type TransformPayload } from "./transform.js";

/** Most transforms one proposal may carry. */
export const MAX_TRANSFORMS = 64;

/** A proposal inside an SA payload. */
export interface ProposalPayload {
  readonly type: typeof PayloadType.Proposal;
  readonly proposalNumber: number;
  readonly protocolId: number;
  readonly spi: Buffer;
  readonly transforms: readonly TransformPayload[];
}

/**
 * Whether `size` is a valid SPI size for `protocolId`: ISAKMP 0 or 16 (RFC 2408 §2.4: the cookies,
 * usually omitted), AH/ESP 4 (RFC 2407 §4.4.1), IPCOMP 2 (the CPI, RFC 2393) or 4 (padded CPI,
 * which RFC 2407 §4.4.1.3 permits).
 */
export function validSpiSize(protocolId: number, size: number): boolean {
  switch (protocolId) {
    case ProtocolId.ISAKMP:
      return size === 0 || size === 16;
    case ProtocolId.IPSEC_AH:
    case ProtocolId.IPSEC_ESP:
      return size === 4;
    case ProtocolId.IPCOMP:
      return size === 2 || size === 4;
    default:
      return false;
  }
}

/** Layout of a proposal body. */
export const proposalSpec = spec(
  "Proposal",
  [
    u8("proposalNumber"),
    u8("protocolId", ProtocolId),
    lengthOf(1, "spi"),
    lengthOf(1, "transforms"),
    sized("spi"),
    chain("transforms", {
      payloadType: PayloadType.Transform,
      item: transformSpec,
      max: MAX_TRANSFORMS,
      tooMany: "IKE_ERR_TOO_MANY_TRANSFORMS",
      countMismatch: "IKE_ERR_TRANSFORM_COUNT",
    }),
  ],
  {
    verifyPrefix(p: ProposalPayload & { spi: unknown }, bodyStart, _ctx, s) {
      if (p.protocolId < ProtocolId.ISAKMP || p.protocolId > ProtocolId.IPCOMP) {
        return decodeError("IKE_ERR_INVALID_PROTOCOL_ID", at(s, bodyStart, "protocolId"), PayloadType.Proposal, `protocol ${p.protocolId}`);
      }
      return null;
    },
    verify(p: ProposalPayload, bodyStart, _ctx, s) {
      if (!validSpiSize(p.protocolId, p.spi.length)) {
        return decodeError("IKE_ERR_INVALID_SPI", at(s, bodyStart, "#spi"), PayloadType.Proposal, `SPI size ${p.spi.length} for protocol ${p.protocolId}`);
      }
      // RFC 4303 §2.1 / RFC 4302 §2.4: SPIs 1-255 are reserved by IANA and 0 is for local use only.
      if ((p.protocolId === ProtocolId.IPSEC_AH || p.protocolId === ProtocolId.IPSEC_ESP) && p.spi.readUInt32BE(0) < 256) {
        return decodeError("IKE_ERR_INVALID_SPI", at(s, bodyStart, "spi"), PayloadType.Proposal, `reserved SPI value ${p.spi.readUInt32BE(0)}`);
      }
      return null;
    },
  },
);
