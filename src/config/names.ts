/**
 * Word tables of ike.config / ike.preshared mapped to RFC numbers.
 *
 * RFC 2409 Appendix A (Phase 1 attribute values) and RFC 2407 §4.6.2.1 (identification types).
 * The numbers come from the shared tables (src/crypto/algorithms.ts for ciphers and hashes,
 * src/codec for authentication methods and ID types); this file only adds the config words.
 */
import { AuthMethod as WireAuthMethod } from "../codec/attributes-constants.js";
import { IdType as WireIdType } from "../codec/constants.js";
import { EncryptionAlgorithm, HashAlgorithm } from "../crypto/algorithms.js";

/** RFC 2409 App. A, attribute class 1: encryption algorithm (values of crypto/algorithms.ts). */
export const EncrAlg = {
  DES_CBC: EncryptionAlgorithm.DesCbc,
  BLOWFISH_CBC: EncryptionAlgorithm.BlowfishCbc,
  TRIPLE_DES_CBC: EncryptionAlgorithm.TripleDesCbc,
  AES_CBC: EncryptionAlgorithm.AesCbc,
} as const;
/** RFC 2409 App. A, attribute class 2: hash algorithm (values of crypto/algorithms.ts). */
export const HashAlg = {
  MD5: HashAlgorithm.Md5,
  SHA1: HashAlgorithm.Sha1,
  SHA2_256: HashAlgorithm.Sha2_256,
  SHA2_384: HashAlgorithm.Sha2_384,
  SHA2_512: HashAlgorithm.Sha2_512,
} as const;
/** RFC 2409 App. A, attribute class 3: the authentication methods ike.config can name. */
export const AuthMethod = {
  PRESHARED: WireAuthMethod.PreSharedKey,
  DSS_SIG: WireAuthMethod.DssSignatures,
  RSA_SIG: WireAuthMethod.RsaSignatures,
  RSA_ENCRYPT: WireAuthMethod.RsaEncryption,
} as const;
/** RFC 2407 §4.6.2.1: identification type values. */
export const IdType = {
  IPV4_ADDR: WireIdType.ID_IPV4_ADDR,
  FQDN: WireIdType.ID_FQDN,
  USER_FQDN: WireIdType.ID_USER_FQDN,
  IPV4_ADDR_SUBNET: WireIdType.ID_IPV4_ADDR_SUBNET,
  IPV6_ADDR: WireIdType.ID_IPV6_ADDR,
  IPV6_ADDR_SUBNET: WireIdType.ID_IPV6_ADDR_SUBNET,
  IPV4_ADDR_RANGE: WireIdType.ID_IPV4_ADDR_RANGE,
  IPV6_ADDR_RANGE: WireIdType.ID_IPV6_ADDR_RANGE,
  DER_ASN1_DN: WireIdType.ID_DER_ASN1_DN,
  DER_ASN1_GN: WireIdType.ID_DER_ASN1_GN,
  KEY_ID: WireIdType.ID_KEY_ID,
} as const;

/** `encr_alg` words (ike.config §7); the first spelling per value is the one the writer uses. */
export const ENCR_WORDS: ReadonlyMap<string, number> = new Map([
  ["des", EncrAlg.DES_CBC],
  ["des-cbc", EncrAlg.DES_CBC],
  ["3des", EncrAlg.TRIPLE_DES_CBC],
  ["3des-cbc", EncrAlg.TRIPLE_DES_CBC],
  ["blowfish", EncrAlg.BLOWFISH_CBC],
  ["blowfish-cbc", EncrAlg.BLOWFISH_CBC],
  ["aes", EncrAlg.AES_CBC],
  ["aes-cbc", EncrAlg.AES_CBC],
]);

/** `auth_alg` words (`sha` is SHA-1). */
export const HASH_WORDS: ReadonlyMap<string, number> = new Map([
  ["md5", HashAlg.MD5],
  ["sha1", HashAlg.SHA1],
  ["sha", HashAlg.SHA1],
  ["sha256", HashAlg.SHA2_256],
  ["sha384", HashAlg.SHA2_384],
  ["sha512", HashAlg.SHA2_512],
]);

/** `auth_method` words. */
export const AUTH_METHOD_WORDS: ReadonlyMap<string, number> = new Map([
  ["preshared", AuthMethod.PRESHARED],
  ["dss_sig", AuthMethod.DSS_SIG],
  ["rsa_sig", AuthMethod.RSA_SIG],
  ["rsa_encrypt", AuthMethod.RSA_ENCRYPT],
]);

/** ike.config `local_id_type` words (§5), matched case-sensitively as the manual lists them. */
export const CONFIG_ID_TYPE_WORDS: ReadonlyMap<string, number> = new Map([
  ["ip", IdType.IPV4_ADDR],
  ["IP", IdType.IPV4_ADDR],
  ["ipv4", IdType.IPV4_ADDR],
  ["ipv6", IdType.IPV6_ADDR],
  ["ipv4_prefix", IdType.IPV4_ADDR_SUBNET],
  ["ipv6_prefix", IdType.IPV6_ADDR_SUBNET],
  ["ipv4_range", IdType.IPV4_ADDR_RANGE],
  ["ipv6_range", IdType.IPV6_ADDR_RANGE],
  ["dns", IdType.FQDN],
  ["DNS", IdType.FQDN],
  ["fqdn", IdType.FQDN],
  ["FQDN", IdType.FQDN],
  ["mbox", IdType.USER_FQDN],
  ["MBOX", IdType.USER_FQDN],
  ["user_fqdn", IdType.USER_FQDN],
  ["dn", IdType.DER_ASN1_DN],
  ["DN", IdType.DER_ASN1_DN],
  ["gn", IdType.DER_ASN1_GN],
  ["GN", IdType.DER_ASN1_GN],
]);

/**
 * ike.preshared id-type words, compared lower-cased (ikeadm's table). `null` family means the
 * address literal decides v4/v6; `kind` says which value form follows.
 */
export const PRESHARED_ID_TYPE_WORDS: ReadonlyMap<string, { kind: "addr" | "prefix" | "range" | "name"; family: 4 | 6 | null; nameType?: number }> =
  new Map([
    ["ip", { kind: "addr", family: null }],
    ["ipv4", { kind: "addr", family: 4 }],
    ["ipv6", { kind: "addr", family: 6 }],
    ["prefix", { kind: "prefix", family: null }],
    ["subnet", { kind: "prefix", family: null }],
    ["ipv4-prefix", { kind: "prefix", family: 4 }],
    ["subnetv4", { kind: "prefix", family: 4 }],
    ["ipv6-prefix", { kind: "prefix", family: 6 }],
    ["subnetv6", { kind: "prefix", family: 6 }],
    ["ipv4-range", { kind: "range", family: 4 }],
    ["rangev4", { kind: "range", family: 4 }],
    ["ipv6-range", { kind: "range", family: 6 }],
    ["rangev6", { kind: "range", family: 6 }],
    ["fqdn", { kind: "name", family: null, nameType: IdType.FQDN }],
    ["dns", { kind: "name", family: null, nameType: IdType.FQDN }],
    ["domain", { kind: "name", family: null, nameType: IdType.FQDN }],
    ["domainname", { kind: "name", family: null, nameType: IdType.FQDN }],
    ["user_fqdn", { kind: "name", family: null, nameType: IdType.USER_FQDN }],
    ["mbox", { kind: "name", family: null, nameType: IdType.USER_FQDN }],
    ["mailbox", { kind: "name", family: null, nameType: IdType.USER_FQDN }],
    ["dn", { kind: "name", family: null, nameType: IdType.DER_ASN1_DN }],
    ["asn1dn", { kind: "name", family: null, nameType: IdType.DER_ASN1_DN }],
    ["gn", { kind: "name", family: null, nameType: IdType.DER_ASN1_GN }],
    ["asn1gn", { kind: "name", family: null, nameType: IdType.DER_ASN1_GN }],
    ["keyid", { kind: "name", family: null, nameType: IdType.KEY_ID }],
  ]);

/**
 * Groups valid for `oakley_group` (ike.config §7.2: MODP 1, 2, 5, 14–18, 22–24; EC2N 3, 4;
 * ECP 19–21, 25, 26). Which of them the crypto layer implements is its own business.
 */
export const OAKLEY_GROUPS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);

/** Valid AES key lengths in bits. */
export const AES_KEY_BITS: ReadonlySet<number> = new Set([128, 192, 256]);

function firstWord(table: ReadonlyMap<string, number>, value: number): string | undefined {
  for (const [word, v] of table) if (v === value) return word;
  return undefined;
}

/** The config word for an encryption algorithm number (`aes`), or `undefined`. */
export function encrWord(value: number): string | undefined {
  return firstWord(ENCR_WORDS, value);
}
/** The config word for a hash algorithm number (`sha1`), or `undefined`. */
export function hashWord(value: number): string | undefined {
  return firstWord(HASH_WORDS, value);
}
/** The config word for an authentication method number (`preshared`), or `undefined`. */
export function authMethodWord(value: number): string | undefined {
  return firstWord(AUTH_METHOD_WORDS, value);
}
/** The ike.config `local_id_type` word for an ID type number (`ipv4_prefix`), or `undefined`. */
export function configIdTypeWord(value: number): string | undefined {
  return firstWord(CONFIG_ID_TYPE_WORDS, value);
}

/** RFC name of an ID type number, for logs (`ID_IPV4_ADDR`). */
export function idTypeName(value: number): string {
  for (const [name, v] of Object.entries(IdType)) if (v === value) return `ID_${name}`;
  return `ID_${value}`;
}
