/**
 * The token objects ikecert makes, finds and removes (PKCS#11 v2.40 §4): RSA and DSA key pairs
 * generated on the token, private keys copied from disk (-C), certificates, and a signer that lets
 * src/pki/build.ts sign a certificate or request with a token key.
 *
 * A key pair and its certificate share one random CKA_ID; the private key is CKA_PRIVATE,
 * CKA_SENSITIVE and not CKA_EXTRACTABLE, so it never leaves the token.
 */
import { createHash, createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import { attribute, findObjects, p11, pkcs11js, publicKeyOf, type Attr, type Handle, type TokenPublicKey } from "../../crypto/pkcs11.js";
import { Tag, integerBytes, parseDer, seq } from "../../pki/der.js";
import { sequence, unsignedInteger } from "../../pki/der-writer.js";
import type { TokenSession } from "./token-session.js";

/** DigestInfo prefixes (RFC 8017 §9.2 note 1) for PKCS#1 v1.5 signatures made with CKM_RSA_PKCS. */
const DIGEST_INFO: Readonly<Record<string, string>> = {
  md5: "3020300c06082a864886f70d020505000410",
  sha1: "3021300906052b0e03021a05000414",
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

/** A fresh CKA_ID for a key pair. */
export const newId = (): Buffer => randomBytes(16);

function keyTemplates(id: Buffer, label: string): { pub: Attr[]; priv: Attr[] } {
  const js = pkcs11js();
  const common: Attr[] = [{ type: js.CKA_TOKEN, value: true }, { type: js.CKA_ID, value: id }, { type: js.CKA_LABEL, value: label }];
  return {
    pub: [...common, { type: js.CKA_PRIVATE, value: false }, { type: js.CKA_VERIFY, value: true }],
    priv: [...common, { type: js.CKA_PRIVATE, value: true }, { type: js.CKA_SENSITIVE, value: true }, { type: js.CKA_EXTRACTABLE, value: false }, { type: js.CKA_SIGN, value: true }],
  };
}

/** Generates a key pair on the token; RSA keys may also decrypt (rsa_encrypt). */
export function generateKeyPair(t: TokenSession, type: "rsa" | "dsa", bits: number, id: Buffer, label: string): { priv: Handle; key: TokenPublicKey } {
  const js = pkcs11js();
  const { pub, priv } = keyTemplates(id, label);
  return p11("C_GenerateKeyPair", () => {
    let pair;
    if (type === "rsa") {
      pair = t.m.C_GenerateKeyPair(t.session, { mechanism: js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [...pub, { type: js.CKA_MODULUS_BITS, value: bits }, { type: js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }, { type: js.CKA_ENCRYPT, value: true }],
        [...priv, { type: js.CKA_DECRYPT, value: true }]);
    } else {
      // Domain parameters first (CKM_DSA_PARAMETER_GEN), then the pair on them.
      const params = t.m.C_GenerateKey(t.session, { mechanism: js.CKM_DSA_PARAMETER_GEN }, [
        { type: js.CKA_CLASS, value: js.CKO_DOMAIN_PARAMETERS }, { type: js.CKA_KEY_TYPE, value: js.CKK_DSA }, { type: js.CKA_PRIME_BITS, value: bits },
      ]);
      const pqg = [js.CKA_PRIME, js.CKA_SUBPRIME, js.CKA_BASE].map((a) => ({ type: a, value: attribute(t.m, t.session, params, a) }));
      t.m.C_DestroyObject(t.session, params);
      pair = t.m.C_GenerateKeyPair(t.session, { mechanism: js.CKM_DSA_KEY_PAIR_GEN }, [...pub, ...pqg], priv);
    }
    return { priv: pair.privateKey, key: publicKeyOf(t.m, t.session, pair.publicKey) };
  });
}

/** A `sign(data)` for src/pki/build.ts: X.509 signatures (PKCS#1 v1.5 with DigestInfo; DSA as DER r,s). */
export function tokenSigner(t: TokenSession, priv: Handle, type: "rsa" | "dsa", hash: string, bits: number): (data: Buffer) => Buffer {
  const js = pkcs11js();
  return (data) => {
    const digest = createHash(hash).update(data).digest();
    return p11("C_Sign", () => {
      if (type === "rsa") {
        const prefix = DIGEST_INFO[hash];
        if (prefix === undefined) throw new RangeError(`no DigestInfo for ${hash}`);
        t.m.C_SignInit(t.session, { mechanism: js.CKM_RSA_PKCS }, priv);
        return t.m.C_Sign(t.session, Buffer.concat([Buffer.from(prefix, "hex"), digest]), Buffer.alloc(Math.ceil(bits / 8)));
      }
      // FIPS 186-4 §4.6: the leftmost min(N, outlen) bits of the hash; the token returns r|s.
      t.m.C_SignInit(t.session, { mechanism: js.CKM_DSA }, priv);
      const rs = t.m.C_Sign(t.session, digest, Buffer.alloc(128));
      const half = rs.length / 2;
      return sequence(unsignedInteger(rs.subarray(0, half)), unsignedInteger(rs.subarray(half)));
    });
  };
}

/**
 * A key's numbers as the token's attributes want them: RSA from its JWK, DSA from its DER (Node has
 * no DSA JWK). For a public key `priv` is empty.
 */
function keyAttributes(key: KeyObject): { type: "rsa" | "dsa"; priv: Attr[]; pub: Attr[] } {
  const js = pkcs11js();
  const b = (s: unknown) => Buffer.from(String(s), "base64url");
  const isPrivate = key.type === "private";
  if (key.asymmetricKeyType === "rsa") {
    const j = key.export({ format: "jwk" });
    const n = { type: js.CKA_MODULUS, value: b(j.n) };
    const e = { type: js.CKA_PUBLIC_EXPONENT, value: b(j.e) };
    const secret = ([["d", js.CKA_PRIVATE_EXPONENT], ["p", js.CKA_PRIME_1], ["q", js.CKA_PRIME_2], ["dp", js.CKA_EXPONENT_1], ["dq", js.CKA_EXPONENT_2], ["qi", js.CKA_COEFFICIENT]] as const)
      .map(([k, a]) => ({ type: a, value: b(j[k]) }));
    return { type: "rsa", pub: [n, e, { type: js.CKA_ENCRYPT, value: true }], priv: isPrivate ? [n, e, ...secret, { type: js.CKA_DECRYPT, value: true }] : [] };
  }
  if (key.asymmetricKeyType === "dsa") {
    // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier { id-dsa, Dss-Parms { p, q, g } }, BIT STRING { INTEGER y } }
    // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier (as above), OCTET STRING { INTEGER x } }
    const spki = createPublicKey(key).export({ type: "spki", format: "der" });
    const pkcs8 = isPrivate ? key.export({ type: "pkcs8", format: "der" }) : undefined;
    // PKCS#11 big integers are unsigned: drop DER's sign octet. Copies: pkcs8 is wiped below.
    const int = (t: Parameters<typeof integerBytes>[0], what: string) => {
      const v = integerBytes(t, what);
      return Buffer.from(v.length > 1 && v[0] === 0 ? v.subarray(1) : v);
    };
    try {
      const [alg, bits] = seq(parseDer(spki), "SubjectPublicKeyInfo");
      const [, params] = seq(alg, "AlgorithmIdentifier");
      const [p, q, g] = seq(params, "Dss-Parms").map((x, i) => int(x, ["p", "q", "g"][i]!));
      const y = int(parseDer(bits!.value.subarray(1), Tag.INTEGER), "y");
      const pqg = [{ type: js.CKA_PRIME, value: p! }, { type: js.CKA_SUBPRIME, value: q! }, { type: js.CKA_BASE, value: g! }];
      const priv: Attr[] = [];
      if (pkcs8) {
        const octets = seq(parseDer(pkcs8), "PrivateKeyInfo")[2];
        priv.push(...pqg, { type: js.CKA_VALUE, value: int(parseDer(octets!.value, Tag.INTEGER), "x") });
      }
      return { type: "dsa", pub: [...pqg, { type: js.CKA_VALUE, value: y }], priv };
    } finally {
      pkcs8?.fill(0);
    }
  }
  throw new RangeError(`${key.asymmetricKeyType} keys cannot go to a token here (RSA or DSA)`);
}

/**
 * Puts a disk key on the token: the private key object (for a private key) and the public key
 * object. Each part is its own call, so a caller can report which failed.
 */
export function importKey(t: TokenSession, key: KeyObject, id: Buffer, label: string, part: "private" | "public"): void {
  const js = pkcs11js();
  const k = keyAttributes(key);
  const { pub, priv } = keyTemplates(id, label);
  const keyType = k.type === "rsa" ? js.CKK_RSA : js.CKK_DSA;
  try {
    if (part === "private") p11("C_CreateObject", () => t.m.C_CreateObject(t.session, [{ type: js.CKA_CLASS, value: js.CKO_PRIVATE_KEY }, { type: js.CKA_KEY_TYPE, value: keyType }, ...priv, ...k.priv]));
    else p11("C_CreateObject", () => t.m.C_CreateObject(t.session, [{ type: js.CKA_CLASS, value: js.CKO_PUBLIC_KEY }, { type: js.CKA_KEY_TYPE, value: keyType }, ...pub, ...k.pub]));
  } finally {
    for (const a of k.priv) if (Buffer.isBuffer(a.value)) a.value.fill(0);
  }
}

/** Stores a certificate on the token (CKC_X_509, with the key pair's CKA_ID). */
export function createCertificate(t: TokenSession, der: Buffer, subject: Buffer, id: Buffer, label: string): void {
  const js = pkcs11js();
  p11("C_CreateObject", () => t.m.C_CreateObject(t.session, [
    { type: js.CKA_CLASS, value: js.CKO_CERTIFICATE }, { type: js.CKA_CERTIFICATE_TYPE, value: js.CKC_X_509 }, { type: js.CKA_TOKEN, value: true },
    { type: js.CKA_PRIVATE, value: false }, { type: js.CKA_ID, value: id }, { type: js.CKA_LABEL, value: label }, { type: js.CKA_SUBJECT, value: subject },
    { type: js.CKA_VALUE, value: der },
  ]));
}

/** An object found on the token. */
export interface TokenObject {
  readonly handle: Handle;
  readonly id: Buffer;
  readonly label: string;
}

/** Objects of a class (CKO_*), with their CKA_ID and CKA_LABEL; `id` narrows to one key pair. */
export function objectsOf(t: TokenSession, cls: number, id?: Buffer): TokenObject[] {
  const js = pkcs11js();
  const template: Attr[] = [{ type: js.CKA_CLASS, value: cls }, ...(id ? [{ type: js.CKA_ID, value: id }] : [])];
  return findObjects(t.m, t.session, template, 1024).map((handle) => ({
    handle,
    id: attribute(t.m, t.session, handle, js.CKA_ID),
    label: attribute(t.m, t.session, handle, js.CKA_LABEL).toString("utf8"),
  }));
}

/** The public half of the key pair `id`: its public key object, else its certificate. */
export function tokenPublicKey(t: TokenSession, id: Buffer): TokenPublicKey | undefined {
  const js = pkcs11js();
  const [pub] = objectsOf(t, js.CKO_PUBLIC_KEY, id);
  return pub ? publicKeyOf(t.m, t.session, pub.handle) : undefined;
}

/** Removes the objects of key pair `id` of the given classes; returns how many went. */
export function destroyObjects(t: TokenSession, id: Buffer, classes: readonly number[]): number {
  let n = 0;
  for (const cls of classes) {
    for (const o of objectsOf(t, cls, id)) {
      p11("C_DestroyObject", () => t.m.C_DestroyObject(t.session, o.handle));
      n++;
    }
  }
  return n;
}

/** An X.509 certificate object's DER. */
export const certificateDer = (t: TokenSession, o: TokenObject): Buffer => attribute(t.m, t.session, o.handle, pkcs11js().CKA_VALUE);
