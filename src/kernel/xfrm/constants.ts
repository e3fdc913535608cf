/**
 * Numbers of the Linux XFRM netlink interface (`<linux/xfrm.h>`, `<linux/in.h>`, `<linux/socket.h>`),
 * named as the uapi header names them.
 */

/** Message types (`XFRM_MSG_*`). */
export const XfrmMsg = {
  NEWSA: 0x10,
  DELSA: 0x11,
  GETSA: 0x12,
  NEWPOLICY: 0x13,
  DELPOLICY: 0x14,
  GETPOLICY: 0x15,
  ALLOCSPI: 0x16,
  ACQUIRE: 0x17,
  EXPIRE: 0x18,
  UPDPOLICY: 0x19,
  UPDSA: 0x1a,
  POLEXPIRE: 0x1b,
  FLUSHSA: 0x1c,
  FLUSHPOLICY: 0x1d,
  NEWAE: 0x1e,
  GETAE: 0x1f,
  REPORT: 0x20,
  MIGRATE: 0x21,
  NEWSADINFO: 0x22,
  GETSADINFO: 0x23,
  NEWSPDINFO: 0x24,
  GETSPDINFO: 0x25,
  MAPPING: 0x26,
} as const;

/** Attribute types (`XFRMA_*`). */
export const Xfrma = {
  ALG_AUTH: 1,
  ALG_CRYPT: 2,
  ALG_COMP: 3,
  ENCAP: 4,
  TMPL: 5,
  SA: 6,
  POLICY: 7,
  SEC_CTX: 8,
  LTIME_VAL: 9,
  REPLAY_VAL: 10,
  REPLAY_THRESH: 11,
  ETIMER_THRESH: 12,
  SRCADDR: 13,
  COADDR: 14,
  LASTUSED: 15,
  POLICY_TYPE: 16,
  MIGRATE: 17,
  ALG_AEAD: 18,
  KMADDRESS: 19,
  ALG_AUTH_TRUNC: 20,
  MARK: 21,
  TFCPAD: 22,
  REPLAY_ESN_VAL: 23,
  SA_EXTRA_FLAGS: 24,
  PROTO: 25,
  ADDRESS_FILTER: 26,
  PAD: 27,
  OFFLOAD_DEV: 28,
  SET_MARK: 29,
  SET_MARK_MASK: 30,
  IF_ID: 31,
} as const;

/** Multicast groups (`XFRMNLGRP_*`), joined by number. */
export const XfrmGroup = {
  ACQUIRE: 1,
  EXPIRE: 2,
  SA: 3,
  POLICY: 4,
  AEVENTS: 5,
  REPORT: 6,
  MIGRATE: 7,
  MAPPING: 8,
} as const;

/** Policy directions (`XFRM_POLICY_IN` ...); the low bits of a policy index are its direction. */
export const XfrmPolicyDir = { IN: 0, OUT: 1, FWD: 2 } as const;
/** Policy actions. */
export const XfrmPolicyAction = { ALLOW: 0, BLOCK: 1 } as const;
/** Policy types (`XFRM_POLICY_TYPE_*`). */
export const XfrmPolicyType = { MAIN: 0, SUB: 1, ANY: 255 } as const;
/** SA and template modes (`XFRM_MODE_*`). */
export const XfrmMode = { TRANSPORT: 0, TUNNEL: 1, ROUTEOPTIMIZATION: 2, IN_TRIGGER: 3, BEET: 4 } as const;
/** `xfrm_usersa_info.flags`. */
export const XfrmStateFlag = { NOECN: 1, DECAP_DSCP: 2, NOPMTUDISC: 4, WILDRECV: 8, ICMP: 16, AF_UNSPEC: 32, ALIGN4: 64, ESN: 128 } as const;

/** IP protocol numbers of the SA protocols (`xfrm_id.proto`). */
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ESP: 50, AH: 51, ICMPV6: 58, COMP: 108 } as const;
/** `IPSEC_PROTO_ANY`: FLUSHSA of every SA protocol. */
export const IPSEC_PROTO_ANY = 255;

/** Address families. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** `UDP_ENCAP_ESPINUDP` (RFC 3948), the only encapsulation type IKEv1 NAT-T uses. */
export const UDP_ENCAP_ESPINUDP = 2;

/** `XFRM_INF`: a lifetime limit of "never". */
export const XFRM_INF = 0xffffffffffffffffn;

/** Message-type name for logs. */
export function xfrmMsgName(type: number): string {
  for (const [name, v] of Object.entries(XfrmMsg)) if (v === type) return `XFRM_MSG_${name}`;
  return `XFRM_MSG_${type}`;
}
