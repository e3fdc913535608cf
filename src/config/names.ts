/**
 * Word tables of ike.config / ike.preshared mapped to RFC numbers.
 *
 * RFC 2409 Appendix A (Phase 1 attribute values) and RFC 2407 §4.6.2.1 (identification types).
 * The numbers are the codec's (src/codec/constants.ts, attributes-constants.ts), the one table of
 * RFC numbers; this file only adds the config words.
 */
import { AuthMethod, IkeEncryption, IkeHash } from "../codec/attributes-constants.js";
import { IdType } from "../codec/constants.js";
import { isKnown, nameOf } from "../codec/names.js";

/** `encr_alg` words (ike.config §7); the first spelling per value is the one the writer uses. */
export const ENCR_WORDS: ReadonlyMap<string, number> = new Map([
  ["des", IkeEncryption.DES_CBC],
  ["des-cbc", IkeEncryption.DES_CBC],
  ["3des", IkeEncryption.TRIPLEDES_CBC],
  ["3des-cbc", IkeEncryption.TRIPLEDES_CBC],
  ["blowfish", IkeEncryption.BLOWFISH_CBC],
  ["blowfish-cbc", IkeEncryption.BLOWFISH_CBC],
  ["aes", IkeEncryption.AES_CBC],
  ["aes-cbc", IkeEncryption.AES_CBC],
]);

/** `auth_alg` words (`sha` is SHA-1). */
export const HASH_WORDS: ReadonlyMap<string, number> = new Map([
  ["md5", IkeHash.MD5],
  ["sha1", IkeHash.SHA],
  ["sha", IkeHash.SHA],
  ["sha256", IkeHash.SHA2_256],
  ["sha384", IkeHash.SHA2_384],
  ["sha512", IkeHash.SHA2_512],
]);

/** `auth_method` words. */
export const AUTH_METHOD_WORDS: ReadonlyMap<string, number> = new Map([
  ["preshared", AuthMethod.PreSharedKey],
  ["dss_sig", AuthMethod.DssSignatures],
  ["rsa_sig", AuthMethod.RsaSignatures],
  ["rsa_encrypt", AuthMethod.RsaEncryption],
]);

/** ike.config `local_id_type` words (§5), matched case-sensitively as the manual lists them. */
export const CONFIG_ID_TYPE_WORDS: ReadonlyMap<string, number> = new Map([
  ["ip", IdType.ID_IPV4_ADDR],
  ["IP", IdType.ID_IPV4_ADDR],
  ["ipv4", IdType.ID_IPV4_ADDR],
  ["ipv6", IdType.ID_IPV6_ADDR],
  ["ipv4_prefix", IdType.ID_IPV4_ADDR_SUBNET],
  ["ipv6_prefix", IdType.ID_IPV6_ADDR_SUBNET],
  ["ipv4_range", IdType.ID_IPV4_ADDR_RANGE],
  ["ipv6_range", IdType.ID_IPV6_ADDR_RANGE],
  ["dns", IdType.ID_FQDN],
  ["DNS", IdType.ID_FQDN],
  ["fqdn", IdType.ID_FQDN],
  ["FQDN", IdType.ID_FQDN],
  ["mbox", IdType.ID_USER_FQDN],
  ["MBOX", IdType.ID_USER_FQDN],
  ["user_fqdn", IdType.ID_USER_FQDN],
  ["dn", IdType.ID_DER_ASN1_DN],
  ["DN", IdType.ID_DER_ASN1_DN],
  ["gn", IdType.ID_DER_ASN1_GN],
  ["GN", IdType.ID_DER_ASN1_GN],
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
    ["fqdn", { kind: "name", family: null, nameType: IdType.ID_FQDN }],
    ["dns", { kind: "name", family: null, nameType: IdType.ID_FQDN }],
    ["domain", { kind: "name", family: null, nameType: IdType.ID_FQDN }],
    ["domainname", { kind: "name", family: null, nameType: IdType.ID_FQDN }],
    ["user_fqdn", { kind: "name", family: null, nameType: IdType.ID_USER_FQDN }],
    ["mbox", { kind: "name", family: null, nameType: IdType.ID_USER_FQDN }],
    ["mailbox", { kind: "name", family: null, nameType: IdType.ID_USER_FQDN }],
    ["dn", { kind: "name", family: null, nameType: IdType.ID_DER_ASN1_DN }],
    ["asn1dn", { kind: "name", family: null, nameType: IdType.ID_DER_ASN1_DN }],
    ["gn", { kind: "name", family: null, nameType: IdType.ID_DER_ASN1_GN }],
    ["asn1gn", { kind: "name", family: null, nameType: IdType.ID_DER_ASN1_GN }],
    ["keyid", { kind: "name", family: null, nameType: IdType.ID_KEY_ID }],
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
  return isKnown(IdType, value) ? nameOf(IdType, value) : `ID_${value}`;
}
