/**
 * Signature authentication, DSS and RSA (RFC 2409 section 5.1):
 *
 * ```
 *   SKEYID = prf(Ni_b | Nr_b, g^xy)
 *   MM5   HDR*, IDii, [ CERT, ] SIG_I         AM2  ..., IDir, [ CERT, ] SIG_R
 *   MM6   HDR*, IDir, [ CERT, ] SIG_R         AM3  HDR*, [ CERT, ] SIG_I
 * ```
 *
 * SIG_I/SIG_R sign HASH_I/HASH_R themselves (RSA: PKCS#1 type 1 without DigestInfo; DSS: r|s),
 * with our private key in the crypto pool, named by its key id. The peer's signature is checked in
 * the pool too, with the public key of its certificate once the certificate layer validated it and
 * matched the ID payload and the rule's `remote_id` against it.
 *
 * CERT and CERTREQ (RFC 4945 section 3.2): we send CERTREQ payloads naming our `cert_root` CAs
 * beside our KE (MM3/MM4) or in AM1/AM2, and send our certificate chain when the peer asked with a
 * CERTREQ of its own, in MM3/MM4/AM1/AM2 or, as strongSwan does, in MM5 (strongSwan and
 * Libreswan's `ifasked`): a peer that asks for nothing has our certificate already.
 */
import { CertEncoding, Notify, PayloadType, type IdPayload, type Payload } from "../../codec/index.js";
import { authFailure, idPayload, missing, type AuthContext, type AuthFailure, type Authenticator } from "./authenticator.js";
import { isRefusal, keyFailure, type OwnCredential, type Phase1Credentials, type PubkeyPort } from "./credentials.js";
import { idProtocolProblem } from "./identity.js";
import { all, deriveKeys, first, type Phase1Inputs } from "./phase1.js";

/** DSS or RSA signatures, for one exchange. */
export class SignatureAuthenticator implements Authenticator {
  private readonly own: OwnCredential;
  private readonly credentials: Phase1Credentials;
  private readonly pubkey: PubkeyPort;
  /** The peer sent a CERTREQ: it wants our certificate. */
  private asked = false;

  /** Throws when `usableMethods` did not offer `method` (a bug: the choice came from that list). */
  constructor(
    private readonly ctx: AuthContext,
    readonly method: number,
  ) {
    if (ctx.credentials === undefined || ctx.pubkey === undefined) throw new Error("signature authentication without credentials");
    const own = ctx.credentials.own(ctx.rule, method);
    if (isRefusal(own)) throw new Error(`signature authentication without a credential: ${own.reason}`);
    this.own = own;
    this.credentials = ctx.credentials;
    this.pubkey = ctx.pubkey;
  }

  requests(): Payload[] {
    return this.credentials.certRequests(this.ctx.rule).map((ca) => ({ type: PayloadType.CR, encoding: CertEncoding.X509Signature, authority: ca }));
  }

  noteRequests(payloads: readonly Payload[]): void {
    if (payloads.some((p) => p.type === PayloadType.CR)) this.asked = true;
  }

  localId(): IdPayload {
    return idPayload(this.own.id.idType, this.own.id.data);
  }

  localIdText(): string {
    return this.own.subject;
  }

  async derive(group: number, x: Phase1Inputs, gxy?: Buffer): Promise<AuthFailure | null> {
    const d = await deriveKeys(this.ctx, group, x, "signature", gxy);
    if (d === "dh") return authFailure(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (d === "gone") return authFailure(undefined, "SA destroyed during DH");
    return null;
  }

  async prove(hash: Buffer): Promise<Payload[] | AuthFailure> {
    const r = await this.pubkey.sign(this.own.keyId, hash, { signal: this.ctx.sa.abort.signal });
    if (!r.ok) return authFailure(undefined, keyFailure("signing", this.own.keyId, r.error.code));
    const certs: Payload[] = this.asked
      ? this.own.chain.map((der) => ({ type: PayloadType.CERT, encoding: CertEncoding.X509Signature, data: der }))
      : [];
    return [...certs, { type: PayloadType.SIG, data: r.value }];
  }

  async verify(id: IdPayload, payloads: readonly Payload[], expected: Buffer): Promise<string | AuthFailure> {
    const { sa, rule } = this.ctx;
    const which = sa.role === "initiator" ? "SIG_R" : "SIG_I";
    const sig = first(payloads, PayloadType.SIG);
    if (sig === undefined) return missing(which);
    const proto = idProtocolProblem(id);
    if (proto !== null) return authFailure(Notify.InvalidIdInformation, proto);
    const signal = sa.abort.signal;
    const certs = all(payloads, PayloadType.CERT);
    const peer = await this.credentials.peer(rule, this.method, { idType: id.idType, data: id.data }, certs, { signal });
    if (isRefusal(peer)) return authFailure(peer.notify, peer.reason);
    const r = await this.pubkey.verify(peer.publicKey, expected, sig.data, { signal });
    if (!r.ok) return authFailure(Notify.InvalidSignature, `${which}: ${r.error.code}`);
    if (!r.value) return authFailure(Notify.InvalidSignature, `${which} does not verify with the key of "${peer.subject}"`);
    peer.remember();
    return peer.subject;
  }
}
