/**
 * Main Mode (Identity Protection exchange), RFC 2409 sections 5.1 and 5.4 on RFC 2408 section 4.5,
 * with pre-shared keys or signatures (the method's steps: authenticator.ts):
 *
 * ```
 *      Initiator                          Responder
 *     -----------                        -----------
 *  MM1  HDR, SA                     -->
 *  MM2                              <--   HDR, SA
 *  MM3  HDR, KE, Ni [, CR...]       -->
 *  MM4                              <--   HDR, KE, Nr [, CR...]
 *  MM5  HDR*, IDii, AUTH_I [, N(INITIAL-CONTACT)] -->
 *  MM6                              <--   HDR*, IDir, AUTH_R
 * ```
 *
 * AUTH is HASH_I/HASH_R with a pre-shared key, [CERT...] SIG_I/SIG_R with signatures. With RSA
 * encryption (section 5.2) the ID and nonces move into MM3/MM4: encryption.ts runs those steps.
 *
 * A task object per exchange, after strongSwan's main_mode.c: the initiator runs `buildI` then
 * `processI` for each answer, the responder `processR` for each request; each step returns the
 * next message (`more`), the last one (`done`) or `fail` with the notify to send. The engine does
 * the I/O, encryption, retransmission and SA lifecycle; this class only reads typed payloads.
 *
 * SKEYID is derived after MM3/MM4 (the responder needs it to decrypt MM5), so a pre-shared key is
 * chosen by the peer's address, as the original does.
 */
import { AuthMethod, Doi, ExchangeType, Notify, PayloadType, ProtocolId, type Header, type IdPayload, type MessagePosition, type Payload } from "../../codec/index.js";
import { Phase1Keymat, phase1Suite } from "../../crypto/keymat.js";
import { isFailure, type AuthContext, type AuthFailure, type Authenticator } from "./authenticator.js";
import { PublicKeyEncryption } from "./encryption.js";
import { authenticatorFor, usableMethods } from "./methods.js";
import { all, buildSaPayload, first, generateKe, offeredTransforms, payloadBody, respondKe, SA_KEY_MEMORY } from "./phase1.js";
import { answerMm1, type Mm1Record } from "./mm1.js";
import { dpdVendorIds } from "../dpd.js";
import {
  DEFAULT_P1_LIFETIME_SECS,
  matchP1Reply,
  transformsFromXforms,
  type P1Choice,
  type P1Transform,
} from "./proposal.js";

/** Where a Main Mode task is. */
export type MainModeState = "start" | "mm1-sent" | "mm3-sent" | "mm5-sent" | "mm2-sent" | "mm4-sent" | "done" | "failed";

import type { Outgoing, Step } from "../step.js";
export type { Outgoing, Step } from "../step.js";

/** What the task needs from the engine. */
export interface Phase1Context extends AuthContext {
  /** Random bytes for nonces (tests pass a deterministic source). */
  readonly random: (n: number) => Buffer;
  /**
   * Whether we hold state with this peer: another ISAKMP SA up, or IPsec SAs of ours with it still
   * in the kernel (whatever became of their ISAKMP SA). Then INITIAL-CONTACT is not sent.
   */
  readonly stateWithPeer: () => boolean;
  /** Default Phase 1 lifetime for transforms without their own (ike.config `p1_lifetime_secs`). */
  readonly defaultLifeSecs?: number;
}

/** What an established exchange agreed on. */
export interface Phase1Result {
  readonly transform: P1Transform;
  readonly keyBits: number;
  readonly lifeSecs: number;
  readonly localId: string;
  readonly peerId: string;
  /** The peer sent INITIAL-CONTACT: its older SAs with us are stale. */
  readonly initialContact: boolean;
}

const fail = (notify: number | undefined, reason: string): Step =>
  notify === undefined ? { kind: "fail", reason } : { kind: "fail", notify, reason };

/** One Main Mode exchange, initiator or responder. */
export class MainMode {
  readonly role: "initiator" | "responder";
  readonly exchangeType = ExchangeType.IdentityProtection;
  private st: MainModeState = "start";
  private proposed: P1Transform[] = [];
  private choice: P1Choice | undefined;
  private auth: Authenticator | undefined;
  /** Set instead of `auth` for RSA encryption, whose MM3..MM6 differ (encryption.ts). */
  private enc: PublicKeyEncryption | undefined;
  private saiB: Buffer | undefined;
  private nonceI: Buffer | undefined;
  private nonceR: Buffer | undefined;
  private gxi: Buffer | undefined;
  private gxr: Buffer | undefined;
  private res: Phase1Result | undefined;

  constructor(private readonly ctx: Phase1Context) {
    this.role = ctx.sa.role;
  }

  get state(): MainModeState {
    return this.st;
  }

  /** The message this task waits for, for the codec's payload rules; undefined when it waits for none. */
  expected(): MessagePosition | undefined {
    const pos = this.position();
    return this.enc !== undefined && pos !== undefined && pos !== "MM1" && pos !== "MM2" ? (`${pos}_ENC` as MessagePosition) : pos;
  }

  /** With RSA encryption, MM3 (responder) and MM4 (initiator) carry ID and NONCE as ciphertext. */
  sealed(header: Header): readonly number[] | undefined {
    const next = this.st === "mm2-sent" || this.st === "mm3-sent";
    return this.enc !== undefined && next && header.exchangeType === this.exchangeType ? [PayloadType.ID, PayloadType.NONCE] : undefined;
  }

  private position(): "MM1" | "MM2" | "MM3" | "MM4" | "MM5" | "MM6" | undefined {
    switch (this.st) {
      case "start":
        return this.role === "responder" ? "MM1" : undefined;
      case "mm1-sent":
        return "MM2";
      case "mm3-sent":
        return "MM4";
      case "mm5-sent":
        return "MM6";
      case "mm2-sent":
        return "MM3";
      case "mm4-sent":
        return "MM5";
      case "done":
      case "failed":
        return undefined;
      default: {
        const never: never = this.st;
        return never;
      }
    }
  }

  /** Set once the exchange is done. */
  get result(): Phase1Result | undefined {
    return this.res;
  }

  // ---------------------------------------------------------------- initiator

  /** MM1: our proposals, for the methods we hold what they need. */
  buildI(): Step {
    if (this.role !== "initiator" || this.st !== "start") return fail(undefined, `buildI in ${this.st}`);
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const { methods, problems } = usableMethods(this.ctx);
    this.proposed = transformsFromXforms(this.ctx.rule.p1Xforms, life).filter((t) => methods.includes(t.auth));
    if (this.proposed.length === 0) return this.failed(undefined, `rule has no usable p1_xform${problems.length > 0 ? `: ${problems.join("; ")}` : ""}`);
    const sa = buildSaPayload(this.proposed);
    this.saiB = payloadBody(sa);
    this.st = "mm1-sent";
    return { kind: "more", reply: { payloads: [sa, ...dpdVendorIds(this.ctx.rule)], encrypt: false } };
  }

  /** MM2, MM4, MM6. */
  async processI(payloads: readonly Payload[]): Promise<Step> {
    switch (this.st) {
      case "mm1-sent":
        return this.onMm2(payloads);
      case "mm3-sent":
        return this.onMm4(payloads);
      case "mm5-sent":
        return this.onMm6(payloads);
      default:
        return fail(undefined, `initiator got a message in ${this.st}`);
    }
  }

  private async onMm2(payloads: readonly Payload[]): Promise<Step> {
    const sa = first(payloads, PayloadType.SA);
    if (sa === undefined) return this.failed(Notify.PayloadMalformed, "MM2 without SA");
    const offered = offeredTransforms(sa);
    if (offered.length !== 1 || sa.proposals.length !== 1) {
      return this.failed(Notify.BadProposalSyntax, `MM2 SA has ${offered.length} transforms, want 1`);
    }
    const choice = matchP1Reply(offered[0]!.attributes, this.proposed);
    if ("reasons" in choice) return this.failed(Notify.NoProposalChosen, `MM2: ${choice.reasons.join("; ")}`);
    this.chose(choice);
    const ke = await generateKe(this.ctx, choice.transform.group);
    if (typeof ke === "string") return this.failed(undefined, ke);
    this.gxi = ke;
    this.nonceI = this.ctx.random(this.ctx.rule.p1NonceLen);
    const rest = this.enc !== undefined ? await this.enc.sealI(this.nonceI) : [{ type: PayloadType.NONCE, data: this.nonceI }, ...this.auth!.requests()];
    if (isFailure(rest)) return this.failedWith(rest);
    this.st = "mm3-sent";
    return { kind: "more", reply: { payloads: [{ type: PayloadType.KE, keyData: this.gxi }, ...rest], encrypt: false } };
  }

  private async onMm4(payloads: readonly Payload[]): Promise<Step> {
    const ke = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (ke === undefined || nonce === undefined) return this.failed(Notify.PayloadMalformed, "MM4 without KE or nonce");
    this.gxr = Buffer.from(ke.keyData);
    if (this.enc !== undefined) return this.onMm4Enc(this.enc, payloads);
    this.nonceR = Buffer.from(nonce.data);
    const auth = this.auth!;
    auth.noteRequests(payloads);
    const derived = await auth.derive(this.choice!.transform.group, this.inputs());
    if (derived !== null) return this.failedWith(derived);
    const id = auth.localId();
    if (isFailure(id)) return this.failedWith(id);
    const sa = this.ctx.sa;
    const proof = await auth.prove(sa.keymat!.hashI(this.saiB!, payloadBody(id)));
    if (isFailure(proof)) return this.failedWith(proof);
    const out: Payload[] = [id, ...proof];
    return this.mm5(out);
  }

  /** RSA encryption, MM4: decrypt the responder's ID and nonce, derive; MM5 is HASH_I alone. */
  private async onMm4Enc(enc: PublicKeyEncryption, payloads: readonly Payload[]): Promise<Step> {
    const nonceR = await enc.openI(payloads);
    if (isFailure(nonceR)) return this.failedWith(nonceR);
    this.nonceR = nonceR;
    const derived = await enc.derive(this.choice!.transform.group, this.inputs());
    if (derived !== null) return this.failedWith(derived);
    return this.mm5([{ type: PayloadType.HASH, data: this.ctx.sa.keymat!.hashI(this.saiB!, enc.localIdBody()) }]);
  }

  /**
   * MM5: `out`, and INITIAL-CONTACT unless we hold state with the peer. RFC 2407 section 4.6.3.3:
   * it says that this is the first SA with the peer, whose receiver then deletes what it holds
   * with us as stale. IPsec SAs that outlived their ISAKMP SA are not stale: the soft EXPIRE that
   * renegotiates them comes here first, and the peer would delete the pair still carrying the
   * traffic before the Quick Mode could rekey it.
   */
  private mm5(out: Payload[]): Step {
    const sa = this.ctx.sa;
    if (!this.ctx.stateWithPeer()) {
      // RFC 2407 section 4.6.3.3: SPI is CKY-I | CKY-R, protocol ISAKMP, no data.
      out.push({
        type: PayloadType.N,
        doi: Doi.Ipsec,
        protocolId: ProtocolId.ISAKMP,
        notifyType: Notify.InitialContact,
        spi: Buffer.concat([sa.icookie, sa.rcookie]),
        data: Buffer.alloc(0),
      });
    }
    this.st = "mm5-sent";
    return { kind: "more", reply: { payloads: out, encrypt: true } };
  }

  private async onMm6(payloads: readonly Payload[]): Promise<Step> {
    if (this.enc !== undefined) {
      const peer = this.enc.verify(payloads, this.ctx.sa.keymat!.hashR(this.saiB!, this.enc.peerIdBody()));
      if (isFailure(peer)) return this.failedWith(peer);
      this.finish(peer, false);
      return { kind: "done" };
    }
    const id = first(payloads, PayloadType.ID);
    if (id === undefined) return this.failed(Notify.PayloadMalformed, "MM6 without ID");
    const peer = await this.auth!.verify(id, payloads, this.ctx.sa.keymat!.hashR(this.saiB!, payloadBody(id)));
    if (isFailure(peer)) return this.failedWith(peer);
    this.finish(peer, false);
    return { kind: "done" };
  }

  // ---------------------------------------------------------------- responder

  /** MM1, MM3, MM5. */
  async processR(payloads: readonly Payload[]): Promise<Step> {
    switch (this.st) {
      case "start":
        return this.onMm1(payloads);
      case "mm2-sent":
        return this.onMm3(payloads);
      case "mm4-sent":
        return this.onMm5(payloads);
      default:
        return fail(undefined, `responder got a message in ${this.st}`);
    }
  }

  private onMm1(payloads: readonly Payload[]): Step {
    const answer = answerMm1(payloads, this.ctx.rule, usableMethods(this.ctx), this.ctx.defaultLifeSecs);
    if ("notify" in answer) return this.failed(answer.notify, answer.reason);
    this.resumeR(answer);
    return { kind: "more", reply: { payloads: [...answer.reply], encrypt: false } };
  }

  /**
   * Responder: take the exchange up in state "mm2-sent" from an MM1 answered before this SA
   * existed (src/ike/admission.ts answers MM1 with no state but a compact embryonic record).
   */
  resumeR(mm1: Mm1Record): void {
    this.saiB = Buffer.from(mm1.saiB);
    this.chose(mm1.choice);
    this.st = "mm2-sent";
  }

  private async onMm3(payloads: readonly Payload[]): Promise<Step> {
    const ke = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (ke === undefined || nonce === undefined) return this.failed(Notify.PayloadMalformed, "MM3 without KE or nonce");
    this.gxi = Buffer.from(ke.keyData);
    const enc = this.enc;
    const auth = this.auth;
    if (enc !== undefined) {
      const nonceI = await enc.openR(payloads);
      if (isFailure(nonceI)) return this.failedWith(nonceI);
      this.nonceI = nonceI;
    } else {
      this.nonceI = Buffer.from(nonce.data);
      auth!.noteRequests(payloads);
    }
    const mine = await respondKe(this.ctx, this.choice!.transform.group, this.gxi);
    if (mine === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (typeof mine === "string") return this.failed(undefined, mine);
    this.gxr = mine.gxr;
    this.nonceR = this.ctx.random(this.ctx.rule.p1NonceLen);
    const derived = await (enc ?? auth!).derive(this.choice!.transform.group, this.inputs(), mine.gxy);
    if (derived !== null) return this.failedWith(derived);
    const rest = enc !== undefined ? await enc.sealR(this.nonceR) : [{ type: PayloadType.NONCE, data: this.nonceR }, ...auth!.requests()];
    if (isFailure(rest)) return this.failedWith(rest);
    this.st = "mm4-sent";
    return { kind: "more", reply: { payloads: [{ type: PayloadType.KE, keyData: this.gxr }, ...rest], encrypt: false } };
  }

  private async onMm5(payloads: readonly Payload[]): Promise<Step> {
    const sa = this.ctx.sa;
    if (this.enc !== undefined) {
      const peer = this.enc.verify(payloads, sa.keymat!.hashI(this.saiB!, this.enc.peerIdBody()));
      if (isFailure(peer)) return this.failedWith(peer);
      this.finish(peer, all(payloads, PayloadType.N).some((n) => n.notifyType === Notify.InitialContact));
      return { kind: "done", reply: { payloads: [{ type: PayloadType.HASH, data: sa.keymat!.hashR(this.saiB!, this.enc.localIdBody()) }], encrypt: true } };
    }
    const id = first(payloads, PayloadType.ID);
    if (id === undefined) return this.failed(Notify.PayloadMalformed, "MM5 without ID");
    const auth = this.auth!;
    // strongSwan sends its CERTREQ with MM5, not MM3: it still asks for our certificate in MM6.
    auth.noteRequests(payloads);
    const peer = await auth.verify(id, payloads, sa.keymat!.hashI(this.saiB!, payloadBody(id)));
    if (isFailure(peer)) return this.failedWith(peer);
    const initialContact = all(payloads, PayloadType.N).some((n) => n.notifyType === Notify.InitialContact);
    const own: IdPayload | AuthFailure = auth.localId();
    if (isFailure(own)) return this.failedWith(own);
    const proof = await auth.prove(sa.keymat!.hashR(this.saiB!, payloadBody(own)));
    if (isFailure(proof)) return this.failedWith(proof);
    this.finish(peer, initialContact);
    return { kind: "done", reply: { payloads: [own, ...proof], encrypt: true } };
  }

  // ---------------------------------------------------------------- shared

  /** The transform is chosen: its lifetime, the SA's key holder, the method's authenticator. */
  private chose(choice: P1Choice): void {
    this.choice = choice;
    const t = choice.transform;
    this.ctx.sa.lifeSecs = choice.lifeSecs;
    this.ctx.sa.keymat = new Phase1Keymat(phase1Suite(t.encr, choice.keyBits, t.hash), SA_KEY_MEMORY);
    if (t.auth === AuthMethod.RsaEncryption) this.enc = new PublicKeyEncryption(this.ctx, t.auth);
    else this.auth = authenticatorFor(this.ctx, t.auth);
  }

  private inputs() {
    return { nonceI: this.nonceI!, nonceR: this.nonceR!, gxi: this.gxi!, gxr: this.gxr! };
  }

  private finish(peerId: string, initialContact: boolean): void {
    const c = this.choice!;
    this.res = {
      transform: c.transform,
      keyBits: c.keyBits,
      lifeSecs: c.lifeSecs,
      localId: (this.enc ?? this.auth!).localIdText(),
      peerId,
      initialContact,
    };
    this.st = "done";
  }

  private failedWith(f: AuthFailure): Step {
    return this.failed(f.notify, f.reason);
  }

  private failed(notify: number | undefined, reason: string): Step {
    this.st = "failed";
    return fail(notify, reason);
  }
}
