/**
 * The part of a Phase 1 exchange that depends on the authentication method (RFC 2409 sections
 * 5.1 and 5.4), behind one interface so Main Mode and Aggressive Mode run the same steps for
 * pre-shared keys and signatures:
 *
 * ```
 *              Main Mode                     Aggressive Mode
 *   requests   MM3, MM4: [CERTREQ...]        AM1, AM2: [CERTREQ...]
 *   localId    MM5 IDii, MM6 IDir            AM1 IDii, AM2 IDir
 *   derive     SKEYID after MM3/MM4          SKEYID after AM1/AM2
 *   prove      MM5/MM6: HASH | CERT... SIG   AM2, AM3: HASH | CERT... SIG
 *   verify     MM5/MM6                       AM2 (initiator), AM3 (responder)
 * ```
 *
 * Public key encryption (section 5.2) moves the ID and nonce into MM3/MM4 and has its own flow
 * (encryption.ts).
 */
import { Notify, PayloadType, type IdPayload, type Payload } from "../../codec/index.js";
import type { ResolvedRule } from "../../config/types.js";
import type { DhPort, Phase1Policy } from "../ports.js";
import type { IsakmpSa } from "../isakmp-sa.js";
import type { IkeLog } from "../log.js";
import type { Phase1Credentials, PubkeyPort } from "./credentials.js";
import type { Phase1Inputs } from "./phase1.js";

/** Why a step failed: the notify to send (if any) and the reason for the log. */
export interface AuthFailure {
  readonly failure: true;
  readonly notify?: number;
  readonly reason: string;
}

/** A failure value. */
export function authFailure(notify: number | undefined, reason: string): AuthFailure {
  return notify === undefined ? { failure: true, reason } : { failure: true, notify, reason };
}

/** Whether a result is a failure. */
export function isFailure(x: unknown): x is AuthFailure {
  return typeof x === "object" && x !== null && (x as { failure?: unknown }).failure === true;
}

/** What every authenticator works with. */
export interface AuthContext {
  readonly sa: IsakmpSa;
  readonly rule: ResolvedRule;
  readonly dh: DhPort;
  readonly policy: Phase1Policy;
  readonly log: IkeLog;
  /** Public-key work (signatures, RSA encryption) in the crypto pool; absent: certificate methods are refused. */
  readonly pubkey?: PubkeyPort;
  /** The certificate layer for this configuration; absent: certificate methods are refused. */
  readonly credentials?: Phase1Credentials;
}

/** The method-specific steps of Main and Aggressive Mode. */
export interface Authenticator {
  /** The authentication method number (attribute class 3). */
  readonly method: number;
  /** CERTREQ payloads to send beside KE (MM3/MM4) or in AM1/AM2. */
  requests(): Payload[];
  /** The peer's payloads of MM3/MM4/MM5/AM1/AM2: a CERTREQ among them asks for our certificate. */
  noteRequests(payloads: readonly Payload[]): void;
  /** Our ID payload; for pre-shared keys, after the key was found. */
  localId(): IdPayload | AuthFailure;
  /** Our ID as text, for logs and `ikeadm dump p1`. */
  localIdText(): string;
  /** SKEYID and its children into the SA's Keymat (g^xy given by the responder, computed otherwise). */
  derive(group: number, x: Phase1Inputs, gxy?: Buffer): Promise<AuthFailure | null>;
  /** Our proof over HASH_I or HASH_R: `[HASH]`, or `[CERT..., SIG]`. */
  prove(hash: Buffer): Promise<Payload[] | AuthFailure>;
  /** The peer's proof of `expected` in `payloads`, for its ID `id`: the peer's identity text, or why not. */
  verify(id: IdPayload, payloads: readonly Payload[], expected: Buffer): Promise<string | AuthFailure>;
}

/** The unprotected ISAKMP notify for a missing payload the method needs. */
export const missing = (what: string): AuthFailure => authFailure(Notify.PayloadMalformed, `${what} missing`);

/** The ID payload for an identity value (RFC 2407 section 4.6.2: protocol and port zero in Phase 1). */
export function idPayload(idType: number, data: Buffer): IdPayload {
  return { type: PayloadType.ID, idType, protocolId: 0, port: 0, data };
}
