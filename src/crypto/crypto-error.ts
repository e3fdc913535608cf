/**
 * Errors of the crypto layer. Misuse by our own code and environment problems (a missing OpenSSL
 * provider, a weak derived key) are `CryptoError`s with stable codes; bytes from a peer (a
 * ciphertext of the wrong length) come back as values, never as exceptions.
 */
import { IkeError } from "../errors.js";

/** Stable codes of `CryptoError`. */
export const CryptoErrorCode = {
  /** DES or Blowfish requested but the process was started without `--openssl-legacy-provider`. */
  LegacyProvider: "IKE_ERR_CRYPTO_LEGACY_PROVIDER",
  /** OpenSSL lacks a cipher or digest we rely on. */
  Unsupported: "IKE_ERR_CRYPTO_UNSUPPORTED",
  /** A key of a length the algorithm does not take. */
  KeyLength: "IKE_ERR_CRYPTO_KEY_LENGTH",
  /** A DES weak or semi-weak key (FIPS 74), also as a 3DES part. */
  WeakKey: "IKE_ERR_CRYPTO_WEAK_KEY",
  /** A 3DES key with two equal parts: single DES (K1 = K2 or K2 = K3) or two-key TDEA (K1 = K3). */
  DegenerateKey: "IKE_ERR_CRYPTO_DEGENERATE_3DES_KEY",
  /** An IV or input of the wrong length from our own code. */
  BadInput: "IKE_ERR_CRYPTO_BAD_INPUT",
  /** An operation on a key holder or secure buffer after destroy(). */
  Destroyed: "IKE_ERR_CRYPTO_DESTROYED",
  /** An operation that needs keys before they were derived. */
  NotDerived: "IKE_ERR_CRYPTO_NOT_DERIVED",
  /** An unknown or unimplemented algorithm number. */
  UnknownAlgorithm: "IKE_ERR_CRYPTO_UNKNOWN_ALGORITHM",
} as const;
/** One of the `CryptoErrorCode` values. */
export type CryptoErrorCodeValue = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** A crypto operation that cannot proceed. Messages never carry key bytes. */
export class CryptoError extends IkeError {
  declare readonly code: CryptoErrorCodeValue;
  constructor(code: CryptoErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
