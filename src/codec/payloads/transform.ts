/**
 * Transform payload — RFC 2408 §3.6, RFC 2407 §4.4.2–4.4.5 (transform identifiers), §4.5 (attributes).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !        Payload Length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Transform #  !  Transform-Id !           RESERVED2           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SA Attributes                          ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transforms only occur inside a proposal; the proposal's protocol decides which transform-ID table
 * and which attribute table (IKE or IPsec) apply, and so which attributes are basic (TV only).
 */
import { spec, u8, reserved, attributes, at, type DataAttribute } from "../fields.js";
import { decodeError } from "../errors.js";
import { IsakmpTransformId, PayloadType, ProtocolId, transformIdName } from "../constants.js";

/** Most attributes one transform may carry (a real one has under ten). */
export const MAX_ATTRIBUTES = 64;

/** A transform inside a proposal. */
export interface TransformPayload {
  readonly type: typeof PayloadType.Transform;
  readonly transformNumber: number;
  readonly transformId: number;
  readonly attributes: readonly DataAttribute[];
}

/** Layout of a transform body. */
export const transformSpec = spec(
  "Transform",
  [
    u8("transformNumber"),
    u8("transformId", (n, ctx) => transformIdName((ctx as { protocolId: number }).protocolId, n)),
    reserved(2),
    attributes("attributes", { max: MAX_ATTRIBUTES, checkForm: true }),
  ],
  {
    // Checked before the attributes, whose form rules depend on the same protocol.
    verifyPrefix(t: TransformPayload, bodyStart, proposal: { protocolId: number }, s) {
      // RFC 2407 §4.4.2: the only ISAKMP transform is KEY_IKE; 0 is reserved in every other table.
      const okId = proposal.protocolId === ProtocolId.ISAKMP ? t.transformId === IsakmpTransformId.KEY_IKE : t.transformId !== 0;
      if (!okId) {
        return decodeError("IKE_ERR_INVALID_TRANSFORM_ID", at(s, bodyStart, "transformId"), PayloadType.Transform,
          `transform id ${t.transformId} for protocol ${proposal.protocolId}`);
      }
      return null;
    },
  },
);
