/**
 * Verification of X.509 signed data (certificates, CRLs): a signature over the exact TBS bytes with
 * a SubjectPublicKeyInfo, by Node's OpenSSL. The algorithm arrives already decoded (src/pki/sig-alg.ts
 * maps the AlgorithmIdentifier), so this runs unchanged in a crypto worker or inline.
 */
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";

/** Signature families and the key types each may be checked with. */
export type SignedDataFamily = "rsa" | "rsa-pss" | "dsa" | "ecdsa" | "ed25519" | "ed448";

const KEY_TYPES: Readonly<Record<SignedDataFamily, readonly string[]>> = {
  rsa: ["rsa"],
  "rsa-pss": ["rsa", "rsa-pss"],
  dsa: ["dsa"],
  ecdsa: ["ec"],
  ed25519: ["ed25519"],
  ed448: ["ed448"],
};

/** How to verify: family, digest (null for EdDSA) and, for RSASSA-PSS, the salt length. */
export interface SignedDataAlgorithm {
  readonly family: SignedDataFamily;
  readonly hash: string | null;
  readonly saltLength?: number;
}

/**
 * Issuer keys by their SPKI bytes. Importing a key (OpenSSL 3's decoder) costs about 10x the RSA
 * verification itself (bench/pki/certificate.bench.ts), and the same few CA keys sign every peer's
 * certificate, so each thread keeps the most recent ones. Bounded: the oldest goes when full.
 */
const keys = new Map<string, KeyObject>();
const KEY_CACHE = 128;

function issuerKey(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString("base64");
  let key = keys.get(id);
  if (key !== undefined) {
    keys.delete(id);
  } else {
    key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: "der", type: "spki" });
    if (keys.size >= KEY_CACHE) keys.delete(keys.keys().next().value as string);
  }
  keys.set(id, key);
  return key;
}

/**
 * Whether `signature` over `data` verifies with `spki` (SubjectPublicKeyInfo DER). A key of the
 * wrong type for the family, an unparsable key or a malformed signature are all `false`.
 */
export function verifySignedData(spki: Uint8Array, alg: SignedDataAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
  let key: KeyObject;
  try {
    key = issuerKey(spki);
  } catch {
    return false;
  }
  if (!(KEY_TYPES[alg.family] ?? []).includes(key.asymmetricKeyType ?? "")) return false;
  try {
    if (alg.family === "rsa-pss") {
      return cryptoVerify(alg.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength ?? 20 }, signature);
    }
    return cryptoVerify(alg.hash, data, key, signature);
  } catch {
    // A signature OpenSSL cannot parse (bad DER for DSA/ECDSA) is not a valid one.
    return false;
  }
}
