/**
 * Private keys on PKCS#11 tokens, as the crypto workers use them: each worker thread opens its own
 * session per token (pkcs11.ts says why sessions are per thread and login per process) and signs
 * and decrypts there, so the key never leaves the token and the main thread never touches it.
 *
 *   sign     RSA: CKM_RSA_PKCS over the raw HASH_I/HASH_R (PKCS#1 type 1, no DigestInfo: what
 *            IKEv1 signs, RFC 2409 §5.1, like pubkey.ts `sign`); DSA: CKM_DSA over the raw hash,
 *            r|s as the token returns it (the SIG payload's form).
 *   decrypt  RSA: CKM_RSA_PKCS (RFC 2409 §5.2 nonces and IDs). A token reports a bad padding as an
 *            error; that error must not become an oracle (Bleichenbacher), so, as pubkey.ts does
 *            with implicit rejection, a bad padding yields a synthetic plaintext derived from the
 *            ciphertext and a per-key secret only the token can make (the hash of its signature
 *            over a fixed value), the same in every worker, held in sodium secure memory and
 *            zeroed when the worker drops the key. XXX: unlike the native decryption this
 *            is not constant time: how long the token takes to fail, and this JavaScript, can leak
 *            the padding check's outcome through timing.
 *
 * A key whose private object is not visible (nobody logged in) loads "locked": its public half
 * is known (the public key object is public), signing answers IKE_ERR_KEY_LOCKED, and the next
 * request looks for the private object again, so `ikeadm token login` (any worker) unlocks it
 * everywhere without reloading.
 */
import { createHash, createHmac } from "node:crypto";
import { SecureBuffer, wipe } from "./secure.js";
import { TokenCode, TokenError, findObjects, login, logout, openLibrary, openSession, p11, pkcs11js, publicKeyOf, tokenSlot, type Handle, type Pkcs11 } from "./pkcs11.js";
import type { TokenKeyFile } from "./token-key-file.js";
import type { TaskResult } from "./tasks.js";

interface Session {
  readonly m: Pkcs11;
  readonly session: Handle;
}

/** A token key as a worker holds it: where it is, never what it is. */
export interface TokenKeyRef {
  readonly kind: "token";
  readonly type: "rsa" | "dsa";
  readonly bits: number;
  readonly spki: Buffer;
  readonly library: string;
  readonly token: string;
  readonly id: Buffer;
  /** The private key object, once visible. */
  handle: Handle | undefined;
  /**
   * Implicit-rejection secret, made on first use; in secure memory (secure.ts) like the keying
   * material, destroyed by {@link releaseTokenKey} when the thread drops the key.
   */
  rejection: SecureBuffer | undefined;
}

/** Forgets what this thread derived from a token key: its implicit-rejection secret is zeroed and released. */
export function releaseTokenKey(ref: TokenKeyRef): void {
  ref.rejection?.destroy();
  ref.rejection = undefined;
}

/** This thread's sessions, by library and token label. */
const sessions = new Map<string, Session>();

function sessionFor(library: string, token: string): Session {
  const k = `${library}\0${token}`;
  const have = sessions.get(k);
  if (have) return have;
  const m = openLibrary(library);
  const s = { m, session: openSession(m, tokenSlot(m, token), false) };
  sessions.set(k, s);
  return s;
}

/** Forgets a session whose token went away (the next request opens a new one). */
function dropSession(library: string, token: string): void {
  sessions.delete(`${library}\0${token}`);
}

function fail(err: unknown): { ok: false; error: { code: string; message: string } } {
  if (err instanceof TokenError) return { ok: false, error: { code: err.code, message: err.message } };
  return { ok: false, error: { code: TokenCode.Operation, message: `token operation failed (${(err as Error)?.name ?? "error"})` } };
}

function privateObject(ref: TokenKeyRef, s: Session): Handle | undefined {
  const js = pkcs11js();
  ref.handle ??= findObjects(s.m, s.session, [{ type: js.CKA_CLASS, value: js.CKO_PRIVATE_KEY }, { type: js.CKA_ID, value: ref.id }], 1)[0];
  return ref.handle;
}

/** Loads a key named by a reference file; logs in first when the file holds the PIN. */
export function loadTokenKey(file: TokenKeyFile, library: string): TaskResult<TokenKeyRef> {
  try {
    const s = sessionFor(library, file.token);
    if (file.pin !== undefined) login(s.m, s.session, file.pin);
    const js = pkcs11js();
    const [pub] = findObjects(s.m, s.session, [{ type: js.CKA_CLASS, value: js.CKO_PUBLIC_KEY }, { type: js.CKA_ID, value: file.id }], 1);
    if (!pub) throw new TokenError(TokenCode.NoObject, `no public key object with id ${file.id.toString("hex")} on token "${file.token}"`);
    const ref: TokenKeyRef = { kind: "token", ...publicKeyOf(s.m, s.session, pub), library, token: file.token, id: Buffer.from(file.id), handle: undefined, rejection: undefined };
    privateObject(ref, s);
    return { ok: true, value: ref };
  } catch (err) {
    if (err instanceof TokenError && err.code === TokenCode.Operation) dropSession(library, file.token);
    return fail(err);
  }
}

/** Whether the key's private object is (still) out of reach. */
export function tokenKeyLocked(ref: TokenKeyRef): boolean {
  try {
    return privateObject(ref, sessionFor(ref.library, ref.token)) === undefined;
  } catch {
    return true;
  }
}

/** Failures after which the session itself is gone (a removed token, a closed session). */
const SESSION_GONE = /CKR_(SESSION_HANDLE_INVALID|SESSION_CLOSED|TOKEN_NOT_PRESENT|DEVICE_REMOVED|DEVICE_ERROR)/;

/**
 * Runs `op` with the private object. A failure is tried once more with a fresh look-up: the handle
 * may predate a logout and a new login, or the session may be gone.
 */
function withPrivate<T>(ref: TokenKeyRef, what: string, op: (s: Session, h: Handle) => T): TaskResult<T> {
  let last: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const s = sessionFor(ref.library, ref.token);
      const h = privateObject(ref, s);
      if (h === undefined) {
        return { ok: false, error: { code: TokenCode.Locked, message: `key ${ref.id.toString("hex")} on token "${ref.token}" is locked: run 'ikeadm token login "${ref.token}"'` } };
      }
      return { ok: true, value: p11(what, () => op(s, h)) };
    } catch (err) {
      last = err;
      ref.handle = undefined;
      if (SESSION_GONE.test((err as Error)?.message ?? "")) dropSession(ref.library, ref.token);
    }
  }
  return fail(last);
}

/** Signs a raw hash (RFC 2409 §5.1). */
export function tokenSign(ref: TokenKeyRef, hash: Uint8Array): TaskResult<Buffer> {
  const js = pkcs11js();
  if (ref.type === "rsa" && (hash.length === 0 || hash.length > ref.bits / 8 - 11)) {
    return { ok: false, error: { code: "IKE_ERR_PUBKEY_INPUT", message: "hash length does not fit the RSA key" } };
  }
  const mechanism = ref.type === "rsa" ? js.CKM_RSA_PKCS : js.CKM_DSA;
  return withPrivate(ref, "C_Sign", (s, h) => {
    s.m.C_SignInit(s.session, { mechanism }, h);
    return s.m.C_Sign(s.session, Buffer.from(hash), Buffer.alloc(Math.ceil(ref.bits / 8) * 2));
  });
}

/** The implicit-rejection secret: SHA-256 of the key's signature over a fixed value (deterministic for RSA). */
function rejectionSecret(ref: TokenKeyRef): TaskResult<SecureBuffer> {
  if (ref.rejection) return { ok: true, value: ref.rejection };
  const sig = tokenSign(ref, createHash("sha256").update("iked token implicit rejection 1").digest());
  if (!sig.ok) return sig;
  // The digest is copied into secure memory and wiped (take); so is the signature it came from.
  ref.rejection = SecureBuffer.take(createHash("sha256").update(sig.value).digest());
  wipe(sig.value);
  return { ok: true, value: ref.rejection };
}

/** A plaintext of pseudo-random length (0..k-11) and bytes, from the secret and the ciphertext. */
function synthetic(secret: SecureBuffer, ciphertext: Uint8Array, k: number): Buffer {
  const kdk = secret.use((key) => createHmac("sha256", key).update(ciphertext).digest());
  try {
    const len = createHmac("sha256", kdk).update("length").digest().readUInt16BE(0) % (k - 10);
    const out: Buffer[] = [];
    for (let i = 0; out.length * 32 < len; i++) out.push(createHmac("sha256", kdk).update(`message ${i}`).digest());
    return Buffer.concat(out).subarray(0, len);
  } finally {
    wipe(kdk);
  }
}

/** C_Decrypt failures that say nothing about the ciphertext. */
const STATE_FAILURE = /CKR_(USER_NOT_LOGGED_IN|KEY_HANDLE_INVALID|OBJECT_HANDLE_INVALID|SESSION_\w+|TOKEN_\w+|DEVICE_\w+|CRYPTOKI_\w+|KEY_FUNCTION_NOT_PERMITTED|MECHANISM_\w+|OPERATION_\w+|HOST_MEMORY)/;

/** RSA PKCS#1 v1.5 decryption on the token, a bad padding answered with a synthetic plaintext. */
export function tokenDecrypt(ref: TokenKeyRef, ciphertext: Uint8Array): TaskResult<Buffer> {
  if (ref.type !== "rsa") return { ok: false, error: { code: "IKE_ERR_PUBKEY_TYPE", message: "public-key decryption needs an RSA key" } };
  const k = Math.ceil(ref.bits / 8);
  if (ciphertext.length !== k) return { ok: false, error: { code: "IKE_ERR_PUBKEY_INPUT", message: "ciphertext does not fit the RSA modulus" } };
  const secret = rejectionSecret(ref);
  if (!secret.ok) return secret;
  const js = pkcs11js();
  const r = withPrivate(ref, "C_Decrypt", (s, h) => {
    s.m.C_DecryptInit(s.session, { mechanism: js.CKM_RSA_PKCS }, h);
    try {
      return s.m.C_Decrypt(s.session, Buffer.from(ciphertext), Buffer.alloc(k));
    } catch (err) {
      // Failures of the key's or the session's state are reported (and retried once); any other
      // failure depends on this ciphertext (SoftHSM says CKR_GENERAL_ERROR for a bad padding,
      // others CKR_ENCRYPTED_DATA_INVALID): implicit rejection.
      if (STATE_FAILURE.test((err as Error)?.message ?? "")) throw err;
      return synthetic(secret.value, ciphertext, k);
    }
  });
  return r;
}

/**
 * Logs in to a token (ikeadm token login): every thread's session sees its private objects.
 * `false`: it was logged in already, and the token did not check this PIN.
 */
export function tokenLogin(library: string, token: string, pin: string): TaskResult<boolean> {
  try {
    const s = sessionFor(library, token);
    return { ok: true, value: login(s.m, s.session, pin) };
  } catch (err) {
    dropSession(library, token);
    return fail(err);
  }
}

/** Logs out of a token (ikeadm token logout): its private objects are locked again everywhere. */
export function tokenLogout(library: string, token: string): TaskResult<boolean> {
  try {
    const s = sessionFor(library, token);
    logout(s.m, s.session);
    return { ok: true, value: true };
  } catch (err) {
    dropSession(library, token);
    return fail(err);
  }
}
