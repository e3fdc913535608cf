/**
 * The fixed structures of XFRM netlink messages and attributes, as `<linux/xfrm.h>` declares them
 * (field names without their C prefixes). Layout, padding and size come from the struct engine; the
 * sizes are checked against the C compiler's in test/kernel/xfrm/structs.test.ts.
 *
 * Addresses (`xfrm_address_t`) are 16 raw bytes: an IPv4 address in the first 4. SPIs and ports are
 * in network order (`__be32`, `__be16`), everything else in host order.
 */
import { be16, be32, bytes, i32, nested, pad, struct, u16, u32, u64, u8, type Struct } from "../wire/struct.js";

/** `xfrm_address_t`: 16 bytes, 4-aligned (a union of `__be32` words). */
const addr = (name: string) => bytes(name, 16, 4);

/** `struct xfrm_selector`: the traffic a policy or SA applies to. */
export interface XfrmSelector {
  daddr: Buffer;
  saddr: Buffer;
  dport: number;
  dportMask: number;
  sport: number;
  sportMask: number;
  family: number;
  prefixlenD: number;
  prefixlenS: number;
  proto: number;
  ifindex: number;
  user: number;
}
export const XfrmSelectorStruct = struct<XfrmSelector>("xfrm_selector", [
  addr("daddr"), addr("saddr"), be16("dport"), be16("dportMask"), be16("sport"), be16("sportMask"),
  u16("family"), u8("prefixlenD"), u8("prefixlenS"), u8("proto"), i32("ifindex"), u32("user"),
]);

/** `struct xfrm_id`: destination, SPI and protocol of an SA. */
export interface XfrmId {
  daddr: Buffer;
  spi: number;
  proto: number;
}
export const XfrmIdStruct = struct<XfrmId>("xfrm_id", [addr("daddr"), be32("spi"), u8("proto")]);

/** `struct xfrm_lifetime_cfg`: limits; `XFRM_INF` is "none". */
export interface XfrmLifetimeCfg {
  softByteLimit: bigint;
  hardByteLimit: bigint;
  softPacketLimit: bigint;
  hardPacketLimit: bigint;
  softAddExpiresSeconds: bigint;
  hardAddExpiresSeconds: bigint;
  softUseExpiresSeconds: bigint;
  hardUseExpiresSeconds: bigint;
}
export const XfrmLifetimeCfgStruct = struct<XfrmLifetimeCfg>("xfrm_lifetime_cfg", [
  u64("softByteLimit"), u64("hardByteLimit"), u64("softPacketLimit"), u64("hardPacketLimit"),
  u64("softAddExpiresSeconds"), u64("hardAddExpiresSeconds"), u64("softUseExpiresSeconds"), u64("hardUseExpiresSeconds"),
]);

/** `struct xfrm_lifetime_cur`: counters; times in seconds since the epoch (0: never). */
export interface XfrmLifetimeCur {
  bytes: bigint;
  packets: bigint;
  addTime: bigint;
  useTime: bigint;
}
export const XfrmLifetimeCurStruct = struct<XfrmLifetimeCur>("xfrm_lifetime_cur", [u64("bytes"), u64("packets"), u64("addTime"), u64("useTime")]);

/** `struct xfrm_stats`. */
export interface XfrmStats {
  replayWindow: number;
  replay: number;
  integrityFailed: number;
}
export const XfrmStatsStruct = struct<XfrmStats>("xfrm_stats", [u32("replayWindow"), u32("replay"), u32("integrityFailed")]);

/** `struct xfrm_usersa_info`: an SA (NEWSA, UPDSA, GETSA replies, EXPIRE). */
export interface XfrmUsersaInfo {
  sel: XfrmSelector;
  id: XfrmId;
  saddr: Buffer;
  lft: XfrmLifetimeCfg;
  curlft: XfrmLifetimeCur;
  stats: XfrmStats;
  seq: number;
  reqid: number;
  family: number;
  mode: number;
  replayWindow: number;
  flags: number;
}
export const XfrmUsersaInfoStruct = struct<XfrmUsersaInfo>("xfrm_usersa_info", [
  nested("sel", XfrmSelectorStruct), nested("id", XfrmIdStruct), addr("saddr"), nested("lft", XfrmLifetimeCfgStruct),
  nested("curlft", XfrmLifetimeCurStruct), nested("stats", XfrmStatsStruct), u32("seq"), u32("reqid"), u16("family"),
  u8("mode"), u8("replayWindow"), u8("flags"),
]);

/** `struct xfrm_usersa_id`: names an SA (DELSA, GETSA). */
export interface XfrmUsersaId {
  daddr: Buffer;
  spi: number;
  family: number;
  proto: number;
}
export const XfrmUsersaIdStruct = struct<XfrmUsersaId>("xfrm_usersa_id", [addr("daddr"), be32("spi"), u16("family"), u8("proto")]);

/** `struct xfrm_userspi_info`: ALLOCSPI. */
export interface XfrmUserspiInfo {
  info: XfrmUsersaInfo;
  min: number;
  max: number;
}
export const XfrmUserspiInfoStruct = struct<XfrmUserspiInfo>("xfrm_userspi_info", [nested("info", XfrmUsersaInfoStruct), u32("min"), u32("max")]);

/** `struct xfrm_userpolicy_info`: a policy (NEWPOLICY, UPDPOLICY, dumps). */
export interface XfrmUserpolicyInfo {
  sel: XfrmSelector;
  lft: XfrmLifetimeCfg;
  curlft: XfrmLifetimeCur;
  priority: number;
  index: number;
  dir: number;
  action: number;
  flags: number;
  share: number;
}
export const XfrmUserpolicyInfoStruct = struct<XfrmUserpolicyInfo>("xfrm_userpolicy_info", [
  nested("sel", XfrmSelectorStruct), nested("lft", XfrmLifetimeCfgStruct), nested("curlft", XfrmLifetimeCurStruct),
  u32("priority"), u32("index"), u8("dir"), u8("action"), u8("flags"), u8("share"),
]);

/** `struct xfrm_userpolicy_id`: names a policy by index, or by selector and direction (DELPOLICY). */
export interface XfrmUserpolicyId {
  sel: XfrmSelector;
  index: number;
  dir: number;
}
export const XfrmUserpolicyIdStruct = struct<XfrmUserpolicyId>("xfrm_userpolicy_id", [nested("sel", XfrmSelectorStruct), u32("index"), u8("dir")]);

/** `struct xfrm_user_tmpl`: one SA a policy asks for (XFRMA_TMPL holds an array of them). */
export interface XfrmUserTmpl {
  id: XfrmId;
  family: number;
  saddr: Buffer;
  reqid: number;
  mode: number;
  share: number;
  optional: number;
  aalgos: number;
  ealgos: number;
  calgos: number;
}
export const XfrmUserTmplStruct = struct<XfrmUserTmpl>("xfrm_user_tmpl", [
  nested("id", XfrmIdStruct), u16("family"), addr("saddr"), u32("reqid"), u8("mode"), u8("share"), u8("optional"),
  u32("aalgos"), u32("ealgos"), u32("calgos"),
]);

/** `struct xfrm_user_acquire`: the kernel wants an SA for a template. */
export interface XfrmUserAcquire {
  id: XfrmId;
  saddr: Buffer;
  sel: XfrmSelector;
  policy: XfrmUserpolicyInfo;
  aalgos: number;
  ealgos: number;
  calgos: number;
  seq: number;
}
export const XfrmUserAcquireStruct = struct<XfrmUserAcquire>("xfrm_user_acquire", [
  nested("id", XfrmIdStruct), addr("saddr"), nested("sel", XfrmSelectorStruct), nested("policy", XfrmUserpolicyInfoStruct),
  u32("aalgos"), u32("ealgos"), u32("calgos"), u32("seq"),
]);

/** `struct xfrm_user_expire`: an SA reached a soft or hard limit. */
export interface XfrmUserExpire {
  state: XfrmUsersaInfo;
  hard: number;
}
export const XfrmUserExpireStruct = struct<XfrmUserExpire>("xfrm_user_expire", [nested("state", XfrmUsersaInfoStruct), u8("hard")]);

/** `struct xfrm_user_polexpire`: a policy reached a limit. */
export interface XfrmUserPolexpire {
  pol: XfrmUserpolicyInfo;
  hard: number;
}
export const XfrmUserPolexpireStruct = struct<XfrmUserPolexpire>("xfrm_user_polexpire", [nested("pol", XfrmUserpolicyInfoStruct), u8("hard")]);

/** `struct xfrm_usersa_flush`. */
export interface XfrmUsersaFlush {
  proto: number;
}
export const XfrmUsersaFlushStruct = struct<XfrmUsersaFlush>("xfrm_usersa_flush", [u8("proto")]);

/** `struct xfrm_encap_tmpl`: UDP encapsulation of ESP (NAT-T). */
export interface XfrmEncapTmpl {
  encapType: number;
  encapSport: number;
  encapDport: number;
  encapOa: Buffer;
}
export const XfrmEncapTmplStruct = struct<XfrmEncapTmpl>("xfrm_encap_tmpl", [u16("encapType"), be16("encapSport"), be16("encapDport"), addr("encapOa")]);

/** `struct xfrm_mark`. */
export interface XfrmMark {
  v: number;
  m: number;
}
export const XfrmMarkStruct = struct<XfrmMark>("xfrm_mark", [u32("v"), u32("m")]);

/** `struct xfrm_replay_state`. */
export interface XfrmReplayState {
  oseq: number;
  seq: number;
  bitmap: number;
}
export const XfrmReplayStateStruct = struct<XfrmReplayState>("xfrm_replay_state", [u32("oseq"), u32("seq"), u32("bitmap")]);

/** `struct xfrm_userpolicy_type`. */
export interface XfrmUserpolicyType {
  type: number;
}
export const XfrmUserpolicyTypeStruct = struct<XfrmUserpolicyType>("xfrm_userpolicy_type", [u8("type"), pad(2, 2), pad(1)]);

/** The algorithm name field of `xfrm_algo*`. */
export const ALG_NAME_SIZE = 64;
/** `struct xfrm_algo` (ALG_CRYPT, ALG_AUTH, ALG_COMP) before the key. */
export interface XfrmAlgoHead {
  name: Buffer;
  keyLen: number;
}
export const XfrmAlgoStruct = struct<XfrmAlgoHead>("xfrm_algo", [bytes("name", ALG_NAME_SIZE), u32("keyLen")]);
/** `struct xfrm_algo_auth` (ALG_AUTH_TRUNC) and `struct xfrm_algo_aead` (ALG_AEAD) before the key. */
export interface XfrmAlgoTruncHead {
  name: Buffer;
  keyLen: number;
  truncLen: number;
}
export const XfrmAlgoAuthStruct = struct<XfrmAlgoTruncHead>("xfrm_algo_auth", [bytes("name", ALG_NAME_SIZE), u32("keyLen"), u32("truncLen")]);

/** Every structure, for the layout test. */
export const XFRM_STRUCTS: readonly Struct<unknown>[] = [
  XfrmSelectorStruct, XfrmIdStruct, XfrmLifetimeCfgStruct, XfrmLifetimeCurStruct, XfrmStatsStruct, XfrmUsersaInfoStruct,
  XfrmUsersaIdStruct, XfrmUserspiInfoStruct, XfrmUserpolicyInfoStruct, XfrmUserpolicyIdStruct, XfrmUserTmplStruct,
  XfrmUserAcquireStruct, XfrmUserExpireStruct, XfrmUserPolexpireStruct, XfrmUsersaFlushStruct, XfrmEncapTmplStruct,
  XfrmMarkStruct, XfrmReplayStateStruct, XfrmUserpolicyTypeStruct, XfrmAlgoStruct, XfrmAlgoAuthStruct,
] as Struct<unknown>[];
