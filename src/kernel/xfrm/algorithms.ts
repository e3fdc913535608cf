/**
 * PF_KEY algorithm numbers (src/kernel/algorithms.ts) to the Linux crypto API names XFRM takes, with
 * the ICV truncation each MAC uses in IPsec, and back. The names are those of the kernel's own table
 * (`net/xfrm/xfrm_algo.c`), which is also what it reports in dumps.
 *
 *   HMAC-MD5-96 (RFC 2403)       hmac(md5)        96     DES-CBC (RFC 2405)         cbc(des)
 *   HMAC-SHA1-96 (RFC 2404)      hmac(sha1)       96     3DES-CBC (RFC 2451)        cbc(des3_ede)
 *   HMAC-SHA2-256-128 (RFC 4868) hmac(sha256)    128     Blowfish-CBC (RFC 2451)    cbc(blowfish)
 *   HMAC-SHA2-384-192            hmac(sha384)    192     NULL (RFC 2410)            ecb(cipher_null)
 *   HMAC-SHA2-512-256            hmac(sha512)    256     AES-CBC (RFC 3602)         cbc(aes)
 *   AES-XCBC-MAC-96 (RFC 3566)   xcbc(aes)        96     AES-CTR (RFC 3686)         rfc3686(ctr(aes))
 *                                                        AES-GCM-16 (RFC 4106)      rfc4106(gcm(aes)), ICV 128 (AEAD)
 *   IPCOMP: deflate (RFC 2394), lzs (RFC 2395)
 */
import { AuthAlg, CompAlg, EncAlg } from "../algorithms.js";

/** A MAC: its XFRM name and ICV truncation in bits. */
export interface XfrmAuthName {
  readonly name: string;
  readonly truncBits: number;
}

/** A cipher: its XFRM name; `aeadIcvBits` when it is an AEAD (XFRMA_ALG_AEAD). */
export interface XfrmEncName {
  readonly name: string;
  readonly aeadIcvBits?: number;
}

const AUTH: ReadonlyMap<number, XfrmAuthName> = new Map([
  [AuthAlg.HmacMd5, { name: "hmac(md5)", truncBits: 96 }],
  [AuthAlg.HmacSha1, { name: "hmac(sha1)", truncBits: 96 }],
  [AuthAlg.HmacSha256, { name: "hmac(sha256)", truncBits: 128 }],
  [AuthAlg.HmacSha384, { name: "hmac(sha384)", truncBits: 192 }],
  [AuthAlg.HmacSha512, { name: "hmac(sha512)", truncBits: 256 }],
  [AuthAlg.AesXcbcMac, { name: "xcbc(aes)", truncBits: 96 }],
]);

const ENC: ReadonlyMap<number, XfrmEncName> = new Map([
  [EncAlg.DesCbc, { name: "cbc(des)" }],
  [EncAlg.TripleDesCbc, { name: "cbc(des3_ede)" }],
  [EncAlg.BlowfishCbc, { name: "cbc(blowfish)" }],
  [EncAlg.Null, { name: "ecb(cipher_null)" }],
  [EncAlg.AesCbc, { name: "cbc(aes)" }],
  [EncAlg.AesCtr, { name: "rfc3686(ctr(aes))" }],
  [EncAlg.AesGcm16, { name: "rfc4106(gcm(aes))", aeadIcvBits: 128 }],
]);

/**
 * Algorithms the daemon never installs but other key managers may have: known so that their SAs read
 * back with the right PF_KEY number (`SADB_X_AALG_RIPEMD160HMAC`, `SADB_X_EALG_CASTCBC` ...).
 */
const READ_ONLY_AUTH: ReadonlyMap<number, XfrmAuthName> = new Map([[8, { name: "hmac(rmd160)", truncBits: 96 }]]);
const READ_ONLY_ENC: ReadonlyMap<number, XfrmEncName> = new Map([
  [6, { name: "cbc(cast5)" }],
  [22, { name: "cbc(camellia)" }],
  [252, { name: "cbc(serpent)" }],
  [253, { name: "cbc(twofish)" }],
]);

const COMP: ReadonlyMap<number, string> = new Map([
  [CompAlg.Deflate, "deflate"],
  [CompAlg.Lzs, "lzs"],
]);

/** Names other kernels or tools use for the same algorithms (compat names of xfrm_algo.c). */
const ALIASES: Readonly<Record<string, string>> = {
  md5: "hmac(md5)",
  sha1: "hmac(sha1)",
  sha256: "hmac(sha256)",
  sha384: "hmac(sha384)",
  sha512: "hmac(sha512)",
  des: "cbc(des)",
  des3_ede: "cbc(des3_ede)",
  blowfish: "cbc(blowfish)",
  aes: "cbc(aes)",
  cipher_null: "ecb(cipher_null)",
};

/** The XFRM name of an authentication algorithm, or undefined. */
export const xfrmAuth = (id: number): XfrmAuthName | undefined => AUTH.get(id);
/** The XFRM name of an encryption algorithm, or undefined. */
export const xfrmEnc = (id: number): XfrmEncName | undefined => ENC.get(id);
/** The XFRM name of a compression algorithm, or undefined. */
export const xfrmComp = (id: number): string | undefined => COMP.get(id);

function reverse<V>(table: ReadonlyMap<number, V>, name: string, nameOf: (v: V) => string): number | undefined {
  const canonical = ALIASES[name] ?? name;
  for (const [id, v] of table) if (nameOf(v) === canonical) return id;
  return undefined;
}

/** The PF_KEY number of an XFRM MAC name, or undefined. */
export const authIdOf = (name: string): number | undefined => reverse(AUTH, name, (v) => v.name) ?? reverse(READ_ONLY_AUTH, name, (v) => v.name);
/** The PF_KEY number of an XFRM cipher name (plain or AEAD), or undefined. */
export const encIdOf = (name: string): number | undefined => reverse(ENC, name, (v) => v.name) ?? reverse(READ_ONLY_ENC, name, (v) => v.name);
/** The PF_KEY number of an XFRM compression name, or undefined. */
export const compIdOf = (name: string): number | undefined => reverse(COMP, name, (v) => v);
