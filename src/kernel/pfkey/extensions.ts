/**
 * PF_KEY v2 extensions (RFC 2367 §2.3, Linux af_key) as data: each type the daemon uses names its
 * field in `PfkeyExts`, its size rule and its codec; the message codec (message.ts) walks them.
 *
 *   SA                      sadb_sa                                  exactly 16 bytes
 *   LIFETIME_*              sadb_lifetime                            exactly 32
 *   ADDRESS_* / X_NAT_T_OA  sadb_address + sockaddr_in(6), padded    exactly 24 (IPv4) or 40 (IPv6)
 *   KEY_*                   sadb_key + key bits, padded              8 + ceil(bits/8), rounded up to 8
 *   PROPOSAL                sadb_prop + n × sadb_comb (72)
 *   SUPPORTED_*             sadb_supported + n × sadb_alg (8)
 *   SPIRANGE                sadb_spirange                            exactly 16
 *   X_POLICY                sadb_x_policy + ipsecrequests, each with two sockaddrs in tunnel mode
 *   X_SA2                   sadb_x_sa2                               exactly 16
 *   X_NAT_T_TYPE / _*PORT   sadb_x_nat_t_type / sadb_x_nat_t_port    exactly 8
 *
 * Key bytes are views of the datagram: the backend copies them only when asked, and wipes it.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import type { Struct } from "../wire/struct.js";
import { SadbExt } from "./constants.js";
import {
  SadbAddressStruct, SadbAlgStruct, SadbCombStruct, SadbKeyStruct, SadbLifetimeStruct, SadbPropStruct, SadbSaStruct,
  SadbSpirangeStruct, SadbSupportedStruct, SadbXNatTPortStruct, SadbXNatTTypeStruct, SadbXSa2Struct, type SadbAlg, type SadbComb, type SadbLifetime, type SadbSa, type SadbSpirange, type SadbXSa2,
} from "./structs.js";
import { decodePolicy, encodePolicy, type PfkeyPolicy } from "./policy-ext.js";
import { decodeSockaddr, encodeSockaddr, pad8 } from "./sockaddr.js";

/** An address extension: the address as text, its port, prefix length and upper-layer protocol. */
export interface SadbAddress {
  proto: number;
  prefixlen: number;
  address: string;
  port: number;
}

/** A key extension: its length in bits and a view of its bytes. */
export interface SadbKey {
  bits: number;
  key: Buffer;
}

/** The extensions of one message, by meaning. */
export interface PfkeyExts {
  sa?: SadbSa;
  lifetimeCurrent?: SadbLifetime;
  lifetimeHard?: SadbLifetime;
  lifetimeSoft?: SadbLifetime;
  addressSrc?: SadbAddress;
  addressDst?: SadbAddress;
  addressProxy?: SadbAddress;
  keyAuth?: SadbKey;
  keyEncrypt?: SadbKey;
  proposal?: { replay: number; combs: SadbComb[] };
  supportedAuth?: SadbAlg[];
  supportedEncrypt?: SadbAlg[];
  spirange?: SadbSpirange;
  policy?: PfkeyPolicy;
  sa2?: SadbXSa2;
  natTType?: number;
  natTSport?: number;
  natTDport?: number;
  natTOa?: SadbAddress;
}

/** One extension's rule: its field, and its body codec (the 4-byte len/type header excluded). */
interface ExtRule {
  readonly type: number;
  readonly key: keyof PfkeyExts;
  /** `whole` is the extension including its header; `at` its datagram offset. */
  decode(whole: Buffer, at: number): Result<unknown, KernelDecodeError>;
  /** The whole extension, header bytes left zero (the message codec writes them), padded to 8. */
  encode(v: never): Buffer;
}

const fixed = <T>(s: Struct<T>, type: number, key: keyof PfkeyExts): ExtRule => ({
  type,
  key,
  decode: (w, at) => (w.length === s.size ? ok(s.decode(w)) : refuse("IKE_ERR_KMSG_EXTENSION", at, `${key}: ${w.length} bytes, ${s.name} is ${s.size}`)),
  encode: (v: T) => s.encode(v),
});

const addressRule = (type: number, key: keyof PfkeyExts): ExtRule => ({
  type,
  key,
  decode: (w, at) => {
    if (w.length < SadbAddressStruct.size) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `${key}: ${w.length} bytes`);
    const h = SadbAddressStruct.decode(w);
    const sa = decodeSockaddr(w, SadbAddressStruct.size, at, true);
    if (!sa.ok) return sa;
    if (h.prefixlen > (sa.value.size === 16 ? 32 : 128)) return refuse("IKE_ERR_KMSG_VALUE", at, `${key}: prefix length ${h.prefixlen}`);
    return ok({ proto: h.proto, prefixlen: h.prefixlen, address: sa.value.address, port: sa.value.port });
  },
  encode: (v: SadbAddress) => {
    const sa = encodeSockaddr(v.address, v.port);
    const out = Buffer.alloc(pad8(SadbAddressStruct.size + sa.length));
    SadbAddressStruct.encode({ proto: v.proto, prefixlen: v.prefixlen }, out);
    sa.copy(out, SadbAddressStruct.size);
    return out;
  },
});

const keyRule = (type: number, key: keyof PfkeyExts): ExtRule => ({
  type,
  key,
  decode: (w, at) => {
    if (w.length < SadbKeyStruct.size) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `${key}: ${w.length} bytes`);
    const { bits } = SadbKeyStruct.decode(w);
    const n = Math.ceil(bits / 8);
    if (pad8(SadbKeyStruct.size + n) !== w.length) return refuse("IKE_ERR_KMSG_LENGTH", at, `${key}: ${bits}-bit key in ${w.length} bytes`);
    return ok({ bits, key: w.subarray(SadbKeyStruct.size, SadbKeyStruct.size + n) });
  },
  encode: (v: SadbKey) => {
    const out = Buffer.alloc(pad8(SadbKeyStruct.size + Math.ceil(v.bits / 8)));
    SadbKeyStruct.encode({ bits: v.bits }, out);
    v.key.copy(out, SadbKeyStruct.size);
    return out;
  },
});

/** A header followed by a list of equal-size items. */
function listRule<H, T>(type: number, key: keyof PfkeyExts, headS: Struct<H>, itemS: Struct<T>, wrap: (h: H, items: T[]) => unknown, unwrap: (v: never) => { head: H; items: T[] }): ExtRule {
  return {
    type,
    key,
    decode: (w, at) => {
      const body = w.length - headS.size;
      if (body < 0 || body % itemS.size !== 0) return refuse("IKE_ERR_KMSG_LENGTH", at, `${key}: ${w.length} bytes is not ${headS.size} + n × ${itemS.size}`);
      const items: T[] = [];
      for (let i = headS.size; i < w.length; i += itemS.size) items.push(itemS.decode(w, i));
      return ok(wrap(headS.decode(w), items));
    },
    encode: (v: never) => {
      const { head, items } = unwrap(v);
      const out = Buffer.alloc(headS.size + items.length * itemS.size);
      headS.encode(head, out);
      items.forEach((it, i) => itemS.encode(it, out, headS.size + i * itemS.size));
      return out;
    },
  };
}

const supported = (type: number, key: keyof PfkeyExts): ExtRule =>
  listRule(type, key, SadbSupportedStruct, SadbAlgStruct, (_h, items) => items, (v: SadbAlg[]) => ({ head: {}, items: v }));

/** Known extensions, in the order the encoder writes them (type order). */
const RULES: readonly ExtRule[] = [
  fixed(SadbSaStruct, SadbExt.SA, "sa"),
  fixed(SadbLifetimeStruct, SadbExt.LIFETIME_CURRENT, "lifetimeCurrent"),
  fixed(SadbLifetimeStruct, SadbExt.LIFETIME_HARD, "lifetimeHard"),
  fixed(SadbLifetimeStruct, SadbExt.LIFETIME_SOFT, "lifetimeSoft"),
  addressRule(SadbExt.ADDRESS_SRC, "addressSrc"),
  addressRule(SadbExt.ADDRESS_DST, "addressDst"),
  addressRule(SadbExt.ADDRESS_PROXY, "addressProxy"),
  keyRule(SadbExt.KEY_AUTH, "keyAuth"),
  keyRule(SadbExt.KEY_ENCRYPT, "keyEncrypt"),
  listRule(SadbExt.PROPOSAL, "proposal", SadbPropStruct, SadbCombStruct, (h, combs) => ({ replay: h.replay, combs }), (v: { replay: number; combs: SadbComb[] }) => ({ head: { replay: v.replay }, items: v.combs })),
  supported(SadbExt.SUPPORTED_AUTH, "supportedAuth"),
  supported(SadbExt.SUPPORTED_ENCRYPT, "supportedEncrypt"),
  fixed(SadbSpirangeStruct, SadbExt.SPIRANGE, "spirange"),
  { type: SadbExt.X_POLICY, key: "policy", decode: decodePolicy, encode: encodePolicy as (v: never) => Buffer },
  fixed(SadbXSa2Struct, SadbExt.X_SA2, "sa2"),
  scalar(SadbXNatTTypeStruct, "natType", SadbExt.X_NAT_T_TYPE, "natTType"),
  scalar(SadbXNatTPortStruct, "port", SadbExt.X_NAT_T_SPORT, "natTSport"),
  scalar(SadbXNatTPortStruct, "port", SadbExt.X_NAT_T_DPORT, "natTDport"),
  addressRule(SadbExt.X_NAT_T_OA, "natTOa"),
];

/** A fixed extension that carries one number, kept as that number. */
function scalar<T>(s: Struct<T>, field: keyof T & string, type: number, key: keyof PfkeyExts): ExtRule {
  const f = fixed(s, type, key);
  return {
    type,
    key,
    decode: (w, at) => mapOk(f.decode(w, at), (v) => (v as Record<string, number>)[field]),
    encode: (n: number) => s.encode({ [field]: n } as T),
  };
}

function mapOk<T, U>(r: Result<T, KernelDecodeError>, f: (v: T) => U): Result<U, KernelDecodeError> {
  return r.ok ? ok(f(r.value)) : r;
}

/** The rule of an extension type, if the daemon knows it. */
export const extRule = (type: number): ExtRule | undefined => BY_TYPE.get(type);
const BY_TYPE = new Map(RULES.map((r) => [r.type, r]));

/** Encodes the extensions present in `exts`, in type order, with their len/type headers. */
export function encodeExtensions(exts: PfkeyExts): Buffer[] {
  const out: Buffer[] = [];
  for (const r of RULES) {
    const v = exts[r.key];
    if (v === undefined) continue;
    const b = r.encode(v as never);
    const whole = b.length % 8 === 0 ? b : Buffer.concat([b, Buffer.alloc(pad8(b.length) - b.length)]);
    if (whole !== b) b.fill(0); // may hold key bytes
    whole.writeUInt16LE(whole.length / 8, 0);
    whole.writeUInt16LE(r.type, 2);
    out.push(whole);
  }
  return out;
}
