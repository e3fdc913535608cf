/**
 * ISAKMP protocol numbers (RFC 2408 §3.1–3.15, RFC 2407 §4.2–4.6, RFC 3947, RFC 3706), as `as const`
 * tables named with the RFC terms. `nameOf(table, n)` (names.ts) turns a number back into its name.
 * IKE and IPsec DOI attribute numbers live in attributes-constants.ts, notify types in
 * notify-constants.ts.
 */
import { nameOf } from "./names.js";

/** ISAKMP header length in bytes (RFC 2408 §3.1). */
export const HEADER_LENGTH = 28;
/** Generic payload header length in bytes (RFC 2408 §3.2). */
export const GENERIC_HEADER_LENGTH = 4;

/** ISAKMP version we speak (RFC 2408 §3.1: major 1, minor 0). */
export const IsakmpVersion = { Major: 1, Minor: 0 } as const;

/** Exchange types (RFC 2408 §3.1, RFC 2409 §5.5/§5.6, draft-ietf-ipsec-isakmp-mode-cfg). */
export const ExchangeType = {
  None: 0,
  Base: 1,
  IdentityProtection: 2,
  AuthenticationOnly: 3,
  Aggressive: 4,
  Informational: 5,
  Transaction: 6,
  QuickMode: 32,
  NewGroupMode: 33,
} as const;
export type ExchangeTypeValue = (typeof ExchangeType)[keyof typeof ExchangeType];

/** Header flag bits (RFC 2408 §3.1). The other five bits are reserved. */
export const HeaderFlag = {
  Encryption: 0x01,
  Commit: 0x02,
  AuthenticationOnly: 0x04,
} as const;
/** Bits of the flags octet that RFC 2408 §3.1 defines; others must be zero. */
export const HEADER_FLAGS_MASK = 0x07;

/**
 * Payload types (RFC 2408 §3.1; 14 Attribute from draft-ietf-ipsec-isakmp-mode-cfg; 20/21 from
 * RFC 3947 and 130/131 from draft-ietf-ipsec-nat-t-ike-02/03, which peers still send; 132 the
 * Cisco/strongSwan IKEv1 fragment).
 */
export const PayloadType = {
  None: 0,
  SA: 1,
  Proposal: 2,
  Transform: 3,
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  N: 11,
  D: 12,
  VID: 13,
  Attribute: 14,
  NATD: 20,
  NATOA: 21,
  NATDDraft: 130,
  NATOADraft: 131,
  Fragment: 132,
} as const;
export type PayloadTypeValue = (typeof PayloadType)[keyof typeof PayloadType];

/** Domains of interpretation (RFC 2408 §3.4: 0 generic ISAKMP during phase 1; RFC 2407 §4.2: 1 IPsec). */
export const Doi = { Isakmp: 0, Ipsec: 1 } as const;

/** IPsec DOI situation bits (RFC 2407 §4.2). */
export const Situation = { IdentityOnly: 0x01, Secrecy: 0x02, Integrity: 0x04 } as const;

/** Protocol identifiers (RFC 2407 §4.4.1). */
export const ProtocolId = { ISAKMP: 1, IPSEC_AH: 2, IPSEC_ESP: 3, IPCOMP: 4 } as const;

/** ISAKMP transform identifiers (RFC 2407 §4.4.2). */
export const IsakmpTransformId = { KEY_IKE: 1 } as const;

/** AH transform identifiers (RFC 2407 §4.4.3, RFC 4868, RFC 3566, RFC 4543). */
export const AhTransformId = {
  AH_MD5: 2,
  AH_SHA: 3,
  AH_DES: 4,
  AH_SHA2_256: 5,
  AH_SHA2_384: 6,
  AH_SHA2_512: 7,
  AH_RIPEMD: 8,
  AH_AES_XCBC_MAC: 9,
  AH_RSA: 10,
  AH_AES_128_GMAC: 11,
  AH_AES_192_GMAC: 12,
  AH_AES_256_GMAC: 13,
} as const;

/** ESP transform identifiers (RFC 2407 §4.4.4, RFC 3602, RFC 3686, RFC 4309, RFC 4106, RFC 4543). */
export const EspTransformId = {
  ESP_DES_IV64: 1,
  ESP_DES: 2,
  ESP_3DES: 3,
  ESP_RC5: 4,
  ESP_IDEA: 5,
  ESP_CAST: 6,
  ESP_BLOWFISH: 7,
  ESP_3IDEA: 8,
  ESP_DES_IV32: 9,
  ESP_RC4: 10,
  ESP_NULL: 11,
  ESP_AES: 12,
  ESP_AES_CTR: 13,
  ESP_AES_CCM_8: 14,
  ESP_AES_CCM_12: 15,
  ESP_AES_CCM_16: 16,
  ESP_AES_GCM_8: 18,
  ESP_AES_GCM_12: 19,
  ESP_AES_GCM_16: 20,
  ESP_SEED_CBC: 21,
  ESP_CAMELLIA: 22,
  ESP_NULL_AUTH_AES_GMAC: 23,
} as const;

/** IPCOMP transform identifiers (RFC 2407 §4.4.5). */
export const IpcompTransformId = { IPCOMP_OUI: 1, IPCOMP_DEFLATE: 2, IPCOMP_LZS: 3, IPCOMP_LZJH: 4 } as const;

/** The transform-identifier table that applies to a proposal's protocol. */
export function transformIdTable(protocolId: number): { readonly [name: string]: number } | undefined {
  switch (protocolId) {
    case ProtocolId.ISAKMP:
      return IsakmpTransformId;
    case ProtocolId.IPSEC_AH:
      return AhTransformId;
    case ProtocolId.IPSEC_ESP:
      return EspTransformId;
    case ProtocolId.IPCOMP:
      return IpcompTransformId;
    default:
      return undefined;
  }
}

/** Name of a transform identifier within its protocol's table. */
export function transformIdName(protocolId: number, transformId: number): string {
  const table = transformIdTable(protocolId);
  return table === undefined ? `UNKNOWN(${transformId})` : nameOf(table, transformId);
}

/** IPsec DOI identification types (RFC 2407 §4.6.2.1). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_USER_FQDN: 3,
  ID_IPV4_ADDR_SUBNET: 4,
  ID_IPV6_ADDR: 5,
  ID_IPV6_ADDR_SUBNET: 6,
  ID_IPV4_ADDR_RANGE: 7,
  ID_IPV6_ADDR_RANGE: 8,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
} as const;

/** Certificate encodings of the CERT and CR payloads (RFC 2408 §3.9). */
export const CertEncoding = {
  None: 0,
  PKCS7WrappedX509: 1,
  PGP: 2,
  DNSSignedKey: 3,
  X509Signature: 4,
  X509KeyExchange: 5,
  KerberosTokens: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509Attribute: 10,
} as const;

/** Bit 0 of the fragment payload's flags: this is the last fragment. */
export const FragmentFlag = { Last: 0x01 } as const;
