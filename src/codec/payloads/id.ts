/**
 * Identification payload — RFC 2408 §3.8 with the IPsec DOI fields of RFC 2407 §4.6.2.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !        Payload Length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !   ID Type     !  Protocol ID  !             Port              !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                     Identification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * In phase 1 the protocol/port are 0/0 or UDP/500 (RFC 2407 §4.6.2); in quick mode they select
 * traffic. Both are policy questions for `ike/`; here only the data's shape per type is checked.
 * The body (without generic header) is IDii_b / IDir_b of RFC 2409 §5: see `raw.body`.
 */
import { spec, u8, u16, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { IdType, PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** ID payload. `data` is the raw identification data (address bytes, name, DER). */
export interface IdPayload extends PayloadBase {
  readonly type: typeof PayloadType.ID;
  readonly idType: number;
  readonly protocolId: number;
  readonly port: number;
  readonly data: Buffer;
}

/** Exact data length for the address types (RFC 2407 §4.6.2.2–4.6.2.12); 0 means "at least one byte". */
export function idDataLength(idType: number): number {
  switch (idType) {
    case IdType.ID_IPV4_ADDR:
      return 4;
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV4_ADDR_RANGE:
      return 8;
    case IdType.ID_IPV6_ADDR:
      return 16;
    case IdType.ID_IPV6_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_RANGE:
      return 32;
    default:
      return 0;
  }
}

/** Layout of an ID body. */
export const idSpec = spec("ID", [u8("idType", IdType), u8("protocolId"), u16("port"), rest("data")], {
  verify(id: IdPayload, bodyStart, _ctx, s) {
    if (id.idType < IdType.ID_IPV4_ADDR || id.idType > IdType.ID_KEY_ID) {
      return decodeError("IKE_ERR_INVALID_ID_INFORMATION", at(s, bodyStart, "idType"), PayloadType.ID, `ID type ${id.idType}`);
    }
    const want = idDataLength(id.idType);
    if (want > 0 ? id.data.length !== want : id.data.length === 0) {
      return decodeError("IKE_ERR_INVALID_ID_INFORMATION", at(s, bodyStart, "data"), PayloadType.ID,
        `ID type ${id.idType} with ${id.data.length} bytes of data`);
    }
    return null;
  },
});
