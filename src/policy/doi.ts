/**
 * IPsec DOI numbers (RFC 2407 §4.4.3, §4.4.4, §4.5; RFC 3602, RFC 4868) for the PF_KEY algorithm
 * numbers the IPsec policy works in, both ways, so Quick Mode can write and read SA payloads.
 */
import { AuthAlgorithm } from "../codec/attributes-constants.js";
import { AhTransformId } from "../codec/constants.js";
import { AuthAlg, EncAlg } from "../kernel/algorithms.js";

/** ESP transform ID of a PF_KEY cipher (`ESP_AES` = 12 ...), or undefined. */
export function espTransformId(encAlg: number): number | undefined {
  // The PF_KEY SADB_EALG_* numbers were assigned equal to the IPsec DOI ESP transform IDs.
  const known: number[] = [EncAlg.DesCbc, EncAlg.TripleDesCbc, EncAlg.BlowfishCbc, EncAlg.Null, EncAlg.AesCbc, EncAlg.AesCtr, EncAlg.AesGcm16];
  return known.includes(encAlg) ? encAlg : undefined;
}

/** PF_KEY cipher of an ESP transform ID, or undefined. */
export function encAlgOfEspTransform(transformId: number): number | undefined {
  return espTransformId(transformId);
}

const AUTH_ATTR: ReadonlyMap<number, number> = new Map([
  [AuthAlg.HmacMd5, AuthAlgorithm.HMAC_MD5],
  [AuthAlg.HmacSha1, AuthAlgorithm.HMAC_SHA],
  [AuthAlg.HmacSha256, AuthAlgorithm.HMAC_SHA2_256],
  [AuthAlg.HmacSha384, AuthAlgorithm.HMAC_SHA2_384],
  [AuthAlg.HmacSha512, AuthAlgorithm.HMAC_SHA2_512],
  [AuthAlg.AesXcbcMac, AuthAlgorithm.AES_XCBC_MAC],
]);

const AH_TRANSFORM: ReadonlyMap<number, number> = new Map([
  [AuthAlg.HmacMd5, AhTransformId.AH_MD5],
  [AuthAlg.HmacSha1, AhTransformId.AH_SHA],
  [AuthAlg.HmacSha256, AhTransformId.AH_SHA2_256],
  [AuthAlg.HmacSha384, AhTransformId.AH_SHA2_384],
  [AuthAlg.HmacSha512, AhTransformId.AH_SHA2_512],
]);

/** "Authentication Algorithm" SA attribute value (class 5) of a PF_KEY MAC, or undefined. */
export function authAttribute(authAlg: number): number | undefined {
  return AUTH_ATTR.get(authAlg);
}

/** PF_KEY MAC of an "Authentication Algorithm" attribute value, or undefined. */
export function authAlgOfAttribute(attr: number): number | undefined {
  for (const [alg, a] of AUTH_ATTR) if (a === attr) return alg;
  return undefined;
}

/** AH transform ID of a PF_KEY MAC (`AH_SHA` = 3 ...), or undefined. */
export function ahTransformId(authAlg: number): number | undefined {
  return AH_TRANSFORM.get(authAlg);
}

/** PF_KEY MAC of an AH transform ID, or undefined. */
export function authAlgOfAhTransform(transformId: number): number | undefined {
  for (const [alg, t] of AH_TRANSFORM) if (t === transformId) return alg;
  return undefined;
}

/** Whether a cipher takes a Key Length attribute (variable key size: AES, Blowfish). */
export function needsKeyLength(encAlg: number): boolean {
  return encAlg === EncAlg.AesCbc || encAlg === EncAlg.AesCtr || encAlg === EncAlg.AesGcm16 || encAlg === EncAlg.BlowfishCbc;
}
