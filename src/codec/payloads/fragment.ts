/**
 * IKEv1 fragment payload (payload 132) — Cisco's format, also sent by strongSwan and Libreswan when
 * `fragmentation` is on; it is the only payload of an unencrypted ISAKMP message and carries a slice
 * of the original (encrypted) datagram.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !          Fragment ID          !  Fragment Num !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Fragment Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Reassembly belongs to `net/`/`ike/`; this file only decodes one fragment.
 */
import { spec, u8, u16, rest, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { FragmentFlag, PayloadType } from "../constants.js";
import type { PayloadBase } from "./payload.js";

/** Fragment payload. */
export interface FragmentPayload extends PayloadBase {
  readonly type: typeof PayloadType.Fragment;
  readonly fragmentId: number;
  readonly fragmentNumber: number;
  readonly flags: number;
  readonly data: Buffer;
}

/** Layout of a fragment body. */
export const fragmentSpec = spec("Fragment", [u16("fragmentId"), u8("fragmentNumber"), u8("flags", FragmentFlag), rest("data")], {
  verify(f: FragmentPayload, bodyStart, _ctx, s) {
    if (f.fragmentNumber === 0) return decodeError("IKE_ERR_INVALID_FRAGMENT", at(s, bodyStart, "fragmentNumber"), PayloadType.Fragment, "fragment number 0");
    if ((f.flags & ~FragmentFlag.Last) !== 0) {
      return decodeError("IKE_ERR_INVALID_FRAGMENT", at(s, bodyStart, "flags"), PayloadType.Fragment, `flags ${f.flags}`);
    }
    if (f.data.length === 0) return decodeError("IKE_ERR_INVALID_FRAGMENT", bodyStart - 2, PayloadType.Fragment, "empty fragment");
    return null;
  },
});
