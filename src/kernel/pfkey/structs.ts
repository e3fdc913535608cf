/**
 * The fixed parts of PF_KEY v2 messages as `<linux/pfkeyv2.h>` declares them (packed, all multiples
 * of 8 bytes), and the socket addresses inside address extensions. Field names drop the
 * `sadb_<struct>_` prefix. `len` fields count 8-byte words (RFC 2367 §2.2), except
 * `sadb_x_ipsecrequest_len`, which Linux counts in bytes. Sizes are checked against the C compiler's
 * in test/kernel/pfkey/codec.test.ts.
 */
import { be16, be32, bytes, pad, struct, u16, u32, u64, u8, type Struct } from "../wire/struct.js";

const P = { packed: true };

/** `struct sadb_msg`: the base header. */
export interface SadbMsgHdr {
  version: number;
  type: number;
  errno: number;
  satype: number;
  len: number;
  reserved: number;
  seq: number;
  pid: number;
}
export const SadbMsgStruct = struct<SadbMsgHdr>("sadb_msg", [u8("version"), u8("type"), u8("errno"), u8("satype"), u16("len"), u16("reserved"), u32("seq"), u32("pid")], P);

/** `struct sadb_ext`: what every extension starts with. */
export interface SadbExtHdr {
  len: number;
  type: number;
}
export const SadbExtStruct = struct<SadbExtHdr>("sadb_ext", [u16("len"), u16("type")], P);

const head = [pad(2, 2), pad(2, 2)]; // sadb_*_len and sadb_*_exttype, written by the message codec

/** `struct sadb_sa`. */
export interface SadbSa {
  spi: number;
  replay: number;
  state: number;
  auth: number;
  encrypt: number;
  flags: number;
}
export const SadbSaStruct = struct<SadbSa>("sadb_sa", [...head, be32("spi"), u8("replay"), u8("state"), u8("auth"), u8("encrypt"), u32("flags")], P);

/** `struct sadb_lifetime` (allocations are packets on Linux; times in seconds). */
export interface SadbLifetime {
  allocations: number;
  bytes: bigint;
  addtime: bigint;
  usetime: bigint;
}
export const SadbLifetimeStruct = struct<SadbLifetime>("sadb_lifetime", [...head, u32("allocations"), u64("bytes"), u64("addtime"), u64("usetime")], P);

/** `struct sadb_address` before its socket address. */
export interface SadbAddressHead {
  proto: number;
  prefixlen: number;
}
export const SadbAddressStruct = struct<SadbAddressHead>("sadb_address", [...head, u8("proto"), u8("prefixlen"), pad(2)], P);

/** `struct sadb_key` before the key bits. */
export interface SadbKeyHead {
  bits: number;
}
export const SadbKeyStruct = struct<SadbKeyHead>("sadb_key", [...head, u16("bits"), pad(2)], P);

/** `struct sadb_spirange`. */
export interface SadbSpirange {
  min: number;
  max: number;
}
export const SadbSpirangeStruct = struct<SadbSpirange>("sadb_spirange", [...head, u32("min"), u32("max"), pad(4)], P);

/** `struct sadb_x_sa2`: mode and reqid of an SA. */
export interface SadbXSa2 {
  mode: number;
  sequence: number;
  reqid: number;
}
export const SadbXSa2Struct = struct<SadbXSa2>("sadb_x_sa2", [...head, u8("mode"), pad(1), pad(2), u32("sequence"), u32("reqid")], P);

/** `struct sadb_x_policy` before its ipsecrequests. */
export interface SadbXPolicyHead {
  type: number;
  dir: number;
  id: number;
  priority: number;
}
export const SadbXPolicyStruct = struct<SadbXPolicyHead>("sadb_x_policy", [...head, u16("type"), u8("dir"), pad(1), u32("id"), u32("priority")], P);

/** `struct sadb_x_ipsecrequest` before its tunnel addresses. */
export interface SadbXIpsecrequestHead {
  len: number;
  proto: number;
  mode: number;
  level: number;
  reqid: number;
}
export const SadbXIpsecrequestStruct = struct<SadbXIpsecrequestHead>("sadb_x_ipsecrequest", [u16("len"), u16("proto"), u8("mode"), u8("level"), pad(2), u32("reqid"), pad(4)], P);

/** `struct sadb_x_nat_t_type`. */
export interface SadbXNatTType {
  natType: number;
}
export const SadbXNatTTypeStruct = struct<SadbXNatTType>("sadb_x_nat_t_type", [...head, u8("natType"), pad(3)], P);

/** `struct sadb_x_nat_t_port`. */
export interface SadbXNatTPort {
  port: number;
}
export const SadbXNatTPortStruct = struct<SadbXNatTPort>("sadb_x_nat_t_port", [...head, be16("port"), pad(2)], P);

/** `struct sadb_supported` (before its sadb_alg list) and `struct sadb_prop` (before its sadb_comb list). */
export const SadbSupportedStruct = struct<Record<string, never>>("sadb_supported", [...head, pad(4)], P);
export interface SadbPropHead {
  replay: number;
}
export const SadbPropStruct = struct<SadbPropHead>("sadb_prop", [...head, u8("replay"), pad(3)], P);

/** `struct sadb_alg`: one algorithm REGISTER reports. */
export interface SadbAlg {
  id: number;
  ivlen: number;
  minbits: number;
  maxbits: number;
}
export const SadbAlgStruct = struct<SadbAlg>("sadb_alg", [u8("id"), u8("ivlen"), u16("minbits"), u16("maxbits"), pad(2)], P);

/** `struct sadb_comb`: one algorithm combination an ACQUIRE proposes. */
export interface SadbComb {
  auth: number;
  encrypt: number;
  flags: number;
  authMinbits: number;
  authMaxbits: number;
  encryptMinbits: number;
  encryptMaxbits: number;
  softAllocations: number;
  hardAllocations: number;
  softBytes: bigint;
  hardBytes: bigint;
  softAddtime: bigint;
  hardAddtime: bigint;
  softUsetime: bigint;
  hardUsetime: bigint;
}
export const SadbCombStruct = struct<SadbComb>("sadb_comb", [
  u8("auth"), u8("encrypt"), u16("flags"), u16("authMinbits"), u16("authMaxbits"), u16("encryptMinbits"), u16("encryptMaxbits"),
  pad(4), u32("softAllocations"), u32("hardAllocations"), u64("softBytes"), u64("hardBytes"), u64("softAddtime"),
  u64("hardAddtime"), u64("softUsetime"), u64("hardUsetime"),
], P);

/** `struct sockaddr_in` (family in host order). */
export interface SockaddrIn {
  family: number;
  port: number;
  addr: Buffer;
}
export const SockaddrInStruct = struct<SockaddrIn>("sockaddr_in", [u16("family"), be16("port"), bytes("addr", 4), pad(8)]);

/** `struct sockaddr_in6`. */
export interface SockaddrIn6 {
  family: number;
  port: number;
  flowinfo: number;
  addr: Buffer;
  scopeId: number;
}
export const SockaddrIn6Struct = struct<SockaddrIn6>("sockaddr_in6", [u16("family"), be16("port"), u32("flowinfo"), bytes("addr", 16), u32("scopeId")]);

/** Every structure, for the layout test. */
export const PFKEY_STRUCTS: readonly Struct<unknown>[] = [
  SadbMsgStruct, SadbExtStruct, SadbSaStruct, SadbLifetimeStruct, SadbAddressStruct, SadbKeyStruct, SadbSpirangeStruct,
  SadbXSa2Struct, SadbXPolicyStruct, SadbXIpsecrequestStruct, SadbXNatTTypeStruct, SadbXNatTPortStruct, SadbSupportedStruct,
  SadbPropStruct, SadbAlgStruct, SadbCombStruct, SockaddrInStruct, SockaddrIn6Struct,
] as Struct<unknown>[];
