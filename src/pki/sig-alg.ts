/**
 * Signature algorithms of certificates and CRLs (RFC 3279, RFC 4055 §3.1, RFC 5758, RFC 8410) and
 * their verification with Node's OpenSSL (`crypto.verify` over the exact TBS bytes).
 *
 * Accepted: RSA PKCS#1 v1.5 with SHA-1/SHA-224/256/384/512, RSASSA-PSS with MGF1 and those hashes,
 * DSA with SHA-1/224/256, ECDSA with SHA-1/224/256/384/512, Ed25519 and Ed448. Refused: MD5 and MD2
 * signatures (collisions are practical; OpenSSL 3's default level refuses them too) and anything
 * unknown, with IKE_ERR_PKI_ALGORITHM. SHA-1 stays accepted: Solaris' ikecert signs with rsa-sha1
 * and dsa-sha1 by default, and IKEv1 deployments still carry such certificates.
 */
import { verifySignedData } from "../crypto/signed-data.js";
import { DerError, Tag, integerBytes, oid, seq, smallInt, type Tlv } from "./der.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { HASH_OIDS, MGF1, RSASSA_PSS, SIGNATURE_OIDS } from "./oids.js";

/** A signature algorithm as the verifier needs it. */
export interface SigAlg {
  readonly oid: string;
  /** Printable name (`sha256WithRSAEncryption`, `RSASSA-PSS(sha256)`). */
  readonly name: string;
  readonly family: "rsa" | "rsa-pss" | "dsa" | "ecdsa" | "ed25519" | "ed448";
  /** Digest for crypto.verify; null for EdDSA. */
  readonly hash: string | null;
  /** RSASSA-PSS salt length. */
  readonly saltLength?: number;
  /** DER of the whole AlgorithmIdentifier, to compare the TBS copy with the outer one. */
  readonly der: Buffer;
}

function pssParams(params: Tlv | undefined): { hash: string; saltLength: number } {
  // RSASSA-PSS-params: all fields default to SHA-1 / MGF1-SHA1 / salt 20 / trailer 1.
  let hash = "sha1";
  let mgfHash = "sha1";
  let saltLength = 20;
  for (const f of params === undefined ? [] : seq(params, "RSASSA-PSS-params")) {
    const [inner] = seq(f, "PSS parameter", f.tag);
    if (f.tag === 0xa0) hash = HASH_OIDS.get(oid(seq(inner, "hashAlgorithm")[0], "hash")) ?? "?";
    else if (f.tag === 0xa1) {
      const [mgf, mgfParams] = seq(inner, "maskGenAlgorithm");
      if (oid(mgf, "MGF") !== MGF1) throw new DerError("PSS with a mask generation function other than MGF1");
      mgfHash = HASH_OIDS.get(oid(seq(mgfParams, "MGF1 hash")[0], "MGF1 hash")) ?? "?";
    } else if (f.tag === 0xa2) saltLength = smallInt(inner, "saltLength");
    else if (f.tag === 0xa3) {
      if (smallInt(inner, "trailerField") !== 1) throw new DerError("PSS trailer field other than 1");
    } else throw new DerError("unknown RSASSA-PSS parameter");
  }
  // OpenSSL verifies with the MGF1 hash equal to the message hash; others are refused, not guessed.
  if (hash === "?" || mgfHash !== hash) throw new DerError("PSS with an unknown hash or a different MGF1 hash");
  return { hash, saltLength };
}

/** Decodes an AlgorithmIdentifier of a signature; unsupported algorithms are a failure value. */
export function decodeSigAlg(t: Tlv): PkiResult<SigAlg> {
  const [algOid, params, extra] = seq(t, "AlgorithmIdentifier");
  if (extra !== undefined) throw new DerError("AlgorithmIdentifier has extra fields");
  const id = oid(algOid, "signature algorithm");
  if (id === RSASSA_PSS) {
    const p = pssParams(params);
    return { ok: true, value: { oid: id, name: `RSASSA-PSS(${p.hash})`, family: "rsa-pss", hash: p.hash, saltLength: p.saltLength, der: t.der } };
  }
  const known = SIGNATURE_OIDS.get(id);
  if (known === undefined) return pkiFail(PkiCode.UnsupportedAlgorithm, `signature algorithm ${id} is not supported`);
  if (known.hash === "md5") return pkiFail(PkiCode.UnsupportedAlgorithm, `${known.name} signatures are refused (MD5 is broken)`);
  // RSA takes NULL or absent parameters (RFC 4055 §5); DSA, ECDSA and EdDSA none (RFC 5758, 8410).
  if (params !== undefined && !(known.family === "rsa" && params.tag === Tag.NULL && params.value.length === 0)) {
    throw new DerError(`${known.name} with parameters`);
  }
  return { ok: true, value: { oid: id, name: known.name, family: known.family, hash: known.hash, der: t.der } };
}

/**
 * Verifies `signature` over `data` with the public key `spki` (SubjectPublicKeyInfo DER) by
 * `alg`, synchronously on this thread: for one-off checks (ikecert, `in.iked -c`) and the workers.
 * The daemon sends these checks to the crypto pool instead (verifier.ts).
 */
export function verifySigned(spki: Buffer, alg: SigAlg, data: Buffer, signature: Buffer): boolean {
  return verifySignedData(spki, alg, data, signature);
}

/** The INTEGER of a serial number, as lower-case hex without leading zero bytes. */
export function serialHex(t: Tlv): string {
  const b = integerBytes(t, "serialNumber");
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i).toString("hex");
}
