/**
 * Data-attribute numbers: IKE phase 1 attributes (RFC 2409 appendix A, RFC 3602, RFC 4754, RFC 5114,
 * XAUTH/hybrid numbers from draft-beaulieu-ike-xauth and draft-ietf-ipsra-isakmp-hybrid-auth) and
 * IPsec DOI phase 2 attributes (RFC 2407 §4.5, RFC 3947 §5.3 and its draft values, RFC 4304).
 * Each attribute is basic (B: must be TV) or variable (V: TLV, or TV when the value fits).
 */
import { nameOf, type NumberTable } from "./names.js";
import { ProtocolId } from "./constants.js";

/** IKE (ISAKMP protocol) attribute types (RFC 2409 appendix A). */
export const IkeAttr = {
  EncryptionAlgorithm: 1,
  HashAlgorithm: 2,
  AuthenticationMethod: 3,
  GroupDescription: 4,
  GroupType: 5,
  GroupPrime: 6,
  GroupGeneratorOne: 7,
  GroupGeneratorTwo: 8,
  GroupCurveA: 9,
  GroupCurveB: 10,
  LifeType: 11,
  LifeDuration: 12,
  PRF: 13,
  KeyLength: 14,
  FieldSize: 15,
  GroupOrder: 16,
} as const;

/** IKE attribute types of class B (basic), which must be sent in TV form. */
export const IKE_BASIC_ATTRS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 11, 13, 14, 15]);

/** Encryption algorithms (RFC 2409 appendix A, RFC 3602, RFC 4312). */
export const IkeEncryption = {
  DES_CBC: 1,
  IDEA_CBC: 2,
  BLOWFISH_CBC: 3,
  RC5_R16_B64_CBC: 4,
  TRIPLEDES_CBC: 5,
  CAST_CBC: 6,
  AES_CBC: 7,
  CAMELLIA_CBC: 8,
} as const;

/** Hash algorithms (RFC 2409 appendix A, RFC 4868). */
export const IkeHash = { MD5: 1, SHA: 2, TIGER: 3, SHA2_256: 4, SHA2_384: 5, SHA2_512: 6 } as const;

/** Authentication methods (RFC 2409 appendix A, RFC 4754, XAUTH and hybrid drafts). */
export const AuthMethod = {
  PreSharedKey: 1,
  DssSignatures: 2,
  RsaSignatures: 3,
  RsaEncryption: 4,
  RsaRevisedEncryption: 5,
  ElGamalEncryption: 6,
  ElGamalRevisedEncryption: 7,
  EcdsaSignatures: 8,
  EcdsaSha256P256: 9,
  EcdsaSha384P384: 10,
  EcdsaSha512P521: 11,
  HybridInitRsa: 64221,
  HybridRespRsa: 64222,
  HybridInitDss: 64223,
  HybridRespDss: 64224,
  XauthInitPreShared: 65001,
  XauthRespPreShared: 65002,
  XauthInitDss: 65003,
  XauthRespDss: 65004,
  XauthInitRsa: 65005,
  XauthRespRsa: 65006,
  XauthInitRsaEncryption: 65007,
  XauthRespRsaEncryption: 65008,
  XauthInitRsaRevisedEncryption: 65009,
  XauthRespRsaRevisedEncryption: 65010,
} as const;

/** Group descriptions (RFC 2409 §6, RFC 3526, RFC 5903, RFC 5114, RFC 6932). */
export const GroupDescription = {
  MODP_768: 1,
  MODP_1024: 2,
  EC2N_155: 3,
  EC2N_185: 4,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  MODP_1024_160: 22,
  MODP_2048_224: 23,
  MODP_2048_256: 24,
  ECP_192: 25,
  ECP_224: 26,
  BRAINPOOL_P224R1: 27,
  BRAINPOOL_P256R1: 28,
  BRAINPOOL_P384R1: 29,
  BRAINPOOL_P512R1: 30,
} as const;

/** Group types (RFC 2409 appendix A). */
export const GroupType = { MODP: 1, ECP: 2, EC2N: 3 } as const;

/** Life types (RFC 2409 appendix A and RFC 2407 §4.5 share the numbers). */
export const LifeType = { Seconds: 1, Kilobytes: 2 } as const;

/** IPsec DOI SA attribute types (RFC 2407 §4.5, RFC 3168 ECN, RFC 4304 ESN). */
export const IpsecAttr = {
  SaLifeType: 1,
  SaLifeDuration: 2,
  GroupDescription: 3,
  EncapsulationMode: 4,
  AuthenticationAlgorithm: 5,
  KeyLength: 6,
  KeyRounds: 7,
  CompressDictionarySize: 8,
  CompressPrivateAlgorithm: 9,
  EcnTunnel: 10,
  ExtendedSequenceNumber: 11,
} as const;

/** IPsec attribute types of class B (basic), which must be sent in TV form. */
export const IPSEC_BASIC_ATTRS: ReadonlySet<number> = new Set([1, 3, 4, 5, 6, 7, 8, 10, 11]);

/** Encapsulation modes (RFC 2407 §4.5, RFC 3947 §5.3 and the draft values still sent). */
export const EncapsulationMode = {
  Tunnel: 1,
  Transport: 2,
  UdpEncapsulatedTunnel: 3,
  UdpEncapsulatedTransport: 4,
  UdpEncapsulatedTunnelDraft: 61443,
  UdpEncapsulatedTransportDraft: 61444,
} as const;

/** Authentication algorithms (RFC 2407 §4.5, RFC 4868, RFC 3566, RFC 4543). */
export const AuthAlgorithm = {
  HMAC_MD5: 1,
  HMAC_SHA: 2,
  DES_MAC: 3,
  KPDK: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  HMAC_RIPEMD: 8,
  AES_XCBC_MAC: 9,
  SIG_RSA: 10,
  AES_128_GMAC: 11,
  AES_192_GMAC: 12,
  AES_256_GMAC: 13,
} as const;

/** Whether an attribute type is class B (must be TV) for a proposal of the given protocol. */
export function isBasicAttribute(protocolId: number, attrType: number): boolean {
  return protocolId === ProtocolId.ISAKMP ? IKE_BASIC_ATTRS.has(attrType) : IPSEC_BASIC_ATTRS.has(attrType);
}

/** Name of an attribute type within the IKE or IPsec table, by proposal protocol. */
export function attributeName(protocolId: number, attrType: number): string {
  return nameOf(protocolId === ProtocolId.ISAKMP ? IkeAttr : IpsecAttr, attrType);
}

function valueTable(protocolId: number, attrType: number): NumberTable | undefined {
  if (protocolId === ProtocolId.ISAKMP) {
    switch (attrType) {
      case IkeAttr.EncryptionAlgorithm:
        return IkeEncryption;
      case IkeAttr.HashAlgorithm:
      case IkeAttr.PRF:
        return IkeHash;
      case IkeAttr.AuthenticationMethod:
        return AuthMethod;
      case IkeAttr.GroupDescription:
        return GroupDescription;
      case IkeAttr.GroupType:
        return GroupType;
      case IkeAttr.LifeType:
        return LifeType;
      default:
        return undefined;
    }
  }
  switch (attrType) {
    case IpsecAttr.SaLifeType:
      return LifeType;
    case IpsecAttr.GroupDescription:
      return GroupDescription;
    case IpsecAttr.EncapsulationMode:
      return EncapsulationMode;
    case IpsecAttr.AuthenticationAlgorithm:
      return AuthAlgorithm;
    default:
      return undefined;
  }
}

/**
 * Name of an attribute value ("AES_CBC", "Tunnel"), or the plain number for attributes whose value
 * is a quantity (life duration, key length).
 */
export function attributeValueName(protocolId: number, attrType: number, value: number): string {
  const table = valueTable(protocolId, attrType);
  return table === undefined ? String(value) : nameOf(table, value);
}
