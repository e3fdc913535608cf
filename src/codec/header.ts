/**
 * ISAKMP header — RFC 2408 §3.1; checks of §5.2 that need only the header.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Initiator                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Responder                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Message ID                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                            Length                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { spec, bytes, u8, u32, nibbles, at } from "./fields.js";
import { decodeError, type DecodeError } from "./errors.js";
import { ExchangeType, HEADER_FLAGS_MASK, HEADER_LENGTH, HeaderFlag, IsakmpVersion, PayloadType } from "./constants.js";
import { nameOf } from "./names.js";

/** Largest datagram accepted or built (the ISAKMP length field allows more; UDP does not). */
export const MAX_DATAGRAM = 65535;

/** A decoded ISAKMP header. */
export interface Header {
  readonly icookie: Buffer;
  readonly rcookie: Buffer;
  /** Type of the first payload (inside the encryption when the E flag is set). */
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  readonly flags: number;
  readonly messageId: number;
  /** Total length of the datagram, header included. */
  readonly length: number;
}

/** Header fields an encoder takes: next payload and length are computed, the version defaults to 1.0. */
export interface HeaderInit {
  readonly icookie: Buffer;
  readonly rcookie: Buffer;
  readonly exchangeType: number;
  readonly flags: number;
  readonly messageId: number;
  readonly majorVersion?: number;
  readonly minorVersion?: number;
}

function flagNames(flags: number): string {
  const names = Object.entries(HeaderFlag).filter(([, bit]) => (flags & bit) !== 0).map(([n]) => n);
  return names.length === 0 ? "none" : names.join("|");
}

/** Layout of the header. */
export const headerSpec = spec("HDR", [
  bytes("icookie", 8),
  bytes("rcookie", 8),
  u8("nextPayload", PayloadType),
  nibbles("majorVersion", "minorVersion"),
  u8("exchangeType", ExchangeType),
  u8("flags", (n) => flagNames(n)),
  u32("messageId"),
  u32("length"),
]);

/** Exchanges of phase 1 (RFC 2408 §3.1: message ID 0) and those that need a fresh nonzero one (RFC 2409 §5.5, §5.6). */
const PHASE1: ReadonlySet<number> = new Set([ExchangeType.Base, ExchangeType.IdentityProtection, ExchangeType.AuthenticationOnly, ExchangeType.Aggressive]);
const EXCHANGES: ReadonlySet<number> = new Set(Object.values(ExchangeType).filter((t) => t !== ExchangeType.None));
const NEEDS_MESSAGE_ID: ReadonlySet<number> = new Set([ExchangeType.QuickMode, ExchangeType.NewGroupMode]);

/**
 * Checks a decoded header against the datagram it came from (RFC 2408 §5.2). Returns null if sound.
 * Informational and Transaction message IDs are not checked: an unprotected informational uses 0,
 * a protected one a random value.
 */
export function checkHeader(h: Header, datagramLength: number): DecodeError | null {
  const o = headerSpec.offsets;
  const nv = o["majorVersion"]!;
  if (h.majorVersion !== IsakmpVersion.Major) {
    return decodeError("IKE_ERR_INVALID_MAJOR_VERSION", nv, undefined, `major version ${h.majorVersion}`);
  }
  if (h.minorVersion !== IsakmpVersion.Minor) {
    return decodeError("IKE_ERR_INVALID_MINOR_VERSION", nv, undefined, `minor version ${h.minorVersion}`);
  }
  if (h.length !== datagramLength) {
    return decodeError("IKE_ERR_LENGTH_MISMATCH", at(headerSpec, 0, "length"), undefined, `header length ${h.length}, datagram ${datagramLength}`);
  }
  if (!EXCHANGES.has(h.exchangeType)) {
    return decodeError("IKE_ERR_INVALID_EXCHANGE_TYPE", at(headerSpec, 0, "exchangeType"), undefined, `exchange type ${h.exchangeType}`);
  }
  if ((h.flags & ~HEADER_FLAGS_MASK) !== 0) {
    return decodeError("IKE_ERR_INVALID_FLAGS", at(headerSpec, 0, "flags"), undefined, `flags 0x${h.flags.toString(16)}`);
  }
  if (isZero(h.icookie)) return decodeError("IKE_ERR_INVALID_COOKIE", 0, undefined, "initiator cookie is zero");
  if (PHASE1.has(h.exchangeType) ? h.messageId !== 0 : NEEDS_MESSAGE_ID.has(h.exchangeType) && h.messageId === 0) {
    return decodeError("IKE_ERR_INVALID_MESSAGE_ID", at(headerSpec, 0, "messageId"), undefined,
      `message ID ${h.messageId} in ${nameOf(ExchangeType, h.exchangeType)}`);
  }
  return null;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export { HEADER_LENGTH };
