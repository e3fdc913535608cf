/**
 * Certificate payload — RFC 2408 §3.9.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Cert Encoding !                                               !
 * +-+-+-+-+-+-+-+-+                                               !
 * ~                       Certificate Data                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Encodings 1–10 are defined (0 "NONE" names no certificate and so cannot carry one).
 */
import { spec, u8, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { CertEncoding, PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** CERT payload. */
export interface CertPayload extends PayloadBase {
  readonly type: typeof PayloadType.CERT;
  readonly encoding: number;
  readonly data: Buffer;
}

/** Layout of a CERT body. */
export const certSpec = spec("CERT", [u8("encoding", CertEncoding), rest("data")], {
  verify(c: CertPayload, bodyStart, _ctx, s) {
    if (c.encoding < CertEncoding.PKCS7WrappedX509 || c.encoding > CertEncoding.X509Attribute) {
      return decodeError("IKE_ERR_INVALID_CERT_ENCODING", at(s, bodyStart, "encoding"), PayloadType.CERT, `encoding ${c.encoding}`);
    }
    if (c.data.length === 0) {
      return decodeError("IKE_ERR_INVALID_CERT_ENCODING", at(s, bodyStart, "data"), PayloadType.CERT, "empty certificate data");
    }
    return null;
  },
});
