/**
 * IPsec SA types and algorithm identifiers with PF_KEY v2 meaning (RFC 2367 §3.5, plus the Linux and
 * illumos `SADB_X_*` extensions that both kernels number the same way), and the key sizes a kernel
 * accepts for each. The numbers are the `sadb_sa_auth` / `sadb_sa_encrypt` values, so a PF_KEY backend
 * writes them as they are and an XFRM backend maps them to crypto API names.
 */

/** SA protocols. */
export type SaProto = "esp" | "ah" | "ipcomp";

/** `sadb_msg_satype` values (RFC 2367 §2.3; IPCOMP is `SADB_X_SATYPE_IPCOMP` on Linux). */
export const SaType = { ah: 2, esp: 3, ipcomp: 9 } as const satisfies Record<SaProto, number>;

/** All SA protocols, in a stable order. */
export const SA_PROTOS: readonly SaProto[] = ["esp", "ah", "ipcomp"];

/** Authentication algorithms (`SADB_AALG_*`, `SADB_X_AALG_*`). */
export const AuthAlg = {
  None: 0,
  HmacMd5: 2,
  HmacSha1: 3,
  HmacSha256: 5,
  HmacSha384: 6,
  HmacSha512: 7,
  AesXcbcMac: 9,
} as const;
export type AuthAlg = (typeof AuthAlg)[keyof typeof AuthAlg];

/** Encryption algorithms (`SADB_EALG_*`, `SADB_X_EALG_*`). */
export const EncAlg = {
  None: 0,
  DesCbc: 2,
  TripleDesCbc: 3,
  BlowfishCbc: 7,
  Null: 11,
  AesCbc: 12,
  AesCtr: 13,
  AesGcm16: 20,
} as const;
export type EncAlg = (typeof EncAlg)[keyof typeof EncAlg];

/** Compression algorithms for IPCOMP (`SADB_X_CALG_*`). */
export const CompAlg = { None: 0, Deflate: 2, Lzs: 3 } as const;
export type CompAlg = (typeof CompAlg)[keyof typeof CompAlg];

/** One algorithm as REGISTER reports it (`struct sadb_alg`, RFC 2367 §2.3.8). */
export interface AlgorithmInfo {
  readonly id: number;
  readonly name: string;
  /** Key size bounds in bits, and the step between accepted sizes (0: only minBits). */
  readonly minBits: number;
  readonly maxBits: number;
  readonly incrBits: number;
  /** IV length in bytes (encryption only). */
  readonly ivLen: number;
}

/** What REGISTER returns for one SA type. */
export interface SupportedAlgorithms {
  readonly proto: SaProto;
  readonly auth: readonly AlgorithmInfo[];
  readonly encrypt: readonly AlgorithmInfo[];
  readonly compress: readonly AlgorithmInfo[];
}

const alg = (id: number, name: string, minBits: number, maxBits: number, incrBits: number, ivLen = 0): AlgorithmInfo =>
  Object.freeze({ id, name, minBits, maxBits, incrBits, ivLen });

/** Authentication algorithms the in-memory SADB accepts (the keys of Linux's aalg table). */
export const AUTH_ALGORITHMS: readonly AlgorithmInfo[] = Object.freeze([
  alg(AuthAlg.HmacMd5, "hmac-md5", 128, 128, 0),
  alg(AuthAlg.HmacSha1, "hmac-sha1", 160, 160, 0),
  alg(AuthAlg.HmacSha256, "hmac-sha256", 256, 256, 0),
  alg(AuthAlg.HmacSha384, "hmac-sha384", 384, 384, 0),
  alg(AuthAlg.HmacSha512, "hmac-sha512", 512, 512, 0),
  alg(AuthAlg.AesXcbcMac, "aes-xcbc-mac", 128, 128, 0),
]);

/**
 * Encryption algorithms the in-memory SADB accepts. AES-CTR and AES-GCM keys carry a 32-bit salt
 * (RFC 3686 §5.1, RFC 4106 §8.1), hence 160..288 bits.
 */
export const ENCRYPT_ALGORITHMS: readonly AlgorithmInfo[] = Object.freeze([
  alg(EncAlg.DesCbc, "des-cbc", 64, 64, 0, 8),
  alg(EncAlg.TripleDesCbc, "3des-cbc", 192, 192, 0, 8),
  alg(EncAlg.BlowfishCbc, "blowfish-cbc", 40, 448, 8, 8),
  alg(EncAlg.Null, "null", 0, 0, 0, 0),
  alg(EncAlg.AesCbc, "aes-cbc", 128, 256, 64, 16),
  alg(EncAlg.AesCtr, "aes-ctr", 160, 288, 64, 8),
  alg(EncAlg.AesGcm16, "aes-gcm-16", 160, 288, 64, 8),
]);

/** Compression algorithms the in-memory SADB accepts. */
export const COMPRESS_ALGORITHMS: readonly AlgorithmInfo[] = Object.freeze([
  alg(CompAlg.Deflate, "deflate", 0, 0, 0),
  alg(CompAlg.Lzs, "lzs", 0, 0, 0),
]);

/** Combined-mode ciphers authenticate by themselves: an ESP SA using one has no auth algorithm. */
export function isCombinedMode(encAlg: number): boolean {
  return encAlg === EncAlg.AesGcm16;
}

/** Whether `bits` is a key size `info` accepts. */
export function keySizeAccepted(info: AlgorithmInfo, bits: number): boolean {
  if (bits < info.minBits || bits > info.maxBits) return false;
  return info.incrBits === 0 ? bits === info.minBits : (bits - info.minBits) % info.incrBits === 0;
}

/** Finds an algorithm by id in a list. */
export function findAlgorithm(list: readonly AlgorithmInfo[], id: number): AlgorithmInfo | undefined {
  return list.find((a) => a.id === id);
}

function nameIn(table: Record<string, number>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `unknown(${value})`;
}

/** Log name of an authentication algorithm id. */
export const authAlgName = (v: number): string => nameIn(AuthAlg, v);
/** Log name of an encryption algorithm id. */
export const encAlgName = (v: number): string => nameIn(EncAlg, v);
/** Log name of a compression algorithm id. */
export const compAlgName = (v: number): string => nameIn(CompAlg, v);
