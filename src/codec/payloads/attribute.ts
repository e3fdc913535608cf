/**
 * Attribute payload (ISAKMP configuration method, draft-ietf-ipsec-isakmp-mode-cfg-05 §3.2), carried
 * by Transaction exchanges (type 6) for XAUTH and mode-config.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !     Type      !   RESERVED    !           Identifier          !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                           Attributes                          ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The attributes use the RFC 2408 §3.3 TV/TLV encoding; which are basic is not checked (the draft
 * lets either form carry most of them).
 */
import { spec, u8, u16, reserved, attributes, at, type DataAttribute } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** Configuration message types (mode-cfg draft §3.2). */
export const CfgType = { Request: 1, Reply: 2, Set: 3, Ack: 4 } as const;

/** Attribute payload. */
export interface AttributePayload extends PayloadBase {
  readonly type: typeof PayloadType.Attribute;
  readonly cfgType: number;
  readonly identifier: number;
  readonly attributes: readonly DataAttribute[];
}

/** Layout of an Attribute body. */
export const attributeSpec = spec(
  "Attribute",
  [u8("cfgType", CfgType), reserved(1), u16("identifier"), attributes("attributes", { max: 64, checkForm: false })],
  {
    verifyPrefix(a: AttributePayload, bodyStart, _ctx, s) {
      if (a.cfgType < CfgType.Request || a.cfgType > CfgType.Ack) {
        return decodeError("IKE_ERR_INVALID_CFG_TYPE", at(s, bodyStart, "cfgType"), PayloadType.Attribute, `configuration type ${a.cfgType}`);
      }
      return null;
    },
  },
);
