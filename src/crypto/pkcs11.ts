/**
 * PKCS#11 (OASIS PKCS#11 v2.40) through pkcs11js: loading the library `pkcs11_path` names, finding a
 * token by label, sessions, login, objects, and a public key object's SubjectPublicKeyInfo.
 *
 * One library instance per thread and path. PKCS#11 is initialised once per process: a second
 * `C_Initialize` (another crypto worker, same process) answers CKR_CRYPTOKI_ALREADY_INITIALIZED,
 * which is success here, and no worker ever calls `C_Finalize` (it would end every other thread's
 * sessions). Login state belongs to the process too (v2.40 §5.6: all sessions of an application
 * with a token share it): one `C_Login` in any worker unlocks the token's private objects in every
 * worker's session, and one `C_Logout` locks them again. Sessions are per thread: a session is used
 * by one thread only, one operation at a time (crypto tasks are synchronous).
 *
 * Errors are `TokenError`s with stable codes; messages carry CKR_ names, labels and paths, never PINs.
 */
import { createPublicKey } from "node:crypto";
import { createRequire } from "node:module";

type Pkcs11js = typeof import("pkcs11js");
/** A loaded PKCS#11 library. */
export type Pkcs11 = import("pkcs11js").PKCS11;
/** A PKCS#11 slot, session or object handle. */
export type Handle = Buffer;

/** Stable codes of token failures. */
export const TokenCode = {
  /** pkcs11js missing, or the library does not load or initialise. */
  Library: "IKE_ERR_TOKEN_LIBRARY",
  /** No token with this label. */
  NoToken: "IKE_ERR_TOKEN_NOT_FOUND",
  /** Login refused: wrong PIN, PIN locked or expired. */
  Pin: "IKE_ERR_TOKEN_PIN",
  /** The key's private object is not visible: nobody is logged in to its token. */
  Locked: "IKE_ERR_KEY_LOCKED",
  /** An object named by a reference is not on the token. */
  NoObject: "IKE_ERR_TOKEN_NO_OBJECT",
  /** Any other CKR_ failure. */
  Operation: "IKE_ERR_TOKEN_OPERATION",
} as const;
export type TokenErrorCode = (typeof TokenCode)[keyof typeof TokenCode];

/** A token failure. */
export class TokenError extends Error {
  constructor(readonly code: TokenErrorCode, message: string) {
    super(message);
  }
}

let binding: Pkcs11js | undefined;

/** The pkcs11js module (loaded on first use: only token users pay for it). */
export function pkcs11js(): Pkcs11js {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)("pkcs11js") as Pkcs11js;
  } catch (err) {
    throw new TokenError(TokenCode.Library, `the pkcs11js module is not installed (${(err as Error).message.split("\n")[0]})`);
  }
  return binding;
}

/** The CKR_ name of a pkcs11js error, or undefined for other errors. */
export function ckr(err: unknown): string | undefined {
  const m = /\bCKR_[A-Z_]+/.exec((err as Error)?.message ?? "");
  return m?.[0];
}

function opError(what: string, err: unknown): TokenError {
  const name = ckr(err);
  if (name === "CKR_USER_NOT_LOGGED_IN") return new TokenError(TokenCode.Locked, `${what}: nobody is logged in to the token`);
  return new TokenError(TokenCode.Operation, `${what} failed (${name ?? (err as Error)?.message ?? "error"})`);
}

/** Runs a PKCS#11 call; failures become TokenErrors naming `what`. */
export function p11<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof TokenError) throw err;
    throw opError(what, err);
  }
}

const libraries = new Map<string, Pkcs11>();

/** The library at `path`, loaded and initialised (once per thread). */
export function openLibrary(path: string): Pkcs11 {
  const have = libraries.get(path);
  if (have) return have;
  const js = pkcs11js();
  const m = new js.PKCS11();
  try {
    m.load(path);
  } catch (err) {
    throw new TokenError(TokenCode.Library, `cannot load the PKCS#11 library "${path}" (pkcs11_path): ${(err as Error).message}`);
  }
  try {
    m.C_Initialize({ flags: js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckr(err) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
      throw new TokenError(TokenCode.Library, `the PKCS#11 library "${path}" does not initialise (${ckr(err) ?? (err as Error).message})`);
    }
  }
  libraries.set(path, m);
  return m;
}

/**
 * Ends this process's use of the library (ikecert, a one-shot process, at exit). Never called in
 * the daemon's workers: C_Finalize would close every thread's sessions.
 */
export function closeLibrary(path: string): void {
  const m = libraries.get(path);
  if (!m) return;
  libraries.delete(path);
  try {
    m.C_Finalize();
  } catch {
    // Already finalised or never initialised by us: nothing left to end.
  }
}

/** A label as PKCS#11 stores it: 32 bytes, space-padded. */
export function padLabel(label: string): string {
  return label.padEnd(32, " ").slice(0, 32);
}

/** The labels of the tokens present. */
export function tokenLabels(m: Pkcs11): string[] {
  return p11("C_GetSlotList", () => m.C_GetSlotList(true)).map((s) => p11("C_GetTokenInfo", () => m.C_GetTokenInfo(s)).label);
}

/** The slot holding the token labelled `label` (compared without the padding). */
export function tokenSlot(m: Pkcs11, label: string): Handle {
  const want = label.trimEnd();
  for (const slot of p11("C_GetSlotList", () => m.C_GetSlotList(true))) {
    if (p11("C_GetTokenInfo", () => m.C_GetTokenInfo(slot)).label.trimEnd() === want) return slot;
  }
  throw new TokenError(TokenCode.NoToken, `no PKCS#11 token labelled "${want}" (ikecert tokens lists them)`);
}

/** Opens a session (read-write when `rw`: creating and destroying token objects needs it). */
export function openSession(m: Pkcs11, slot: Handle, rw: boolean): Handle {
  const js = pkcs11js();
  return p11("C_OpenSession", () => m.C_OpenSession(slot, js.CKF_SERIAL_SESSION | (rw ? js.CKF_RW_SESSION : 0)));
}

/**
 * Logs the user in. Already logged in (by this or another thread) is success, answered `false`:
 * the token then does not check the PIN.
 */
export function login(m: Pkcs11, session: Handle, pin: string): boolean {
  try {
    m.C_Login(session, pkcs11js().CKU_USER, pin);
    return true;
  } catch (err) {
    const name = ckr(err);
    if (name === "CKR_USER_ALREADY_LOGGED_IN") return false;
    if (name === "CKR_PIN_INCORRECT" || name === "CKR_PIN_LOCKED" || name === "CKR_PIN_EXPIRED" || name === "CKR_PIN_LEN_RANGE") {
      throw new TokenError(TokenCode.Pin, `token login refused (${name})`);
    }
    throw opError("C_Login", err);
  }
}

/** Logs the user out; not logged in is success. */
export function logout(m: Pkcs11, session: Handle): void {
  try {
    m.C_Logout(session);
  } catch (err) {
    if (ckr(err) !== "CKR_USER_NOT_LOGGED_IN") throw opError("C_Logout", err);
  }
}

/** An attribute for a search or creation template. */
export type Attr = { type: number; value?: number | boolean | string | Buffer };

/** The objects matching `template` (at most `max`). */
export function findObjects(m: Pkcs11, session: Handle, template: Attr[], max = 64): Handle[] {
  return p11("C_FindObjects", () => {
    m.C_FindObjectsInit(session, template);
    try {
      return m.C_FindObjects(session, max);
    } finally {
      m.C_FindObjectsFinal(session);
    }
  });
}

/** One attribute's value bytes. */
export function attribute(m: Pkcs11, session: Handle, object: Handle, type: number): Buffer {
  const [a] = p11("C_GetAttributeValue", () => m.C_GetAttributeValue(session, object, [{ type }]));
  const v = a?.value;
  if (!Buffer.isBuffer(v)) throw new TokenError(TokenCode.Operation, `attribute 0x${type.toString(16)} has no value`);
  return v;
}

/** What a public key object holds, as the rest of iked sees keys. */
export interface TokenPublicKey {
  readonly type: "rsa" | "dsa";
  readonly bits: number;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
}

/** Minimal DER for the DSA SubjectPublicKeyInfo (Node has no DSA JWK import). */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
function unsignedInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}
/** id-dsa, 1.2.840.10040.4.1 (RFC 3279 §2.3.2). */
const ID_DSA = Buffer.from("06072a8648ce380401", "hex");

/** The SubjectPublicKeyInfo of an RSA or DSA public key object. */
export function publicKeyOf(m: Pkcs11, session: Handle, object: Handle): TokenPublicKey {
  const js = pkcs11js();
  // CK_ULONG in host byte order (little-endian on every platform Node runs iked on).
  const keyType = attribute(m, session, object, js.CKA_KEY_TYPE).readUInt32LE(0);
  const bitLength = (b: Buffer) => {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return i === b.length ? 0 : (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
  };
  if (keyType === js.CKK_RSA) {
    const n = attribute(m, session, object, js.CKA_MODULUS);
    const e = attribute(m, session, object, js.CKA_PUBLIC_EXPONENT);
    const spki = createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") }, format: "jwk" }).export({ type: "spki", format: "der" });
    return { type: "rsa", bits: bitLength(n), spki };
  }
  if (keyType === js.CKK_DSA) {
    const [p, q, g, y] = [js.CKA_PRIME, js.CKA_SUBPRIME, js.CKA_BASE, js.CKA_VALUE].map((t) => attribute(m, session, object, t)) as [Buffer, Buffer, Buffer, Buffer];
    const alg = tlv(0x30, Buffer.concat([ID_DSA, tlv(0x30, Buffer.concat([unsignedInt(p), unsignedInt(q), unsignedInt(g)]))]));
    const spki = tlv(0x30, Buffer.concat([alg, tlv(0x03, Buffer.concat([Buffer.from([0]), unsignedInt(y)]))]));
    return { type: "dsa", bits: bitLength(p), spki };
  }
  throw new TokenError(TokenCode.Operation, `the token key is neither RSA nor DSA (CKK 0x${keyType.toString(16)})`);
}
