/**
 * Main Mode with public key encryption, RSA (RFC 2409 section 5.2, auth method 4, `rsa_encrypt`):
 *
 * ```
 *  MM3  HDR, KE, [ HASH(1), ] <IDii_b>PubKey_r, <Ni_b>PubKey_r  -->
 *  MM4                        <--  HDR, KE, <IDir_b>PubKey_i, <Nr_b>PubKey_i
 *  MM5  HDR*, HASH_I          -->
 *  MM6                        <--  HDR*, HASH_R
 *
 *  SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)
 * ```
 *
 * The ID and NONCE payload bodies are RSA PKCS#1 v1.5 ciphertext; the codec decodes them by
 * layout only (the dispatcher asks `sealed`), and the plaintext is decoded strictly here. HASH(1)
 * is the hash of the responder's certificate the initiator encrypted to. Only the holder of the
 * private key can read the nonce, so proving knowledge of SKEYID (HASH_I/HASH_R) authenticates.
 *
 * The initiator must hold the responder's certificate before it starts (on disk, or in the
 * certificate cache), chosen by the rule's `remote_id`; the responder finds the initiator's by the
 * ID it decrypts. Encryption and decryption run in the crypto pool; decryption uses implicit
 * rejection, so a forged ciphertext yields a random plaintext (refused as a malformed ID or a
 * wrong nonce length, or later as a HASH mismatch), never a padding oracle.
 *
 * Revised mode (section 5.3, method 5) is not implemented: ike.config has no keyword for it.
 */
import { GENERIC_HEADER_LENGTH, NONCE_MAX, NONCE_MIN, Notify, PayloadType, decodePayloads, type IdPayload, type Payload } from "../../codec/index.js";
import type { AbortLike } from "../../crypto/abort-like.js";
import { hash } from "../../crypto/prf.js";
import { authFailure, idPayload, missing, type AuthContext, type AuthFailure } from "./authenticator.js";
import { isRefusal, KEY_LOCKED, keyFailure, type OwnCredential, type PeerCredential, type Phase1Credentials, type PubkeyPort } from "./credentials.js";
import { idProtocolProblem } from "./identity.js";
import { deriveKeys, first, payloadBody, type Phase1Inputs } from "./phase1.js";

/** An ID payload whose body is `ciphertext` (encodes to exactly those bytes). */
function sealedId(ciphertext: Buffer): IdPayload {
  return { type: PayloadType.ID, idType: ciphertext[0]!, protocolId: ciphertext[1]!, port: ciphertext.readUInt16BE(2), data: ciphertext.subarray(4) };
}

/** The plaintext ID body decoded as an ID payload, strictly. */
function openId(plaintext: Buffer): IdPayload | undefined {
  const len = GENERIC_HEADER_LENGTH + plaintext.length;
  const framed = Buffer.concat([Buffer.from([0, 0, len >> 8, len & 0xff]), plaintext]);
  const r = decodePayloads(PayloadType.ID, framed);
  return r.ok && r.value.length === 1 && r.value[0]!.type === PayloadType.ID ? r.value[0]! : undefined;
}

/** RSA encryption for one Main Mode exchange. */
export class PublicKeyEncryption {
  private readonly own: OwnCredential;
  private readonly credentials: Phase1Credentials;
  private readonly pubkey: PubkeyPort;
  private peer: PeerCredential | undefined;
  private ownId: IdPayload | undefined;
  private peerId: IdPayload | undefined;

  /** Throws when `usableMethods` did not offer RSA encryption (a bug: the choice came from that list). */
  constructor(
    private readonly ctx: AuthContext,
    private readonly method: number,
  ) {
    if (ctx.credentials === undefined || ctx.pubkey === undefined) throw new Error("RSA encryption without credentials");
    const own = ctx.credentials.own(ctx.rule, method);
    if (isRefusal(own)) throw new Error(`RSA encryption without a credential: ${own.reason}`);
    this.own = own;
    this.credentials = ctx.credentials;
    this.pubkey = ctx.pubkey;
  }

  private get signal(): AbortLike {
    return this.ctx.sa.abort.signal;
  }

  /** Initiator, MM3: HASH(1), then our ID and nonce encrypted to the responder's certificate. */
  async sealI(nonceI: Buffer): Promise<Payload[] | AuthFailure> {
    const peer = await this.credentials.peerForEncryption(this.ctx.rule, { signal: this.signal });
    if (isRefusal(peer)) return authFailure(undefined, peer.reason);
    this.peer = peer;
    const sealed = await this.seal(nonceI);
    if (!Array.isArray(sealed)) return sealed;
    const h = this.ctx.sa.keymat!.suite.hash;
    return peer.certificate === undefined ? sealed : [{ type: PayloadType.HASH, data: hash(h, peer.certificate) }, ...sealed];
  }

  /** Responder, MM3: the initiator's ID and nonce decrypted, its certificate found and validated. Ni_b, or why not. */
  async openR(payloads: readonly Payload[]): Promise<Buffer | AuthFailure> {
    const h1 = first(payloads, PayloadType.HASH);
    if (h1 !== undefined && !this.ctx.sa.keymat!.verifyHash(h1.data, hash(this.ctx.sa.keymat!.suite.hash, this.own.chain[0]!))) {
      return authFailure(Notify.InvalidHashInformation, "HASH(1) names a certificate other than ours");
    }
    const opened = await this.open(payloads, "IDii");
    if (!Buffer.isBuffer(opened)) return opened;
    const peer = await this.credentials.peer(this.ctx.rule, this.method, this.peerId!, [], { signal: this.signal });
    if (isRefusal(peer)) return authFailure(peer.notify, peer.reason);
    this.peer = peer;
    return opened;
  }

  /** Responder, MM4: our ID and nonce encrypted to the initiator's certificate. */
  sealR(nonceR: Buffer): Promise<Payload[] | AuthFailure> {
    return this.seal(nonceR);
  }

  /** Initiator, MM4: the responder's ID and nonce decrypted; the ID must name the certificate we encrypted to. Nr_b, or why not. */
  async openI(payloads: readonly Payload[]): Promise<Buffer | AuthFailure> {
    const opened = await this.open(payloads, "IDir");
    if (!Buffer.isBuffer(opened)) return opened;
    const named = await this.credentials.peer(this.ctx.rule, this.method, this.peerId!, [], { signal: this.signal });
    if (isRefusal(named)) return authFailure(named.notify, named.reason);
    if (!named.publicKey.equals(this.peer!.publicKey)) return authFailure(Notify.InvalidIdInformation, `IDir names "${named.subject}", not "${this.peer!.subject}" we encrypted to`);
    return opened;
  }

  /** SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R) and its children. */
  async derive(group: number, x: Phase1Inputs, gxy?: Buffer): Promise<AuthFailure | null> {
    const d = await deriveKeys(this.ctx, group, x, "encryption", gxy);
    if (d === "dh") return authFailure(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (d === "gone") return authFailure(undefined, "SA destroyed during DH");
    return null;
  }

  /** IDii_b or IDir_b of our side, as it entered the ciphertext (HASH_I/HASH_R take it). */
  localIdBody(): Buffer {
    return payloadBody(this.localId());
  }

  /** The peer's ID body, decrypted. */
  peerIdBody(): Buffer {
    return payloadBody(this.peerId!);
  }

  /** MM5/MM6: the peer's HASH_I/HASH_R against `expected`; the peer's identity text, or why not. */
  verify(payloads: readonly Payload[], expected: Buffer): string | AuthFailure {
    const which = this.ctx.sa.role === "initiator" ? "HASH_R" : "HASH_I";
    const h = first(payloads, PayloadType.HASH);
    if (h === undefined) return missing(which);
    if (!this.ctx.sa.keymat!.verifyHash(h.data, expected)) return authFailure(Notify.AuthenticationFailed, `${which} does not verify (the peer could not decrypt our nonce?)`);
    this.peer!.remember();
    return this.peer!.subject;
  }

  localIdText(): string {
    return this.own.subject;
  }

  private localId(): IdPayload {
    this.ownId ??= idPayload(this.own.id.idType, this.own.id.data);
    return this.ownId;
  }

  private async seal(nonce: Buffer): Promise<Payload[] | AuthFailure> {
    const key = this.peer!.publicKey;
    const [id, n] = await Promise.all([
      this.pubkey.encrypt(key, this.localIdBody(), { signal: this.signal }),
      this.pubkey.encrypt(key, nonce, { signal: this.signal }),
    ]);
    if (!id.ok || !n.ok) return authFailure(undefined, `RSA encryption to "${this.peer!.subject}": ${(!id.ok ? id : (n as { error: { code: string } })).error.code}`);
    return [sealedId(id.value), { type: PayloadType.NONCE, data: n.value }];
  }

  /** The peer's sealed ID and nonce, decrypted with our key: the nonce, or why not (the ID is kept). */
  private async open(payloads: readonly Payload[], which: string): Promise<Buffer | AuthFailure> {
    const idP = first(payloads, PayloadType.ID);
    const nonceP = first(payloads, PayloadType.NONCE);
    if (idP?.raw === undefined || nonceP?.raw === undefined) return missing(`${which} or nonce`);
    const [id, nonce] = await Promise.all([
      this.pubkey.decrypt(this.own.keyId, idP.raw.body, { signal: this.signal }),
      this.pubkey.decrypt(this.own.keyId, nonceP.raw.body, { signal: this.signal }),
    ]);
    const failed = !id.ok ? id : !nonce.ok ? nonce : undefined;
    if (failed !== undefined && failed.error.code === KEY_LOCKED) return authFailure(undefined, keyFailure("decrypting", this.own.keyId, KEY_LOCKED));
    // Other errors come from public facts only (a ciphertext as long as the modulus or longer).
    if (!id.ok || !nonce.ok) return authFailure(Notify.PayloadMalformed, `${which} or nonce is not a ciphertext for our key`);
    const decoded = openId(id.value);
    const problem = decoded === undefined ? `${which} does not decrypt to an ID payload` : idProtocolProblem(decoded);
    if (problem !== null) return authFailure(Notify.InvalidIdInformation, problem);
    if (nonce.value.length < NONCE_MIN || nonce.value.length > NONCE_MAX) return authFailure(Notify.PayloadMalformed, `nonce decrypts to ${nonce.value.length} bytes`);
    this.peerId = decoded;
    return nonce.value;
  }
}
