/**
 * PF_KEY v2 messages (RFC 2367 §2.2): one message per datagram, a base header then extensions, every
 * length in 8-byte words.
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+---------------+---------------+
 *   | sadb_msg_version | sadb_msg_type | sadb_msg_errno | sadb_msg_satype |
 *   +-------------------------------+-------------------------------+
 *   |          sadb_msg_len         |       sadb_msg_reserved       |
 *   +-------------------------------+-------------------------------+
 *   |                          sadb_msg_seq                         |
 *   +---------------------------------------------------------------+
 *   |                          sadb_msg_pid                         |
 *   +---------------------------------------------------------------+
 *   | sadb_ext_len | sadb_ext_type | extension body ...            (repeated)
 *
 * Checks: version 2; a known message type; `sadb_msg_len` equals the datagram; each extension at
 * least one word, inside what is left, of a type 1..SADB_EXT_MAX, never repeated; the extensions end
 * exactly at the end. `sadb_msg_reserved` is not checked on input: Linux puts a policy's reference
 * count there in X_SPD* messages. Extensions the daemon has no use for (identities, sensitivity,
 * security contexts ...) are skipped.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { PF_KEY_V2, SADB_EXT_MAX, SADB_MAX } from "./constants.js";
import { encodeExtensions, extRule, type PfkeyExts } from "./extensions.js";
import { SadbExtStruct, SadbMsgStruct } from "./structs.js";

/** One PF_KEY message. */
export interface PfkeyMessage {
  type: number;
  satype: number;
  /** 0, or the errno of a failed request (Linux answers errors this way). */
  errno: number;
  seq: number;
  pid: number;
  ext: PfkeyExts;
}

/** Decodes one datagram read from a PF_KEY socket. Never throws. */
export function decodePfkey(d: Buffer): Result<PfkeyMessage, KernelDecodeError> {
  if (!SadbMsgStruct.fits(d)) return refuse("IKE_ERR_KMSG_TRUNCATED", 0, `${d.length} bytes, sadb_msg needs ${SadbMsgStruct.size}`);
  const h = SadbMsgStruct.decode(d);
  if (h.version !== PF_KEY_V2) return refuse("IKE_ERR_KMSG_VERSION", 0, `PF_KEY version ${h.version}`);
  if (h.type < 1 || h.type > SADB_MAX) return refuse("IKE_ERR_KMSG_TYPE", 1, `unknown message type ${h.type}`);
  if (h.len * 8 !== d.length) return refuse("IKE_ERR_KMSG_LENGTH", 4, `sadb_msg_len ${h.len} words, the datagram has ${d.length} bytes`);
  const ext: Record<string, unknown> = {};
  const seen = new Set<number>();
  let at = SadbMsgStruct.size;
  while (at < d.length) {
    if (d.length - at < SadbExtStruct.size) return refuse("IKE_ERR_KMSG_TRUNCATED", at, "extension header cut short");
    const e = SadbExtStruct.decode(d, at);
    const bytes = e.len * 8;
    if (bytes === 0) return refuse("IKE_ERR_KMSG_LENGTH", at, "extension of length 0");
    if (bytes > d.length - at) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `extension ${e.type}: ${bytes} bytes, ${d.length - at} left`);
    if (e.type === 0 || e.type > SADB_EXT_MAX) return refuse("IKE_ERR_KMSG_EXTENSION", at, `unknown extension type ${e.type}`);
    if (seen.has(e.type)) return refuse("IKE_ERR_KMSG_EXTENSION", at, `extension ${e.type} appears twice`);
    seen.add(e.type);
    const rule = extRule(e.type);
    if (rule !== undefined) {
      const v = rule.decode(d.subarray(at, at + bytes), at);
      if (!v.ok) return v;
      ext[rule.key] = v.value;
    }
    at += bytes;
  }
  return ok({ type: h.type, satype: h.satype, errno: h.errno, seq: h.seq, pid: h.pid, ext: ext as PfkeyExts });
}

/** Encodes one message (the inverse of `decodePfkey`; extensions in type order). */
export function encodePfkey(m: PfkeyMessage): Buffer {
  const exts = encodeExtensions(m.ext);
  const len = SadbMsgStruct.size + exts.reduce((n, b) => n + b.length, 0);
  const head = SadbMsgStruct.encode({ version: PF_KEY_V2, type: m.type, errno: m.errno, satype: m.satype, len: len / 8, reserved: 0, seq: m.seq, pid: m.pid });
  const out = Buffer.concat([head, ...exts], len);
  for (const b of exts) b.fill(0); // key extensions: only `out` keeps the bytes, and the caller wipes it
  return out;
}
