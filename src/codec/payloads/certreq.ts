/**
 * Certificate Request payload — RFC 2408 §3.10.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Cert. Type   !                                               !
 * +-+-+-+-+-+-+-+-+                                               !
 * ~                    Certificate Authority                      ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The authority may be empty: "any CA" (strongSwan sends one CR per trusted CA, or an empty one).
 */
import { spec, u8, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { CertEncoding, PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** CR payload. */
export interface CertRequestPayload extends PayloadBase {
  readonly type: typeof PayloadType.CR;
  readonly encoding: number;
  readonly authority: Buffer;
}

/** Layout of a CR body. */
export const certReqSpec = spec("CR", [u8("encoding", CertEncoding), rest("authority")], {
  verify(c: CertRequestPayload, bodyStart, _ctx, s) {
    if (c.encoding < CertEncoding.PKCS7WrappedX509 || c.encoding > CertEncoding.X509Attribute) {
      return decodeError("IKE_ERR_INVALID_CERT_ENCODING", at(s, bodyStart, "encoding"), PayloadType.CR, `encoding ${c.encoding}`);
    }
    return null;
  },
});
