/**
 * Numbers of PF_KEY v2 (RFC 2367 §2.3, Linux `<linux/pfkeyv2.h>` and `<linux/ipsec.h>`), named as
 * the headers name them.
 */

/** `PF_KEY_V2`: the only version. */
export const PF_KEY_V2 = 2;

/** Message types (`SADB_*`, `SADB_X_*`). */
export const SadbMsg = {
  GETSPI: 1,
  UPDATE: 2,
  ADD: 3,
  DELETE: 4,
  GET: 5,
  ACQUIRE: 6,
  REGISTER: 7,
  EXPIRE: 8,
  FLUSH: 9,
  DUMP: 10,
  X_PROMISC: 11,
  X_PCHANGE: 12,
  X_SPDUPDATE: 13,
  X_SPDADD: 14,
  X_SPDDELETE: 15,
  X_SPDGET: 16,
  X_SPDACQUIRE: 17,
  X_SPDDUMP: 18,
  X_SPDFLUSH: 19,
  X_SPDSETIDX: 20,
  X_SPDEXPIRE: 21,
  X_SPDDELETE2: 22,
  X_NAT_T_NEW_MAPPING: 23,
  X_MIGRATE: 24,
} as const;
/** Highest message type. */
export const SADB_MAX = 24;

/** Extension types (`SADB_EXT_*`, `SADB_X_EXT_*`). */
export const SadbExt = {
  SA: 1,
  LIFETIME_CURRENT: 2,
  LIFETIME_HARD: 3,
  LIFETIME_SOFT: 4,
  ADDRESS_SRC: 5,
  ADDRESS_DST: 6,
  ADDRESS_PROXY: 7,
  KEY_AUTH: 8,
  KEY_ENCRYPT: 9,
  IDENTITY_SRC: 10,
  IDENTITY_DST: 11,
  SENSITIVITY: 12,
  PROPOSAL: 13,
  SUPPORTED_AUTH: 14,
  SUPPORTED_ENCRYPT: 15,
  SPIRANGE: 16,
  X_KMPRIVATE: 17,
  X_POLICY: 18,
  X_SA2: 19,
  X_NAT_T_TYPE: 20,
  X_NAT_T_SPORT: 21,
  X_NAT_T_DPORT: 22,
  X_NAT_T_OA: 23,
  X_SEC_CTX: 24,
  X_KMADDRESS: 25,
  X_FILTER: 26,
} as const;
/** Highest extension type. */
export const SADB_EXT_MAX = 26;

/** SA states (`SADB_SASTATE_*`). */
export const SadbSaState = { LARVAL: 0, MATURE: 1, DYING: 2, DEAD: 3 } as const;
/** SA types (`SADB_SATYPE_*`). */
export const SadbSatype = { UNSPEC: 0, AH: 2, ESP: 3, X_IPCOMP: 9 } as const;

/** `IPSEC_MODE_*` (sadb_x_sa2, ipsecrequest). */
export const IpsecMode = { ANY: 0, TRANSPORT: 1, TUNNEL: 2, BEET: 3 } as const;
/** `IPSEC_DIR_*` (sadb_x_policy). */
export const IpsecDir = { ANY: 0, INBOUND: 1, OUTBOUND: 2, FWD: 3 } as const;
/** `IPSEC_POLICY_*` (sadb_x_policy type). */
export const IpsecPolicy = { DISCARD: 0, NONE: 1, IPSEC: 2, ENTRUST: 3, BYPASS: 4 } as const;
/** `IPSEC_LEVEL_*` (ipsecrequest). */
export const IpsecLevel = { DEFAULT: 0, USE: 1, REQUIRE: 2, UNIQUE: 3 } as const;
/** Largest reqid Linux keeps from an ipsecrequest (`IPSEC_MANUAL_REQID_MAX`); above, it picks its own. */
export const IPSEC_MANUAL_REQID_MAX = 0x3fff;
/** `IPSEC_ULPROTO_ANY`: "any upper-layer protocol" in sadb_address_proto of policy selectors. */
export const IPSEC_ULPROTO_ANY = 255;

/** Message-type name for logs. */
export function sadbMsgName(type: number): string {
  for (const [name, v] of Object.entries(SadbMsg)) if (v === type) return `SADB_${name}`;
  return `SADB_${type}`;
}
