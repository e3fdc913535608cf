/**
 * XFRM netlink messages (Linux `net/xfrm/xfrm_user.c`): each type's fixed body and its attributes,
 * decoded from and encoded to one netlink message. The body a type carries:
 *
 *   NEWSA UPDSA (and GETSA replies)   xfrm_usersa_info    + ALG_* ENCAP SRCADDR LTIME_VAL REPLAY_VAL MARK ...
 *   DELSA, GETSA                      xfrm_usersa_id      + SRCADDR (requests); SA (DELSA notices)
 *   ALLOCSPI                          xfrm_userspi_info
 *   NEWPOLICY UPDPOLICY               xfrm_userpolicy_info + TMPL POLICY_TYPE MARK
 *   DELPOLICY, GETPOLICY              xfrm_userpolicy_id  + POLICY_TYPE; POLICY (DELPOLICY notices)
 *   ACQUIRE                           xfrm_user_acquire   + TMPL POLICY_TYPE
 *   EXPIRE                            xfrm_user_expire
 *   POLEXPIRE                         xfrm_user_polexpire
 *   FLUSHSA                           xfrm_usersa_flush
 *   FLUSHPOLICY, dump requests        nothing             + POLICY_TYPE
 *   NLMSG_ERROR / NLMSG_DONE          nlmsgerr / the dump's status
 *
 * The body must hold at least its structure (what the kernel's `xfrm_msg_min` table demands); the
 * attributes start at the structure's size rounded up to 4 and must fill the rest exactly.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { NlFlag, NlMsgType, buildMessage, decodeError, parseAttributes, type NlMessage, type NlMsgHdr } from "../wire/netlink.js";
import type { Struct } from "../wire/struct.js";
import { decodeAttributes, encodeAttributes, type XfrmAttrs } from "./attributes.js";
import { XfrmMsg } from "./constants.js";
import {
  XfrmUserAcquireStruct, XfrmUserExpireStruct, XfrmUserPolexpireStruct, XfrmUserpolicyIdStruct, XfrmUserpolicyInfoStruct,
  XfrmUsersaFlushStruct, XfrmUsersaIdStruct, XfrmUsersaInfoStruct, XfrmUserspiInfoStruct,
  type XfrmUserAcquire, type XfrmUserExpire, type XfrmUserPolexpire, type XfrmUserpolicyId, type XfrmUserpolicyInfo,
  type XfrmUsersaFlush, type XfrmUsersaId, type XfrmUsersaInfo, type XfrmUserspiInfo,
} from "./structs.js";

/** The fixed body of a message, by its structure. */
export type XfrmBody =
  | { kind: "usersa"; info: XfrmUsersaInfo }
  | { kind: "usersaId"; id: XfrmUsersaId }
  | { kind: "userspi"; spi: XfrmUserspiInfo }
  | { kind: "userpolicy"; info: XfrmUserpolicyInfo }
  | { kind: "userpolicyId"; id: XfrmUserpolicyId }
  | { kind: "acquire"; acquire: XfrmUserAcquire }
  | { kind: "expire"; expire: XfrmUserExpire }
  | { kind: "polexpire"; polexpire: XfrmUserPolexpire }
  | { kind: "flushsa"; flush: XfrmUsersaFlush }
  | { kind: "none" }
  /** NLMSG_ERROR: errno 0 is an ACK. */
  | { kind: "error"; errno: number; request: NlMsgHdr }
  /** NLMSG_DONE: the end of a dump, with its status (0, or the errno that cut it short). */
  | { kind: "done"; errno: number }
  /** A type the daemon does not use (NEWAE, REPORT, MAPPING ...), kept undecoded. */
  | { kind: "other"; raw: Buffer };

/** One decoded XFRM message. */
export interface XfrmMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: XfrmBody;
  attrs: XfrmAttrs;
}

type BodyKind = Exclude<XfrmBody["kind"], "none" | "error" | "done" | "other">;

const STRUCT: Record<BodyKind, { s: Struct<unknown>; field: string }> = {
  usersa: { s: XfrmUsersaInfoStruct as Struct<unknown>, field: "info" },
  usersaId: { s: XfrmUsersaIdStruct as Struct<unknown>, field: "id" },
  userspi: { s: XfrmUserspiInfoStruct as Struct<unknown>, field: "spi" },
  userpolicy: { s: XfrmUserpolicyInfoStruct as Struct<unknown>, field: "info" },
  userpolicyId: { s: XfrmUserpolicyIdStruct as Struct<unknown>, field: "id" },
  acquire: { s: XfrmUserAcquireStruct as Struct<unknown>, field: "acquire" },
  expire: { s: XfrmUserExpireStruct as Struct<unknown>, field: "expire" },
  polexpire: { s: XfrmUserPolexpireStruct as Struct<unknown>, field: "polexpire" },
  flushsa: { s: XfrmUsersaFlushStruct as Struct<unknown>, field: "flush" },
};

const OTHER_TYPES: ReadonlySet<number> = new Set([XfrmMsg.NEWAE, XfrmMsg.GETAE, XfrmMsg.REPORT, XfrmMsg.MIGRATE, XfrmMsg.NEWSADINFO, XfrmMsg.GETSADINFO, XfrmMsg.NEWSPDINFO, XfrmMsg.GETSPDINFO, XfrmMsg.MAPPING]);

/** Which body a message of `type` with `flags` carries, or undefined for an unknown type. */
export function bodyKind(type: number, flags: number): XfrmBody["kind"] | undefined {
  const dumpRequest = (flags & NlFlag.Request) !== 0 && (flags & NlFlag.Dump) === NlFlag.Dump;
  switch (type) {
    case NlMsgType.Error:
      return "error";
    case NlMsgType.Done:
      return "done";
    case XfrmMsg.NEWSA:
    case XfrmMsg.UPDSA:
      return "usersa";
    case XfrmMsg.DELSA:
      return "usersaId";
    case XfrmMsg.GETSA:
      return dumpRequest ? "none" : "usersaId";
    case XfrmMsg.ALLOCSPI:
      return "userspi";
    case XfrmMsg.NEWPOLICY:
    case XfrmMsg.UPDPOLICY:
      return "userpolicy";
    case XfrmMsg.DELPOLICY:
      return "userpolicyId";
    case XfrmMsg.GETPOLICY:
      return dumpRequest ? "none" : "userpolicyId";
    case XfrmMsg.ACQUIRE:
      return "acquire";
    case XfrmMsg.EXPIRE:
      return "expire";
    case XfrmMsg.POLEXPIRE:
      return "polexpire";
    case XfrmMsg.FLUSHSA:
      return "flushsa";
    case XfrmMsg.FLUSHPOLICY:
      return "none";
    default:
      return OTHER_TYPES.has(type) ? "other" : undefined;
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Decodes one message split from a datagram. `base` is the datagram offset of the message's body,
 * for error positions. Never throws.
 */
export function decodeXfrm(m: NlMessage, base: number): Result<XfrmMessage, KernelDecodeError> {
  const head = { type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
  const kind = bodyKind(m.type, m.flags);
  if (kind === undefined) return refuse("IKE_ERR_KMSG_TYPE", base, `unknown XFRM message type ${m.type}`);
  switch (kind) {
    case "error": {
      const e = decodeError(m.body, base);
      return e.ok ? ok({ ...head, body: { kind, errno: e.value.errno, request: e.value.request }, attrs: {} }) : e;
    }
    case "done": {
      const status = m.body.length >= 4 ? m.body.readInt32LE(0) : 0;
      const errno = status === 0 ? 0 : -status;
      if (errno < 0 || errno > 4095) return refuse("IKE_ERR_KMSG_VALUE", base, `NLMSG_DONE status ${-errno} is not 0 or a negative errno`);
      return ok({ ...head, body: { kind, errno }, attrs: {} });
    }
    case "other":
      return ok({ ...head, body: { kind, raw: m.body }, attrs: {} });
    case "none":
      return withAttributes(head, { kind }, m.body, 0, base);
    default: {
      const { s, field } = STRUCT[kind];
      if (!s.fits(m.body)) return refuse("IKE_ERR_KMSG_TRUNCATED", base, `${s.name} needs ${s.size} bytes, the body has ${m.body.length}`);
      const body = { kind, [field]: s.decode(m.body) } as XfrmBody;
      return withAttributes(head, body, m.body, align4(s.size), base);
    }
  }
}

function withAttributes(head: Omit<XfrmMessage, "body" | "attrs">, body: XfrmBody, raw: Buffer, start: number, base: number): Result<XfrmMessage, KernelDecodeError> {
  if (start > raw.length) return ok({ ...head, body, attrs: {} });
  const list = parseAttributes(raw, start, base);
  if (!list.ok) return list;
  const attrs = decodeAttributes(list.value);
  return attrs.ok ? ok({ ...head, body, attrs: attrs.value }) : attrs;
}

/** Encodes one message (the inverse of `decodeXfrm` for every body but `other`). */
export function encodeXfrm(m: XfrmMessage): Buffer {
  const parts: Buffer[] = [];
  const b = m.body;
  switch (b.kind) {
    case "none":
      break;
    case "error": {
      const e = Buffer.alloc(20);
      e.writeInt32LE(-b.errno, 0);
      e.writeUInt32LE(b.request.len, 4);
      e.writeUInt16LE(b.request.type, 8);
      e.writeUInt16LE(b.request.flags, 10);
      e.writeUInt32LE(b.request.seq, 12);
      e.writeUInt32LE(b.request.pid, 16);
      parts.push(e);
      break;
    }
    case "done": {
      const d = Buffer.alloc(4);
      d.writeInt32LE(-b.errno, 0);
      parts.push(d);
      break;
    }
    case "other":
      parts.push(b.raw);
      break;
    default: {
      const { s, field } = STRUCT[b.kind];
      parts.push(s.encode((b as unknown as Record<string, unknown>)[field]));
    }
  }
  const attrs = encodeAttributes(m.attrs);
  const out = buildMessage(m.type, m.flags, m.seq, m.pid, [...parts, ...attrs]);
  for (const a of attrs) a.fill(0); // ALG_* attributes: only `out` keeps the key bytes, and the caller wipes it
  return out;
}
