/**
 * Typed request/response messages between the crypto pool (main thread) and the crypto workers
 * (import them from tasks.ts, which also has their wire format).
 *
 * Every message is plain data (structured-clone safe) so the same request runs in a worker or inline
 * on the main thread with identical results. Failures caused by inputs (a bad peer DH value, an
 * unknown key id, a signature of the wrong length) are `TaskResult` values; only the machinery
 * (a dead worker, a full queue, an abort) rejects a pool promise, with a `WorkerError`.
 *
 * Long-term private keys are named by `keyId`. A worker loads a key from its `KeySource` the first
 * time a request names it; requests carry the source only when a worker has answered
 * `IKE_ERR_KEY_NOT_LOADED` (a new worker, or one that replaced a dead one), so key material crosses
 * the thread boundary once per worker.
 */
import type { DhExchange, DhKeyPair } from "./dh.js";
import type { SignedDataAlgorithm } from "./signed-data.js";

/**
 * Where a worker finds a private key: a file (PEM or DER, read in the worker), PEM text or DER bytes.
 * A file may instead name a key on a PKCS#11 token (token-key-file.ts); `pkcs11Library` is then the
 * library that reaches the token (ike.config `pkcs11_path`).
 */
export type KeySource = { readonly path: string; readonly pkcs11Library?: string } | { readonly pem: string } | { readonly der: Uint8Array };

/** An input or key failure, reported as a value. */
export interface TaskError {
  /** Stable `IKE_ERR_*` code (from dh.ts, pubkey.ts, or the `IKE_ERR_KEY_*` codes below). */
  readonly code: string;
  /** Human-readable; never carries key material. */
  readonly message: string;
}

/** Success or an input error. */
export type TaskResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TaskError };

/** A worker has no key under this id (yet): the pool resends the request with its `KeySource`. */
export const KEY_NOT_LOADED = "IKE_ERR_KEY_NOT_LOADED";
/** The pool has no key under this id. */
export const KEY_UNKNOWN = "IKE_ERR_KEY_UNKNOWN";
/** A task threw inside the executor: a bug, reported as a value so the batch survives. */
export const TASK_EXCEPTION = "IKE_ERR_TASK_EXCEPTION";

/** Reference to a registered private key; `version` changes when the id is re-registered. */
export interface KeyRefFields {
  readonly keyId: string;
  readonly keyVersion: number;
  /** Present only on a retry after `IKE_ERR_KEY_NOT_LOADED`. */
  readonly keySource?: KeySource;
}

/** g^x for a fresh random x. */
export interface DhGenerateRequest {
  readonly op: "dhGenerate";
  readonly group: number;
}

/** g^xy from our x and the peer's g^y. */
export interface DhAgreeRequest {
  readonly op: "dhAgree";
  readonly group: number;
  readonly privateValue: Uint8Array;
  readonly peerPublic: Uint8Array;
}

/**
 * The responder's DH in one round trip: a fresh x, g^x and g^xy with the peer's g^y. x stays in the
 * worker (wiped there); only g^x and g^xy come back.
 */
export interface DhGenerateAndAgreeRequest {
  readonly op: "dhGenerateAndAgree";
  readonly group: number;
  readonly peerPublic: Uint8Array;
}

/** Sign HASH_I/HASH_R with a registered private key (RSA PKCS#1 type 1 or DSS r|s). */
export interface SignRequest extends KeyRefFields {
  readonly op: "sign";
  readonly hash: Uint8Array;
}

/** Verify a peer's signature with its public key (SPKI DER, PKCS#1 DER, PEM or an X.509 certificate). */
export interface VerifyRequest {
  readonly op: "verify";
  readonly publicKey: Uint8Array | string;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

/** Verify an X.509 signature (certificate or CRL) over TBS bytes with an issuer's SubjectPublicKeyInfo. */
export interface VerifySignedDataRequest {
  readonly op: "verifySignedData";
  readonly spki: Uint8Array;
  readonly alg: SignedDataAlgorithm;
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
}

/** RSA PKCS#1 v1.5 encryption to a peer's public key (auth methods 4/5). */
export interface EncryptRequest {
  readonly op: "encrypt";
  readonly publicKey: Uint8Array | string;
  readonly plaintext: Uint8Array;
}

/** RSA PKCS#1 v1.5 decryption with a registered private key, implicit rejection. */
export interface DecryptRequest extends KeyRefFields {
  readonly op: "decrypt";
  readonly ciphertext: Uint8Array;
}

/** Load (or check) a registered key in the worker that runs this; answers the key's type and size. */
export interface LoadKeyRequest extends KeyRefFields {
  readonly op: "loadKey";
}

/**
 * Log in to a PKCS#11 token (`ikeadm token login`). Login is per process, so one worker's login
 * unlocks the token's keys in every worker; the PIN bytes are wiped with the request message.
 */
export interface TokenLoginRequest {
  readonly op: "tokenLogin";
  readonly library: string;
  readonly token: string;
  readonly pin: Uint8Array;
}

/** Log out of a PKCS#11 token (`ikeadm token logout`): its keys are locked in every worker. */
export interface TokenLogoutRequest {
  readonly op: "tokenLogout";
  readonly library: string;
  readonly token: string;
}

/** Every request a worker understands. */
export type TaskRequest =
  | DhGenerateRequest
  | DhAgreeRequest
  | DhGenerateAndAgreeRequest
  | SignRequest
  | VerifyRequest
  | VerifySignedDataRequest
  | EncryptRequest
  | DecryptRequest
  | LoadKeyRequest
  | TokenLoginRequest
  | TokenLogoutRequest;

/** Type and size of a loaded key, and its public half (to pair it with its certificate). */
export interface KeyDescription {
  readonly type: "rsa" | "dsa";
  readonly bits: number;
  /** SubjectPublicKeyInfo DER of the key's public half. */
  readonly spki: Buffer;
  /** For a key on a PKCS#11 token: its label, and whether nobody is logged in to it. */
  readonly token?: { readonly label: string; readonly locked: boolean };
}

/** The success value of each request kind. */
export interface TaskValueMap {
  dhGenerate: DhKeyPair;
  dhAgree: Buffer;
  dhGenerateAndAgree: DhExchange;
  sign: Buffer;
  verify: boolean;
  verifySignedData: boolean;
  encrypt: Buffer;
  decrypt: Buffer;
  loadKey: KeyDescription;
  /** false: the token was logged in already (and did not check the PIN). */
  tokenLogin: boolean;
  tokenLogout: boolean;
}

/** Operation names; also the Piscina task names exported by workers/crypto.worker.ts. */
export type TaskOp = TaskRequest["op"];

/** The response to a request of kind `Op`. */
export type TaskResponse<Op extends TaskOp = TaskOp> = TaskResult<TaskValueMap[Op]>;

/** Several requests in one Piscina task; the worker answers in the same order. */
export interface BatchRequest {
  readonly requests: readonly TaskRequest[];
}
