/**
 * Netlink framing (RFC 3549, Linux `<linux/netlink.h>`): the `nlmsghdr` that starts every message,
 * several messages per datagram (dumps), the `nlattr` type-length-value attributes that follow a
 * message's fixed body, and `nlmsgerr` (errors and ACKs).
 *
 *    0                   1                   2                   3
 *   +---------------------------------------------------------------+
 *   |                          nlmsg_len                            |  whole message, header included
 *   +-------------------------------+-------------------------------+
 *   |          nlmsg_type           |          nlmsg_flags          |
 *   +-------------------------------+-------------------------------+
 *   |                          nlmsg_seq                            |
 *   +---------------------------------------------------------------+
 *   |                          nlmsg_pid                            |  sender's port (0: the kernel)
 *   +---------------------------------------------------------------+
 *   | fixed body (per type) | nla_len | nla_type | value | pad to 4 | ...
 *
 * Every length is checked: a message must fit in what is left of the datagram, an attribute in what
 * is left of its message; padding to 4 bytes may be short only at the very end.
 */
import { i32, nested, struct, u16, u32 } from "./struct.js";
import { ok, refuse, type KernelDecodeError, type Result } from "./decode-error.js";

/** Message flags (`NLM_F_*`). */
export const NlFlag = {
  Request: 0x1,
  Multi: 0x2,
  Ack: 0x4,
  Echo: 0x8,
  /** GET: root | match = dump. */
  Dump: 0x300,
  /** NEW: replace an existing object. */
  Replace: 0x100,
  Excl: 0x200,
  Create: 0x400,
  /** nlmsgerr: the request was not echoed (NETLINK_CAP_ACK). */
  Capped: 0x100,
  /** nlmsgerr: extended-ACK attributes follow. */
  AckTlvs: 0x200,
} as const;

/** Control message types. */
export const NlMsgType = { Noop: 1, Error: 2, Done: 3, Overrun: 4 } as const;

/** `struct nlmsghdr`. */
export interface NlMsgHdr {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}
export const NlMsgHdrStruct = struct<NlMsgHdr>("nlmsghdr", [u32("len"), u16("type"), u16("flags"), u32("seq"), u32("pid")]);
const HDR = NlMsgHdrStruct.size;

/** `struct nlmsgerr` without the echoed request: a negative errno, or 0 for an ACK. */
export const NlMsgErrStruct = struct<{ error: number; msg: NlMsgHdr }>("nlmsgerr", [i32("error"), nested("msg", NlMsgHdrStruct)]);

/** One netlink message: its header fields and a view of its body (what follows the header). */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Buffer;
}

/** Most messages one datagram may hold (a dump part is at most 32 KiB of ~250-byte messages). */
export const MAX_MESSAGES_PER_DATAGRAM = 1024;

const align4 = (n: number): number => (n + 3) & ~3;

/** Splits a datagram into messages; the bodies are views of `datagram`. */
export function splitMessages(datagram: Buffer): Result<NlMessage[], KernelDecodeError> {
  const out: NlMessage[] = [];
  let at = 0;
  while (at < datagram.length) {
    if (datagram.length - at < HDR) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `${datagram.length - at} bytes left, a netlink header needs ${HDR}`);
    const h = NlMsgHdrStruct.decode(datagram, at);
    if (h.len < HDR) return refuse("IKE_ERR_KMSG_LENGTH", at, `nlmsg_len ${h.len} is shorter than the header`);
    if (h.len > datagram.length - at) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `nlmsg_len ${h.len} exceeds the ${datagram.length - at} bytes left`);
    if (out.length === MAX_MESSAGES_PER_DATAGRAM) return refuse("IKE_ERR_KMSG_LENGTH", at, `more than ${MAX_MESSAGES_PER_DATAGRAM} messages in one datagram`);
    out.push({ type: h.type, flags: h.flags, seq: h.seq, pid: h.pid, body: datagram.subarray(at + HDR, at + h.len) });
    at += Math.min(align4(h.len), datagram.length - at);
  }
  return ok(out);
}

/** Builds one message from its header fields and body parts (each part padded to 4 bytes). */
export function buildMessage(type: number, flags: number, seq: number, pid: number, parts: readonly Buffer[]): Buffer {
  const bodyLen = parts.reduce((n, p) => n + align4(p.length), 0);
  const out = Buffer.alloc(HDR + bodyLen);
  NlMsgHdrStruct.encode({ len: HDR + bodyLen, type, flags, seq, pid }, out, 0);
  let at = HDR;
  for (const p of parts) {
    p.copy(out, at);
    at += align4(p.length);
  }
  return out;
}

/** Attribute type bits that are flags, not part of the type. */
const NLA_F_NESTED = 0x8000;
const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_HDR = 4;

/** One attribute: type (flags stripped), a view of its value, and its offset in the datagram. */
export interface NlAttr {
  type: number;
  value: Buffer;
  offset: number;
}

/** Most attributes one message may carry. */
export const MAX_ATTRIBUTES = 64;

/**
 * Parses the attributes in `buf` from `offset` to the end. `base` is the offset of `buf` within the
 * datagram, for error positions.
 */
export function parseAttributes(buf: Buffer, offset: number, base: number): Result<NlAttr[], KernelDecodeError> {
  const out: NlAttr[] = [];
  let at = offset;
  while (at < buf.length) {
    if (buf.length - at < NLA_HDR) return refuse("IKE_ERR_KMSG_TRUNCATED", base + at, `${buf.length - at} bytes left, an attribute header needs ${NLA_HDR}`);
    const len = buf.readUInt16LE(at);
    const type = buf.readUInt16LE(at + 2) & ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
    if (len < NLA_HDR) return refuse("IKE_ERR_KMSG_LENGTH", base + at, `nla_len ${len} is shorter than the attribute header`);
    if (len > buf.length - at) return refuse("IKE_ERR_KMSG_TRUNCATED", base + at, `attribute ${type}: nla_len ${len} exceeds the ${buf.length - at} bytes left`);
    if (out.length === MAX_ATTRIBUTES) return refuse("IKE_ERR_KMSG_LENGTH", base + at, `more than ${MAX_ATTRIBUTES} attributes`);
    out.push({ type, value: buf.subarray(at + NLA_HDR, at + len), offset: base + at });
    at += Math.min(align4(len), buf.length - at);
  }
  return ok(out);
}

/** Encodes one attribute (header, value, padding to 4 bytes). */
export function encodeAttribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(align4(NLA_HDR + value.length));
  out.writeUInt16LE(NLA_HDR + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, NLA_HDR);
  return out;
}

/** A decoded `nlmsgerr`: errno as a positive number (0 = ACK), and the header of the request it answers. */
export interface NlError {
  errno: number;
  request: NlMsgHdr;
}

/** Decodes the body of an NLMSG_ERROR message. */
export function decodeError(body: Buffer, base: number): Result<NlError, KernelDecodeError> {
  if (!NlMsgErrStruct.fits(body)) return refuse("IKE_ERR_KMSG_TRUNCATED", base, `nlmsgerr needs ${NlMsgErrStruct.size} bytes, has ${body.length}`);
  const e = NlMsgErrStruct.decode(body);
  if (e.error > 0 || e.error < -4095) return refuse("IKE_ERR_KMSG_VALUE", base, `nlmsgerr error ${e.error} is not a negative errno`);
  return ok({ errno: e.error === 0 ? 0 : -e.error, request: e.msg });
}
