/**
 * Aggressive Mode, RFC 2409 sections 5.1 and 5.4 on RFC 2408 section 4.7, with pre-shared keys or
 * signatures (the method's steps: authenticator.ts):
 *
 * ```
 *      Initiator                          Responder
 *     -----------                        -----------
 *  AM1  HDR, SA, KE, Ni, IDii [, CR...]  -->
 *  AM2                              <--   HDR, SA, KE, Nr, IDir [, CR...], AUTH_R
 *  AM3  HDR[*], AUTH_I              -->
 * ```
 *
 * AUTH is HASH_I/HASH_R with a pre-shared key, [CERT...] SIG_I/SIG_R with signatures. The
 * initiator presents its identity in AM1, before any choice, so it offers transforms of one
 * method (and, for the one KE, one group): those of its first usable `p1_xform`.
 *
 * Three messages, identities in the clear. With pre-shared keys the responder chooses the key by
 * AM1's identity (ike.preshared `ike_mode aggressive` or `both`), which is what Aggressive Mode is
 * for: peers without fixed addresses. AM3 is sent encrypted (as strongSwan does) and accepted
 * either way.
 *
 * Same task shape as Main Mode (src/ike/phase1/main-mode.ts): buildI/processI, processR.
 */
import { AuthMethod, ExchangeType, Notify, PayloadType, type IdPayload, type MessagePosition, type Payload, type SaPayload } from "../../codec/index.js";
import { Phase1Keymat, phase1Suite } from "../../crypto/keymat.js";
import type { Step } from "../step.js";
import { dpdVendorIds } from "../dpd.js";
import { isFailure, type AuthFailure, type Authenticator } from "./authenticator.js";
import type { Phase1Context, Phase1Result } from "./main-mode.js";
import { authenticatorFor, usableMethods } from "./methods.js";
import { buildSaPayload, echoSaPayload, first, generateKe, offeredTransforms, payloadBody, respondKe, SA_KEY_MEMORY } from "./phase1.js";
import { PskAuthenticator } from "./psk-auth.js";
import {
  DEFAULT_P1_LIFETIME_SECS,
  matchP1Reply,
  selectP1,
  transformsFromXforms,
  type P1Choice,
  type P1Transform,
} from "./proposal.js";

/**
 * The methods Aggressive Mode runs here: RSA encryption has an Aggressive Mode of its own (RFC 2409
 * section 5.2, ID and nonce encrypted in AM1) that is not implemented, so it is left out.
 */
function aggressiveMethods(ctx: Phase1Context): { methods: number[]; problems: string[] } {
  const u = usableMethods(ctx);
  if (!u.methods.includes(AuthMethod.RsaEncryption)) return u;
  return { methods: u.methods.filter((m) => m !== AuthMethod.RsaEncryption), problems: [...u.problems, "rsa_encrypt: Aggressive Mode with RSA encryption is not implemented"] };
}

/** Where an Aggressive Mode task is. */
export type AggressiveModeState = "start" | "am1-sent" | "am2-sent" | "done" | "failed";

/** One Aggressive Mode exchange, initiator or responder. */
export class AggressiveMode {
  readonly role: "initiator" | "responder";
  readonly exchangeType = ExchangeType.Aggressive;
  private st: AggressiveModeState = "start";
  private proposed: P1Transform[] = [];
  private choice: P1Choice | undefined;
  private auth: Authenticator | undefined;
  private saiB: Buffer | undefined;
  private nonceI: Buffer | undefined;
  private nonceR: Buffer | undefined;
  private gxi: Buffer | undefined;
  private gxr: Buffer | undefined;
  private localId: IdPayload | undefined;
  private peerId: IdPayload | undefined;
  private peerText = "";
  private res: Phase1Result | undefined;

  constructor(private readonly ctx: Phase1Context) {
    this.role = ctx.sa.role;
  }

  get state(): AggressiveModeState {
    return this.st;
  }

  get result(): Phase1Result | undefined {
    return this.res;
  }

  expected(): MessagePosition | undefined {
    if (this.st === "start") return this.role === "responder" ? "AM1" : undefined;
    if (this.st === "am1-sent") return "AM2";
    if (this.st === "am2-sent") return "AM3";
    return undefined;
  }

  // ---------------------------------------------------------------- initiator

  /** AM1: proposals (one method, one group), KE, Ni, IDii, our CERTREQs. */
  async buildI(): Promise<Step> {
    const sa = this.ctx.sa;
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const { methods, problems } = aggressiveMethods(this.ctx);
    const all = transformsFromXforms(this.ctx.rule.p1Xforms, life).filter((t) => methods.includes(t.auth));
    const lead = all[0];
    if (lead === undefined) return this.failed(undefined, `rule has no usable p1_xform${problems.length > 0 ? `: ${problems.join("; ")}` : ""}`);
    this.proposed = all.filter((t) => t.group === lead.group && t.auth === lead.auth);
    const auth = authenticatorFor(this.ctx, lead.auth);
    this.auth = auth;
    if (auth instanceof PskAuthenticator && !auth.findByAddress("aggressive")) return this.failed(undefined, `no aggressive-mode key for ${sa.remote.address}`);
    const id = auth.localId();
    if (isFailure(id)) return this.failedWith(id);
    this.localId = id;
    // The suite is fixed only by AM2; a provisional Keymat holds our DH private value until then.
    sa.keymat = new Phase1Keymat(phase1Suite(lead.encr, lead.keyBits, lead.hash), SA_KEY_MEMORY);
    const ke = await generateKe(this.ctx, lead.group);
    if (typeof ke === "string") return this.failed(undefined, ke);
    this.gxi = ke;
    this.nonceI = this.ctx.random(this.ctx.rule.p1NonceLen);
    const saPayload = buildSaPayload(this.proposed);
    this.saiB = payloadBody(saPayload);
    this.st = "am1-sent";
    const out: Payload[] = [saPayload, { type: PayloadType.KE, keyData: ke }, { type: PayloadType.NONCE, data: this.nonceI }, id, ...auth.requests(), ...dpdVendorIds(this.ctx.rule)];
    return { kind: "more", reply: { payloads: out, encrypt: false } };
  }

  /** AM2: check the choice, derive keys, verify the responder's proof; answer AM3 with ours. */
  async processI(payloads: readonly Payload[]): Promise<Step> {
    if (this.st !== "am1-sent") return this.failed(undefined, `initiator got a message in ${this.st}`);
    const sa = this.ctx.sa;
    const saPayload = first(payloads, PayloadType.SA)!;
    const offered = offeredTransforms(saPayload);
    if (offered.length !== 1) return this.failed(Notify.BadProposalSyntax, `AM2 SA has ${offered.length} transforms, want 1`);
    const choice = matchP1Reply(offered[0]!.attributes, this.proposed);
    if ("reasons" in choice) return this.failed(Notify.NoProposalChosen, `AM2: ${choice.reasons.join("; ")}`);
    this.choice = choice;
    sa.lifeSecs = choice.lifeSecs;
    const provisional = sa.keymat!;
    const chosenSuite = phase1Suite(choice.transform.encr, choice.keyBits, choice.transform.hash);
    if (chosenSuite.cipher !== provisional.suite.cipher || chosenSuite.keyBits !== provisional.suite.keyBits || chosenSuite.hash !== provisional.suite.hash) {
      const km = new Phase1Keymat(chosenSuite, SA_KEY_MEMORY);
      km.holdDhPrivate(provisional.dhPrivateForTask());
      provisional.destroy();
      sa.keymat = km;
    }
    this.gxr = Buffer.from(first(payloads, PayloadType.KE)!.keyData);
    this.nonceR = Buffer.from(first(payloads, PayloadType.NONCE)!.data);
    const id = first(payloads, PayloadType.ID)!;
    const auth = this.auth!;
    auth.noteRequests(payloads);
    const derived = await auth.derive(choice.transform.group, this.inputs());
    if (derived !== null) return this.failedWith(derived);
    const peer = await auth.verify(id, payloads, sa.keymat!.hashR(this.saiB!, payloadBody(id)));
    if (isFailure(peer)) return this.failedWith(peer);
    this.peerId = id;
    this.peerText = peer;
    const proof = await auth.prove(sa.keymat!.hashI(this.saiB!, payloadBody(this.localId!)));
    if (isFailure(proof)) return this.failedWith(proof);
    this.finish();
    return { kind: "done", reply: { payloads: proof, encrypt: true } };
  }

  // ---------------------------------------------------------------- responder

  /** AM1, AM3. */
  async processR(payloads: readonly Payload[]): Promise<Step> {
    if (this.st === "start") return this.onAm1(payloads);
    if (this.st === "am2-sent") return this.onAm3(payloads);
    return this.failed(undefined, `responder got a message in ${this.st}`);
  }

  /** AM1: the key by identity (pre-shared), choose, KE, derive; AM2 with our proof. */
  private async onAm1(payloads: readonly Payload[]): Promise<Step> {
    const sa = this.ctx.sa;
    const saPayload: SaPayload = first(payloads, PayloadType.SA)!;
    const id = first(payloads, PayloadType.ID)!;
    const { methods, problems } = aggressiveMethods(this.ctx);
    let psk: PskAuthenticator | undefined;
    if (methods.includes(AuthMethod.PreSharedKey)) {
      psk = new PskAuthenticator(this.ctx);
      const refused = psk.findByPeerId(id);
      if (refused !== null) return this.failedWith(refused);
    }
    const offered = offeredTransforms(saPayload);
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const choice = selectP1(offered.map((o) => o.attributes), this.ctx.rule.p1Xforms, methods, life);
    if ("reasons" in choice) {
      return this.failed(Notify.NoProposalChosen, `no acceptable transform: ${[...problems, ...choice.reasons].slice(0, 4).join("; ")}`);
    }
    this.choice = choice;
    this.saiB = payloadBody(saPayload);
    this.peerId = id;
    const auth = psk ?? authenticatorFor(this.ctx, choice.transform.auth);
    this.auth = auth;
    auth.noteRequests(payloads);
    sa.lifeSecs = choice.lifeSecs;
    sa.keymat = new Phase1Keymat(phase1Suite(choice.transform.encr, choice.keyBits, choice.transform.hash), SA_KEY_MEMORY);
    this.gxi = Buffer.from(first(payloads, PayloadType.KE)!.keyData);
    this.nonceI = Buffer.from(first(payloads, PayloadType.NONCE)!.data);
    const mine = await respondKe(this.ctx, choice.transform.group, this.gxi);
    if (mine === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (typeof mine === "string") return this.failed(undefined, mine);
    this.gxr = mine.gxr;
    this.nonceR = this.ctx.random(this.ctx.rule.p1NonceLen);
    const derived = await auth.derive(choice.transform.group, this.inputs(), mine.gxy);
    if (derived !== null) return this.failedWith(derived);
    const own = auth.localId();
    if (isFailure(own)) return this.failedWith(own);
    this.localId = own;
    const proof = await auth.prove(sa.keymat.hashR(this.saiB, payloadBody(own)));
    if (isFailure(proof)) return this.failedWith(proof);
    this.st = "am2-sent";
    const out: Payload[] = [
      echoSaPayload(saPayload, offered[choice.index]!),
      { type: PayloadType.KE, keyData: this.gxr },
      { type: PayloadType.NONCE, data: this.nonceR },
      own,
      ...auth.requests(),
      ...dpdVendorIds(this.ctx.rule),
      ...proof,
    ];
    return { kind: "more", reply: { payloads: out, encrypt: false } };
  }

  private async onAm3(payloads: readonly Payload[]): Promise<Step> {
    const peer = await this.auth!.verify(this.peerId!, payloads, this.ctx.sa.keymat!.hashI(this.saiB!, payloadBody(this.peerId!)));
    if (isFailure(peer)) return this.failedWith(peer);
    this.peerText = peer;
    this.finish();
    return { kind: "done" };
  }

  // ---------------------------------------------------------------- shared

  private inputs() {
    return { nonceI: this.nonceI!, nonceR: this.nonceR!, gxi: this.gxi!, gxr: this.gxr! };
  }

  private finish(): void {
    const c = this.choice!;
    this.res = {
      transform: c.transform,
      keyBits: c.keyBits,
      lifeSecs: c.lifeSecs,
      localId: this.auth!.localIdText(),
      peerId: this.peerText,
      initialContact: false,
    };
    this.st = "done";
  }

  private failedWith(f: AuthFailure): Step {
    return this.failed(f.notify, f.reason);
  }

  private failed(notify: number | undefined, reason: string): Step {
    this.st = "failed";
    return notify === undefined ? { kind: "fail", reason } : { kind: "fail", notify, reason };
  }
}
