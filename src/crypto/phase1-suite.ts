/**
 * The negotiated Phase 1 algorithm suite (RFC 2409 appendix A attributes: Encryption Algorithm,
 * Key Length, Hash Algorithm), resolved against the registry.
 */
import { cipherById, hashById, keyBitsAllowed, type CipherInfo, type HashInfo } from "./algorithms.js";
import { CryptoError, CryptoErrorCode } from "./crypto-error.js";

/** The negotiated Phase 1 algorithms. */
export interface Phase1Suite {
  readonly cipher: CipherInfo;
  /** Cipher key length in bits (the Key Length attribute, or the cipher's default). */
  readonly keyBits: number;
  /** The hash; prf is HMAC over it. */
  readonly hash: HashInfo;
}

/** The suites made so far, keyed `encr,bits,hash` (a few dozen at most: the registry's combinations). */
const suites = new Map<string, Phase1Suite>();

/**
 * The suite for Phase 1 attribute values (Encryption Algorithm, Key Length or undefined, Hash
 * Algorithm). Throws `CryptoError` `IKE_ERR_CRYPTO_UNKNOWN_ALGORITHM` / `IKE_ERR_CRYPTO_KEY_LENGTH`;
 * proposal selection checks these against the registry before it gets here.
 */
export function phase1Suite(encryption: number, keyBits: number | undefined, hashAlg: number): Phase1Suite {
  const cipher = cipherById(encryption);
  const h = hashById(hashAlg);
  if (!cipher || !h) {
    throw new CryptoError(CryptoErrorCode.UnknownAlgorithm, `no Phase 1 algorithm encr=${encryption} hash=${hashAlg}`);
  }
  const bits = keyBits ?? cipher.keyBits.default;
  if (!keyBitsAllowed(cipher.keyBits, bits)) {
    throw new CryptoError(CryptoErrorCode.KeyLength, `${cipher.display} does not take a ${bits}-bit key`);
  }
  // One frozen suite per combination, shared by every ISAKMP SA that negotiated it (a held SA
  // kept an object of its own, ~48 bytes).
  const key = [encryption, bits, hashAlg].join(",");
  let suite = suites.get(key);
  if (suite === undefined) {
    suite = Object.freeze({ cipher, keyBits: bits, hash: h });
    suites.set(key, suite);
  }
  return suite;
}
