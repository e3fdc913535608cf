/**
 * The crypto task executor: turns one `TaskRequest` into its `TaskResponse`, synchronously.
 *
 * The same function runs inside every crypto worker (workers/crypto.worker.ts) and, for a pool of
 * size 0, inline on the main thread, so both paths give identical results. The per-thread keyring of
 * long-term private keys lives here: each thread loads a key once and keeps the parsed key (and its
 * native handle) for later requests. A key on a PKCS#11 token is kept as a reference to its objects,
 * used through this thread's own session on the token (src/crypto/token-keys.ts).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { createPublicKey } from "node:crypto";
import { dhAgree, dhGenerate, dhGenerateAndAgree } from "../src/crypto/dh.js";
import { verifySignedData } from "../src/crypto/signed-data.js";
import {
  decrypt,
  encrypt,
  loadPrivateKey,
  loadPublicKey,
  sign,
  verify,
  type PrivateKeyRef,
  type PublicKeyRef,
  type PubkeyResult,
} from "../src/crypto/pubkey.js";
import { parseTokenKeyFile, isTokenKeyFile } from "../src/crypto/token-key-file.js";
import { loadTokenKey, releaseTokenKey, tokenDecrypt, tokenKeyLocked, tokenLogin, tokenLogout, tokenSign, type TokenKeyRef } from "../src/crypto/token-keys.js";
import {
  KEY_NOT_LOADED,
  TASK_EXCEPTION,
  type KeyRefFields,
  type KeySource,
  type TaskOp,
  type TaskRequest,
  type TaskResponse,
  type TaskResult,
} from "../src/crypto/tasks.js";

/** Largest private key file accepted (an RSA-8192 PEM is under 7 KiB). */
const MAX_KEY_FILE = 64 * 1024;

/** Keys loaded in this thread, by key id, with the version they were loaded for. */
const keyring = new Map<string, { version: number; ref: PrivateKeyRef | TokenKeyRef }>();

/** Forget a key in this thread (the pool broadcasts removals); a token key's secret is zeroed. */
export function dropKey(keyId: string): void {
  const have = keyring.get(keyId);
  keyring.delete(keyId);
  if (have?.ref.kind === "token") releaseTokenKey(have.ref);
}

/** Number of keys loaded in this thread (for tests and stats). */
export function loadedKeyCount(): number {
  return keyring.size;
}

/**
 * Peer public keys by their encoding. A peer's certificate or key comes with every exchange it
 * makes; parsing it (and, for DSA, importing it into the addon) costs more than a verification, so
 * each thread keeps the most recent ones. Bounded: the oldest entry goes when the map is full.
 */
const publicKeys = new Map<string, PublicKeyRef>();
const PUBLIC_KEY_CACHE = 256;

function publicKeyFor(input: Uint8Array | string): TaskResult<PublicKeyRef> {
  const id = typeof input === "string" ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("base64");
  const hit = publicKeys.get(id);
  if (hit !== undefined) {
    // Re-insert: Map order is the eviction order.
    publicKeys.delete(id);
    publicKeys.set(id, hit);
    return { ok: true, value: hit };
  }
  const loaded = loadPublicKey(input);
  if (loaded.ok) {
    if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value as string);
    publicKeys.set(id, loaded.value);
  }
  return loaded;
}

function readSource(source: KeySource): TaskResult<PrivateKeyRef | TokenKeyRef> {
  if ("path" in source) {
    let bytes: Buffer;
    let fd: number | undefined;
    try {
      // Checked through the open descriptor (no window between check and read): a key is a small
      // regular file nobody but its owner may read or write. Anything else (a FIFO, /dev/zero, a
      // file an admin loosened after the daemon checked the store) is refused here too.
      fd = openSync(source.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > MAX_KEY_FILE) {
        return { ok: false, error: { code: "IKE_ERR_PUBKEY_DECODE", message: `key file ${source.path} is not a regular file under ${MAX_KEY_FILE} bytes` } };
      }
      if ((st.mode & 0o077) !== 0) {
        return { ok: false, error: { code: "IKE_ERR_PUBKEY_DECODE", message: `key file ${source.path} is accessible to group or others (mode ${(st.mode & 0o777).toString(8)})` } };
      }
      bytes = readFileSync(fd);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      return { ok: false, error: { code: "IKE_ERR_PUBKEY_DECODE", message: `cannot read key file ${source.path}: ${code}` } };
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    try {
      if (isTokenKeyFile(bytes)) return tokenKey(bytes, source.path, source.pkcs11Library);
      // PEM or DER alike as bytes (no JS string copy of the key); the file's bytes are zeroed after.
      return loadPrivateKey(bytes);
    } finally {
      bytes.fill(0);
    }
  }
  return loadPrivateKey("pem" in source ? source.pem : source.der);
}

/** A key file that names a key on a token: the token's objects, through `library`. */
function tokenKey(bytes: Buffer, file: string, library: string | undefined): TaskResult<TokenKeyRef> {
  const ref = parseTokenKeyFile(bytes);
  if (typeof ref === "string") return { ok: false, error: { code: "IKE_ERR_PUBKEY_DECODE", message: `key reference ${file}: ${ref}` } };
  if (library === undefined) return { ok: false, error: { code: "IKE_ERR_TOKEN_LIBRARY", message: `${file} names a key on a PKCS#11 token, but no library was given` } };
  return loadTokenKey(ref, library);
}

function keyFor(req: KeyRefFields): TaskResult<PrivateKeyRef | TokenKeyRef> {
  const have = keyring.get(req.keyId);
  if (have !== undefined && have.version === req.keyVersion) return { ok: true, value: have.ref };
  if (req.keySource === undefined) {
    return { ok: false, error: { code: KEY_NOT_LOADED, message: `key ${req.keyId} not loaded in this thread` } };
  }
  const loaded = readSource(req.keySource);
  if (loaded.ok) {
    // A newer version replaces the key (its removal's broadcast may not have come yet).
    dropKey(req.keyId);
    keyring.set(req.keyId, { version: req.keyVersion, ref: loaded.value });
  }
  return loaded;
}

function execute(req: TaskRequest): TaskResponse {
  switch (req.op) {
    case "dhGenerate":
      return dhGenerate(req.group);
    case "dhAgree":
      return dhAgree(req.group, req.privateValue, req.peerPublic);
    case "dhGenerateAndAgree":
      return dhGenerateAndAgree(req.group, req.peerPublic);
    case "sign": {
      const key = keyFor(req);
      if (!key.ok) return key;
      return key.value.kind === "token" ? tokenSign(key.value, req.hash) : sign(key.value, req.hash);
    }
    case "decrypt": {
      const key = keyFor(req);
      if (!key.ok) return key;
      return key.value.kind === "token" ? tokenDecrypt(key.value, req.ciphertext) : decrypt(key.value, req.ciphertext);
    }
    case "loadKey": {
      const key = keyFor(req);
      if (!key.ok) return key;
      const k = key.value;
      if (k.kind === "token") return { ok: true, value: { type: k.type, bits: k.bits, spki: k.spki, token: { label: k.token, locked: tokenKeyLocked(k) } } };
      const spki = createPublicKey(k.key).export({ type: "spki", format: "der" });
      return { ok: true, value: { type: k.type, bits: k.bits, spki } };
    }
    case "tokenLogin":
      return tokenLogin(req.library, req.token, Buffer.from(req.pin.buffer, req.pin.byteOffset, req.pin.byteLength).toString("utf8"));
    case "tokenLogout":
      return tokenLogout(req.library, req.token);
    case "verify": {
      const key = publicKeyFor(req.publicKey);
      return key.ok ? verify(key.value, req.hash, req.signature) : key;
    }
    case "verifySignedData":
      return { ok: true, value: verifySignedData(req.spki, req.alg, req.data, req.signature) };
    case "encrypt": {
      const key = publicKeyFor(req.publicKey);
      return key.ok ? encrypt(key.value, req.plaintext) : key;
    }
    default: {
      const never: never = req;
      return { ok: false, error: { code: TASK_EXCEPTION, message: `unknown task ${String((never as { op: unknown }).op)}` } };
    }
  }
}

/**
 * Run one request. Never throws: a thrown exception (a bug, or a structurally broken request)
 * becomes an `IKE_ERR_TASK_EXCEPTION` value so the rest of a batch still completes.
 */
export function runTask<Op extends TaskOp>(req: TaskRequest & { op: Op }): TaskResponse<Op>;
export function runTask(req: TaskRequest): TaskResponse;
export function runTask(req: TaskRequest): TaskResponse {
  try {
    return execute(req);
  } catch (err) {
    // The message names the failing operation only; exception text could echo inputs.
    return { ok: false, error: { code: TASK_EXCEPTION, message: `${String(req?.op)} task failed (${(err as Error)?.name ?? "error"})` } };
  }
}
