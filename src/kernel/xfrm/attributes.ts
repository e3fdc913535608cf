/**
 * XFRM netlink attributes (`XFRMA_*`, `<linux/xfrm.h>`) as data: each known type names its field
 * in `XfrmAttrs`, its exact size rule and its codec. Unknown types are skipped (kernels add new ones:
 * OFFLOAD_DEV, REPLAY_ESN_VAL ...), a repeated known type is refused, and a known type whose size is
 * wrong is refused. Key bytes in ALG_* values are views of the datagram: the backend copies them only
 * when asked to, and wipes the datagram.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { encodeAttribute, type NlAttr } from "../wire/netlink.js";
import type { Struct } from "../wire/struct.js";
import { Xfrma } from "./constants.js";
import {
  ALG_NAME_SIZE, XfrmAlgoAuthStruct, XfrmAlgoStruct, XfrmEncapTmplStruct, XfrmLifetimeCurStruct, XfrmMarkStruct,
  XfrmReplayStateStruct, XfrmUserTmplStruct, XfrmUserpolicyInfoStruct, XfrmUserpolicyTypeStruct, XfrmUsersaInfoStruct,
  type XfrmEncapTmpl, type XfrmLifetimeCur, type XfrmMark, type XfrmReplayState, type XfrmUserTmpl,
  type XfrmUserpolicyInfo, type XfrmUserpolicyType, type XfrmUsersaInfo,
} from "./structs.js";

/** `xfrm_algo`: an algorithm by its crypto API name, with its key. */
export interface XfrmAlgo {
  name: string;
  keyBits: number;
  key: Buffer;
}
/** `xfrm_algo_auth`: a MAC with its ICV truncation; `xfrm_algo_aead`: an AEAD with its ICV length. */
export interface XfrmAlgoTrunc extends XfrmAlgo {
  truncBits: number;
}

/** The attributes of one message, by meaning. */
export interface XfrmAttrs {
  algAuth?: XfrmAlgo;
  algCrypt?: XfrmAlgo;
  algComp?: XfrmAlgo;
  algAuthTrunc?: XfrmAlgoTrunc;
  algAead?: XfrmAlgoTrunc;
  encap?: XfrmEncapTmpl;
  tmpls?: XfrmUserTmpl[];
  sa?: XfrmUsersaInfo;
  policy?: XfrmUserpolicyInfo;
  ltimeVal?: XfrmLifetimeCur;
  replayVal?: XfrmReplayState;
  srcaddr?: Buffer;
  coaddr?: Buffer;
  lastused?: bigint;
  policyType?: XfrmUserpolicyType;
  mark?: XfrmMark;
  proto?: number;
  saExtraFlags?: number;
  ifId?: number;
}

/** Most templates a policy may have (`XFRM_MAX_DEPTH`). */
export const XFRM_MAX_DEPTH = 6;

interface AttrRule {
  readonly type: number;
  readonly key: keyof XfrmAttrs;
  decode(v: Buffer, at: number): Result<unknown, KernelDecodeError>;
  encode(v: never): Buffer;
}

const exact = <T>(s: Struct<T>, type: number, key: keyof XfrmAttrs): AttrRule => ({
  type,
  key,
  decode: (v, at) => (v.length === s.size ? ok(s.decode(v)) : refuse("IKE_ERR_KMSG_EXTENSION", at, `${key}: ${v.length} bytes, ${s.name} is ${s.size}`)),
  encode: (v: T) => s.encode(v),
});

const scalar = (type: number, key: keyof XfrmAttrs, size: 1 | 4 | 8): AttrRule => ({
  type,
  key,
  decode: (v, at) => {
    if (v.length !== size) return refuse("IKE_ERR_KMSG_EXTENSION", at, `${key}: ${v.length} bytes, expected ${size}`);
    return ok(size === 1 ? v[0]! : size === 4 ? v.readUInt32LE(0) : v.readBigUInt64LE(0));
  },
  encode: (x: number | bigint) => {
    const b = Buffer.alloc(size);
    if (size === 1) b[0] = Number(x);
    else if (size === 4) b.writeUInt32LE(Number(x));
    else b.writeBigUInt64LE(BigInt(x));
    return b;
  },
});

const address = (type: number, key: keyof XfrmAttrs): AttrRule => ({
  type,
  key,
  decode: (v, at) => (v.length === 16 ? ok(v) : refuse("IKE_ERR_KMSG_EXTENSION", at, `${key}: ${v.length} bytes, an address is 16`)),
  encode: (x: Buffer) => Buffer.from(x),
});

/** The NUL-terminated name of an algorithm, or null when it has no NUL or is empty. */
function algName(raw: Buffer): string | null {
  const end = raw.indexOf(0);
  if (end <= 0) return null;
  const name = raw.subarray(0, end).toString("latin1");
  return /^[\x21-\x7e]+$/.test(name) ? name : null;
}

const algorithm = (type: number, key: keyof XfrmAttrs, truncated: boolean): AttrRule => {
  const head = truncated ? XfrmAlgoAuthStruct.size : XfrmAlgoStruct.size;
  return {
    type,
    key,
    decode: (v, at) => {
      if (v.length < head) return refuse("IKE_ERR_KMSG_EXTENSION", at, `${key}: ${v.length} bytes, the header is ${head}`);
      const h = truncated ? XfrmAlgoAuthStruct.decode(v) : { ...XfrmAlgoStruct.decode(v), truncLen: 0 };
      const name = algName(h.name);
      if (name === null) return refuse("IKE_ERR_KMSG_VALUE", at, `${key}: algorithm name is not a terminated printable string`);
      const keyBytes = Math.ceil(h.keyLen / 8);
      if (v.length !== head + keyBytes) return refuse("IKE_ERR_KMSG_LENGTH", at, `${key}: ${h.keyLen}-bit key needs ${head + keyBytes} bytes, has ${v.length}`);
      const out: XfrmAlgo = { name, keyBits: h.keyLen, key: v.subarray(head) };
      return ok(truncated ? { ...out, truncBits: h.truncLen } : out);
    },
    encode: (a: XfrmAlgoTrunc) => {
      const out = Buffer.alloc(head + Math.ceil(a.keyBits / 8));
      const name = Buffer.alloc(ALG_NAME_SIZE);
      name.write(a.name, "latin1");
      if (truncated) XfrmAlgoAuthStruct.encode({ name, keyLen: a.keyBits, truncLen: a.truncBits }, out);
      else XfrmAlgoStruct.encode({ name, keyLen: a.keyBits }, out);
      a.key.copy(out, head);
      return out;
    },
  };
};

const templates: AttrRule = {
  type: Xfrma.TMPL,
  key: "tmpls",
  decode: (v, at) => {
    const size = XfrmUserTmplStruct.size;
    if (v.length === 0 || v.length % size !== 0 || v.length / size > XFRM_MAX_DEPTH) {
      return refuse("IKE_ERR_KMSG_EXTENSION", at, `tmpls: ${v.length} bytes is not 1..${XFRM_MAX_DEPTH} templates of ${size}`);
    }
    const out: XfrmUserTmpl[] = [];
    for (let i = 0; i < v.length; i += size) out.push(XfrmUserTmplStruct.decode(v, i));
    return ok(out);
  },
  encode: (ts: XfrmUserTmpl[]) => Buffer.concat(ts.map((t) => XfrmUserTmplStruct.encode(t))),
};

/** Known attributes, in the order `encodeAttributes` writes them. */
const RULES: readonly AttrRule[] = [
  algorithm(Xfrma.ALG_CRYPT, "algCrypt", false),
  algorithm(Xfrma.ALG_AUTH, "algAuth", false),
  algorithm(Xfrma.ALG_AUTH_TRUNC, "algAuthTrunc", true),
  algorithm(Xfrma.ALG_AEAD, "algAead", true),
  algorithm(Xfrma.ALG_COMP, "algComp", false),
  exact(XfrmEncapTmplStruct, Xfrma.ENCAP, "encap"),
  templates,
  exact(XfrmUsersaInfoStruct, Xfrma.SA, "sa"),
  exact(XfrmUserpolicyInfoStruct, Xfrma.POLICY, "policy"),
  exact(XfrmLifetimeCurStruct, Xfrma.LTIME_VAL, "ltimeVal"),
  exact(XfrmReplayStateStruct, Xfrma.REPLAY_VAL, "replayVal"),
  address(Xfrma.SRCADDR, "srcaddr"),
  address(Xfrma.COADDR, "coaddr"),
  scalar(Xfrma.LASTUSED, "lastused", 8),
  exact(XfrmUserpolicyTypeStruct, Xfrma.POLICY_TYPE, "policyType"),
  exact(XfrmMarkStruct, Xfrma.MARK, "mark"),
  scalar(Xfrma.PROTO, "proto", 1),
  scalar(Xfrma.SA_EXTRA_FLAGS, "saExtraFlags", 4),
  scalar(Xfrma.IF_ID, "ifId", 4),
];
const BY_TYPE = new Map(RULES.map((r) => [r.type, r]));

/** Decodes parsed attributes into `XfrmAttrs`. */
export function decodeAttributes(attrs: readonly NlAttr[]): Result<XfrmAttrs, KernelDecodeError> {
  const out: Record<string, unknown> = {};
  for (const a of attrs) {
    const rule = BY_TYPE.get(a.type);
    if (rule === undefined) continue;
    const at = a.offset;
    if (out[rule.key] !== undefined) return refuse("IKE_ERR_KMSG_EXTENSION", at, `${rule.key} appears twice`);
    const r = rule.decode(a.value, at);
    if (!r.ok) return r;
    out[rule.key] = r.value;
  }
  return ok(out as XfrmAttrs);
}

/** Encodes the attributes present in `attrs`, in a fixed order. */
export function encodeAttributes(attrs: XfrmAttrs): Buffer[] {
  const out: Buffer[] = [];
  for (const r of RULES) {
    const v = attrs[r.key];
    if (v === undefined) continue;
    const inner = r.encode(v as never);
    out.push(encodeAttribute(r.type, inner));
    inner.fill(0); // may hold key bytes
  }
  return out;
}
