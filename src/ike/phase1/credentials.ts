/**
 * What Phase 1 authentication with certificates (RFC 2409 sections 5.1 and 5.2) needs besides the
 * rule: two ports the engine is handed, so it stays free of the certificate store and of the pool.
 *
 * - {@link PubkeyPort}: the public-key operations, each a task in the crypto pool (the daemon's
 *   `CryptoPool` satisfies it as it is): signing and RSA decryption by the key id the store
 *   registered, verification and encryption with a peer's SubjectPublicKeyInfo. Nothing public-key
 *   runs on the engine's thread.
 * - {@link Phase1Credentials}: the certificate layer's answers (src/pki/phase1-credentials.ts
 *   implements it over one store snapshot): our certificate, key and identity for a rule, the CAs
 *   to name in CERTREQ payloads, and the peer's certificate validated (path, dates, CRLs, key
 *   usage), its ID payload checked against it and the rule's `remote_id`.
 *
 * Refusals are values carrying the ISAKMP notify to send and a reason for the log line.
 */
import type { ResolvedRule } from "../../config/types.js";
import type { AbortLike } from "../../crypto/abort-like.js";
import type { TaskResult } from "../../crypto/tasks.js";

/** Per-call options: the SA's abort signal, so pool work for a dead SA is dropped. */
export interface PortCallOptions {
  readonly signal?: AbortLike;
}

/** Public-key work in the crypto pool (`CryptoPool` has exactly these methods). */
export interface PubkeyPort {
  /** SIG_I/SIG_R over HASH_I/HASH_R: RSA PKCS#1 type 1 without DigestInfo, or DSS r|s. */
  sign(keyId: string, hash: Uint8Array, options?: PortCallOptions): Promise<TaskResult<Buffer>>;
  /** A peer's signature, with its SubjectPublicKeyInfo (DER). */
  verify(publicKey: Uint8Array, hash: Uint8Array, signature: Uint8Array, options?: PortCallOptions): Promise<TaskResult<boolean>>;
  /** RSA PKCS#1 v1.5 encryption to a peer's key (RFC 2409 section 5.2: nonce and ID). */
  encrypt(publicKey: Uint8Array, plaintext: Uint8Array, options?: PortCallOptions): Promise<TaskResult<Buffer>>;
  /** RSA PKCS#1 v1.5 decryption with implicit rejection, by key id. */
  decrypt(keyId: string, ciphertext: Uint8Array, options?: PortCallOptions): Promise<TaskResult<Buffer>>;
}

/** An ID payload's type and identification data (RFC 2407 section 4.6.2). */
export interface IdentityValue {
  readonly idType: number;
  readonly data: Buffer;
}

/** A refusal: the notify to send (RFC 2408 section 3.14.1) and why, for the log. */
export interface AuthRefusal {
  readonly refused: true;
  readonly notify: number;
  readonly reason: string;
}

/** Our side for a rule and an authentication method. */
export interface OwnCredential {
  readonly refused?: false;
  /** The private key's id in the crypto pool. */
  readonly keyId: string;
  readonly keyType: "rsa" | "dsa";
  /** The ID payload we present (local_id_type, chosen among the certificate's identities by local_id). */
  readonly id: IdentityValue;
  /** Our certificate (DER) first, then the CA certificates below the root that issued it. */
  readonly chain: readonly Buffer[];
  /** Our certificate's subject, for logs. */
  readonly subject: string;
}

/** The peer's side, once its certificate validated and its ID matched it and the rule. */
export interface PeerCredential {
  readonly refused?: false;
  /** SubjectPublicKeyInfo (DER) of the peer's certificate: what its signature is checked with. */
  readonly publicKey: Buffer;
  readonly keyType: "rsa" | "dsa";
  /** The certificate's subject, for logs and `ikeadm dump p1`. */
  readonly subject: string;
  /** The certificate (DER): RSA encryption's HASH(1) names it. */
  readonly certificate?: Buffer;
  /**
   * The exchange authenticated the peer with this certificate (its signature verified, or its
   * hash): keep the validated certificates (the certificate cache). Called at most once.
   */
  remember(): void;
}

/** A CERT payload as received (RFC 2408 section 3.9): encoding and data. */
export interface CertData {
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** The certificate layer, as Phase 1 asks it. Methods are the auth method numbers (2, 3, 4). */
export interface Phase1Credentials {
  /**
   * The CA names (DER) our CERTREQ payloads carry for `rule` (RFC 4945 section 3.2): the subjects
   * of the `cert_root` CAs. Empty: we send no CERTREQ (only `cert_trust` certificates, held on disk).
   */
  certRequests(rule: ResolvedRule): readonly Buffer[];
  /** Our credential for `rule` and `method`, or why we have none. */
  own(rule: ResolvedRule, method: number): OwnCredential | AuthRefusal;
  /**
   * The peer's certificate for `id`: the one among `certs` (its CERT payloads) that backs the ID,
   * or, when it sent none, one held on disk or in the certificate cache; validated for `method`,
   * with `id` matched against it and the rule's `remote_id`.
   */
  peer(rule: ResolvedRule, method: number, id: IdentityValue, certs: readonly CertData[], options?: PortCallOptions): Promise<PeerCredential | AuthRefusal>;
  /**
   * RSA encryption (RFC 2409 section 5.2): the peer's certificate before it has said who it is,
   * chosen by the rule's `remote_id` among the certificates on disk and in the cache; validated.
   */
  peerForEncryption(rule: ResolvedRule, options?: PortCallOptions): Promise<PeerCredential | AuthRefusal>;
  /**
   * Pre-shared keys: why the rule's `remote_id` refuses this (HASH-authenticated) ID, or null
   * (also null when the rule names no `remote_id`).
   */
  presharedPeerProblem(rule: ResolvedRule, id: IdentityValue): string | null;
}

/** The pool's answer for a key on a PKCS#11 token nobody logged in to (src/crypto/pkcs11.ts). */
export const KEY_LOCKED = "IKE_ERR_KEY_LOCKED";

/** Why a private-key operation failed, for the log line: a locked token says how to unlock it. */
export function keyFailure(op: string, keyId: string, code: string): string {
  return code === KEY_LOCKED ? `${op}: the private key ${keyId} is on a locked PKCS#11 token (ikeadm token login)` : `${op} with ${keyId}: ${code}`;
}

/** Whether a credential answer is a refusal. */
export function isRefusal(x: object): x is AuthRefusal {
  return (x as { readonly refused?: unknown }).refused === true;
}
