/**
 * Vendor ID payload — RFC 2408 §3.16.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        Vendor ID (VID)                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, rest } from "../fields.js";
import { decodeError } from "../errors.js";
import { PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** VID payload (typically an MD5 hash naming a vendor or a feature such as NAT-T or DPD). */
export interface VendorIdPayload extends PayloadBase {
  readonly type: typeof PayloadType.VID;
  readonly data: Buffer;
}

/** Layout of a VID body. */
export const vendorIdSpec = spec("VID", [rest("data")], {
  verify(v: VendorIdPayload, bodyStart) {
    if (v.data.length === 0) return decodeError("IKE_ERR_INVALID_VENDOR_ID", bodyStart - 2, PayloadType.VID, "empty vendor ID");
    return null;
  },
});
