/**
 * Algorithm registry: the numbers IKEv1 puts on the wire, the names the configuration and
 * `ikeadm dump encralgs|authalgs|groups` use, and what OpenSSL calls each algorithm.
 *
 * Sources:
 * - Phase 1 (Oakley) attribute values: RFC 2409 appendix A (Encryption Algorithm, Hash Algorithm,
 *   Group Description); AES = 7 from RFC 3602 section 5 / IANA "IPSEC Encryption Algorithm";
 *   SHA2-256/384/512 hash values 4/5/6 from the IANA IKE attributes registry (as the reference
 *   ike-config.md 7.3 lists them).
 * - ESP transform ids: RFC 2407 section 4.4.4 (ESP_DES 2, ESP_3DES 3, ESP_BLOWFISH 7, ESP_NULL 11),
 *   ESP_AES 12 from RFC 3602 section 5.
 * - AH transform ids: RFC 2407 section 4.4.3 (AH_MD5 2, AH_SHA 3), AH_SHA2_256/384/512 5/6/7 from
 *   RFC 4868 section 2.4 and the IANA registry.
 * - Authentication Algorithm attribute (Phase 2): RFC 2407 section 4.5 (HMAC-MD5 1, HMAC-SHA 2),
 *   HMAC-SHA2-256/384/512 5/6/7 from RFC 4868 section 2.4; key and ICV sizes from RFC 2403, RFC 2404
 *   and RFC 4868 section 2.1.
 * - Group sizes: RFC 2409 section 6 (groups 1, 2), RFC 3526 (groups 5, 14, 15, 16). The primes live
 *   in dh.ts; this file keeps numbers, names, sizes and strength estimates only.
 *
 * The numbers themselves are the codec's (src/codec/constants.ts, attributes-constants.ts), the one
 * table of RFC numbers; this file says which of them we implement and what each needs.
 *
 * Names: the configuration words of illumos `ike.config` (des, 3des, blowfish, aes / md5, sha1,
 * sha256, sha384, sha512) are the primary names; the `-cbc` forms and `sha` are aliases.
 */
import { AuthAlgorithm, GroupDescription, IkeEncryption, IkeHash } from "../codec/attributes-constants.js";
import { AhTransformId, EspTransformId, ProtocolId } from "../codec/constants.js";

/** A Phase 1 encryption algorithm number we implement. */
export type EncryptionAlgorithmId =
  | typeof IkeEncryption.DES_CBC
  | typeof IkeEncryption.BLOWFISH_CBC
  | typeof IkeEncryption.TRIPLEDES_CBC
  | typeof IkeEncryption.AES_CBC;

/** A Phase 1 hash algorithm number we implement. */
export type HashAlgorithmId = typeof IkeHash.MD5 | typeof IkeHash.SHA | typeof IkeHash.SHA2_256 | typeof IkeHash.SHA2_384 | typeof IkeHash.SHA2_512;

/** A group number we implement (the MODP groups). */
export type GroupId =
  | typeof GroupDescription.MODP_768
  | typeof GroupDescription.MODP_1024
  | typeof GroupDescription.MODP_1536
  | typeof GroupDescription.MODP_2048
  | typeof GroupDescription.MODP_3072
  | typeof GroupDescription.MODP_4096;

/** PROTO_IPSEC_AH or PROTO_IPSEC_ESP (RFC 2407 section 4.4.1), as they enter the KEYMAT computation. */
export type IpsecProtocolId = typeof ProtocolId.IPSEC_AH | typeof ProtocolId.IPSEC_ESP;

/** An ESP transform id we implement. */
export type EspCipherId =
  | typeof EspTransformId.ESP_DES
  | typeof EspTransformId.ESP_3DES
  | typeof EspTransformId.ESP_BLOWFISH
  | typeof EspTransformId.ESP_NULL
  | typeof EspTransformId.ESP_AES;

/** An AH transform id we implement. */
export type AhAuthId =
  | typeof AhTransformId.AH_MD5
  | typeof AhTransformId.AH_SHA
  | typeof AhTransformId.AH_SHA2_256
  | typeof AhTransformId.AH_SHA2_384
  | typeof AhTransformId.AH_SHA2_512;

/** A Phase 2 authentication algorithm we implement. */
export type AuthAlgorithmId =
  | typeof AuthAlgorithm.HMAC_MD5
  | typeof AuthAlgorithm.HMAC_SHA
  | typeof AuthAlgorithm.HMAC_SHA2_256
  | typeof AuthAlgorithm.HMAC_SHA2_384
  | typeof AuthAlgorithm.HMAC_SHA2_512;

/** Key sizes in bits. */
export interface KeyBits {
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** Allowed sizes are min, min+step, ... max. */
  readonly step: number;
}

/** A Phase 1 CBC cipher. */
export interface CipherInfo {
  readonly id: EncryptionAlgorithmId;
  /** Configuration word and log name. */
  readonly name: string;
  readonly aliases: readonly string[];
  /** Name for `ikeadm dump encralgs` and logs. */
  readonly display: string;
  readonly blockSize: number;
  readonly keyBits: KeyBits;
  /** Whether the Key Length attribute (RFC 2409 appendix A, class 14) is sent for this cipher. */
  readonly variableKeyLength: boolean;
  /** Whether node:crypto has it only with `--openssl-legacy-provider`. */
  readonly legacy: boolean;
  /** The OpenSSL cipher name for a key of this many bits. */
  openssl(keyBits: number): string;
}

/** A Phase 1 hash, and the HMAC prf built on it. */
export interface HashInfo {
  readonly id: HashAlgorithmId;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly display: string;
  /** The OpenSSL digest name. */
  readonly openssl: string;
  /** Digest length in bytes. */
  readonly outputLength: number;
  /** ikeadm's PRF constant for HMAC over this hash (ikeadm.md 7.x): 1 MD5, 2 SHA1, 5/6/7 SHA-2. */
  readonly ikeadmPrf: number;
}

/** A MODP group (the prime itself is in dh.ts). */
export interface GroupInfo {
  readonly id: GroupId;
  /** Label as `ikeadm dump groups` prints it. */
  readonly display: string;
  /** Modulus size in bits. */
  readonly bits: number;
  /** Estimated symmetric-equivalent strength in bits (see `groupStrengthSource`). */
  readonly strength: number;
}

/** An ESP encryption transform, with the KEYMAT it needs. */
export interface EspCipherInfo {
  readonly id: EspCipherId;
  readonly name: string;
  readonly keyBits: KeyBits;
  readonly blockSize: number;
  /** Whether the Key Length attribute (RFC 2407 section 4.5) is sent. */
  readonly variableKeyLength: boolean;
}

/** An AH/ESP authentication algorithm, with its key and truncated ICV length. */
export interface AuthInfo {
  readonly id: AuthAlgorithmId;
  /** The AH transform id that carries it. */
  readonly ahTransform: AhAuthId;
  readonly name: string;
  readonly display: string;
  readonly openssl: string;
  readonly keyBytes: number;
  /** Truncated ICV length (RFC 2403/2404: 96 bits; RFC 4868: half the digest). */
  readonly icvBytes: number;
}

const fixed = (bits: number): KeyBits => ({ min: bits, max: bits, default: bits, step: 0 });

const CIPHERS: readonly CipherInfo[] = [
  {
    id: IkeEncryption.DES_CBC, name: "des", aliases: ["des-cbc"], display: "DES-CBC", blockSize: 8, keyBits: fixed(64),
    variableKeyLength: false, legacy: true, openssl: () => "des-cbc",
  },
  {
    // RFC 2409 appendix A: Blowfish takes a Key Length attribute; 40..448 bits, default 128.
    id: IkeEncryption.BLOWFISH_CBC, name: "blowfish", aliases: ["blowfish-cbc"], display: "Blowfish-CBC", blockSize: 8,
    keyBits: { min: 40, max: 448, default: 128, step: 8 }, variableKeyLength: true, legacy: true,
    openssl: () => "bf-cbc",
  },
  {
    id: IkeEncryption.TRIPLEDES_CBC, name: "3des", aliases: ["3des-cbc"], display: "3DES-CBC", blockSize: 8, keyBits: fixed(192),
    variableKeyLength: false, legacy: false, openssl: () => "des-ede3-cbc",
  },
  {
    id: IkeEncryption.AES_CBC, name: "aes", aliases: ["aes-cbc"], display: "AES-CBC", blockSize: 16,
    keyBits: { min: 128, max: 256, default: 128, step: 64 }, variableKeyLength: true, legacy: false,
    openssl: (bits) => `aes-${bits}-cbc`,
  },
];

const HASHES: readonly HashInfo[] = [
  { id: IkeHash.MD5, name: "md5", aliases: [], display: "MD5", openssl: "md5", outputLength: 16, ikeadmPrf: 1 },
  { id: IkeHash.SHA, name: "sha1", aliases: ["sha"], display: "SHA1", openssl: "sha1", outputLength: 20, ikeadmPrf: 2 },
  { id: IkeHash.SHA2_256, name: "sha256", aliases: [], display: "SHA256", openssl: "sha256", outputLength: 32, ikeadmPrf: 5 },
  { id: IkeHash.SHA2_384, name: "sha384", aliases: [], display: "SHA384", openssl: "sha384", outputLength: 48, ikeadmPrf: 6 },
  { id: IkeHash.SHA2_512, name: "sha512", aliases: [], display: "SHA512", openssl: "sha512", outputLength: 64, ikeadmPrf: 7 },
];

/**
 * Where the strength figures come from: NIST SP 800-57 part 1 rev. 5 table 2 for 1024 (80),
 * 2048 (112) and 3072 (128) bits; RFC 3526 section 8 (lower estimate) for 1536 (90) and
 * 4096 (150); the RFC 3766 section 5 table for 768 bits (about 62).
 */
export const groupStrengthSource = "NIST SP 800-57 pt1 table 2; RFC 3526 s8; RFC 3766 s5";

const GROUPS: readonly GroupInfo[] = [
  { id: GroupDescription.MODP_768, display: "768-bit MODP (group 1)", bits: 768, strength: 62 },
  { id: GroupDescription.MODP_1024, display: "1024-bit MODP (group 2)", bits: 1024, strength: 80 },
  { id: GroupDescription.MODP_1536, display: "1536-bit MODP (group 5)", bits: 1536, strength: 90 },
  { id: GroupDescription.MODP_2048, display: "2048-bit MODP (group 14)", bits: 2048, strength: 112 },
  { id: GroupDescription.MODP_3072, display: "3072-bit MODP (group 15)", bits: 3072, strength: 128 },
  { id: GroupDescription.MODP_4096, display: "4096-bit MODP (group 16)", bits: 4096, strength: 150 },
];

const ESP_CIPHERS: readonly EspCipherInfo[] = [
  { id: EspTransformId.ESP_DES, name: "des", keyBits: fixed(64), blockSize: 8, variableKeyLength: false },
  { id: EspTransformId.ESP_3DES, name: "3des", keyBits: fixed(192), blockSize: 8, variableKeyLength: false },
  { id: EspTransformId.ESP_BLOWFISH, name: "blowfish", keyBits: { min: 40, max: 448, default: 128, step: 8 }, blockSize: 8, variableKeyLength: true },
  { id: EspTransformId.ESP_NULL, name: "null", keyBits: fixed(0), blockSize: 1, variableKeyLength: false },
  { id: EspTransformId.ESP_AES, name: "aes", keyBits: { min: 128, max: 256, default: 128, step: 64 }, blockSize: 16, variableKeyLength: true },
];

const AUTHS: readonly AuthInfo[] = [
  { id: AuthAlgorithm.HMAC_MD5, ahTransform: AhTransformId.AH_MD5, name: "md5", display: "HMAC-MD5-96", openssl: "md5", keyBytes: 16, icvBytes: 12 },
  { id: AuthAlgorithm.HMAC_SHA, ahTransform: AhTransformId.AH_SHA, name: "sha1", display: "HMAC-SHA1-96", openssl: "sha1", keyBytes: 20, icvBytes: 12 },
  { id: AuthAlgorithm.HMAC_SHA2_256, ahTransform: AhTransformId.AH_SHA2_256, name: "sha256", display: "HMAC-SHA2-256-128", openssl: "sha256", keyBytes: 32, icvBytes: 16 },
  { id: AuthAlgorithm.HMAC_SHA2_384, ahTransform: AhTransformId.AH_SHA2_384, name: "sha384", display: "HMAC-SHA2-384-192", openssl: "sha384", keyBytes: 48, icvBytes: 24 },
  { id: AuthAlgorithm.HMAC_SHA2_512, ahTransform: AhTransformId.AH_SHA2_512, name: "sha512", display: "HMAC-SHA2-512-256", openssl: "sha512", keyBytes: 64, icvBytes: 32 },
];

/** Every implemented Phase 1 cipher, in number order (the `dump encralgs` order). */
export const phase1Ciphers: readonly CipherInfo[] = CIPHERS;
/** Every implemented Phase 1 hash, in number order (the `dump authalgs` order). */
export const phase1Hashes: readonly HashInfo[] = HASHES;
/** Every implemented group, in number order (the `dump groups` order). */
export const groups: readonly GroupInfo[] = GROUPS;
/** Every implemented ESP encryption transform. */
export const espCiphers: readonly EspCipherInfo[] = ESP_CIPHERS;
/** Every implemented AH/ESP authentication algorithm. */
export const authAlgorithms: readonly AuthInfo[] = AUTHS;

/** The Phase 1 cipher with this attribute value, or undefined. */
export function cipherById(id: number): CipherInfo | undefined {
  return CIPHERS.find((c) => c.id === id);
}
/** The Phase 1 cipher with this configuration name or alias (case-insensitive), or undefined. */
export function cipherByName(name: string): CipherInfo | undefined {
  const n = name.toLowerCase();
  return CIPHERS.find((c) => c.name === n || c.aliases.includes(n));
}
/** The Phase 1 hash with this attribute value, or undefined. */
export function hashById(id: number): HashInfo | undefined {
  return HASHES.find((h) => h.id === id);
}
/** The Phase 1 hash with this configuration name or alias (case-insensitive), or undefined. */
export function hashByName(name: string): HashInfo | undefined {
  const n = name.toLowerCase();
  return HASHES.find((h) => h.name === n || h.aliases.includes(n));
}
/** The group with this Group Description value, or undefined. */
export function groupById(id: number): GroupInfo | undefined {
  return GROUPS.find((g) => g.id === id);
}
/** The ESP encryption transform with this id, or undefined. */
export function espCipherById(id: number): EspCipherInfo | undefined {
  return ESP_CIPHERS.find((c) => c.id === id);
}
/** The authentication algorithm with this Phase 2 attribute value, or undefined. */
export function authById(id: number): AuthInfo | undefined {
  return AUTHS.find((a) => a.id === id);
}
/** The authentication algorithm an AH transform id stands for, or undefined. */
export function authByAhTransform(id: number): AuthInfo | undefined {
  return AUTHS.find((a) => a.ahTransform === id);
}

/** Whether `bits` is an allowed key size for `k`. */
export function keyBitsAllowed(k: KeyBits, bits: number): boolean {
  if (!Number.isInteger(bits) || bits < k.min || bits > k.max) return false;
  return k.step === 0 ? bits === k.min : (bits - k.min) % k.step === 0;
}

/** `min-max` or `N/A`, as `ikeadm dump encralgs` prints the key length range. */
export function keylenRange(c: CipherInfo): string {
  return c.variableKeyLength ? `${c.keyBits.min}-${c.keyBits.max}` : "N/A";
}

/** KEYMAT split for one IPsec SA: encryption key first, then authentication key (RFC 2409 5.5). */
export interface KeymatLength {
  readonly encryptionBytes: number;
  readonly authenticationBytes: number;
  readonly total: number;
}

/**
 * How many KEYMAT bytes an SA needs. For ESP, `transform` is the ESP transform id and `keyBits`
 * its Key Length attribute (undefined: the default); for AH, `transform` is the AH transform id
 * and `auth` is ignored. Returns undefined for unknown algorithms or a disallowed key length.
 */
export function keymatLength(
  protocol: IpsecProtocolId,
  transform: number,
  keyBits: number | undefined,
  auth: number | undefined,
): KeymatLength | undefined {
  if (protocol === ProtocolId.IPSEC_AH) {
    const a = authByAhTransform(transform);
    return a && { encryptionBytes: 0, authenticationBytes: a.keyBytes, total: a.keyBytes };
  }
  const c = espCipherById(transform);
  if (!c) return undefined;
  const bits = keyBits ?? c.keyBits.default;
  if (!keyBitsAllowed(c.keyBits, bits)) return undefined;
  let authBytes = 0;
  if (auth !== undefined) {
    const a = authById(auth);
    if (!a) return undefined;
    authBytes = a.keyBytes;
  }
  const encryptionBytes = bits / 8;
  return { encryptionBytes, authenticationBytes: authBytes, total: encryptionBytes + authBytes };
}
