/**
 * Aggressive Mode with pre-shared keys, RFC 2409 section 5.4 on RFC 2408 section 4.7:
 *
 * ```
 *      Initiator                          Responder
 *     -----------                        -----------
 *  AM1  HDR, SA, KE, Ni, IDii       -->
 *  AM2                              <--   HDR, SA, KE, Nr, IDir, HASH_R
 *  AM3  HDR[*], HASH_I              -->
 * ```
 *
 * Three messages, identities in the clear. The KE travels with the proposals, so every offered
 * transform carries the same group. The responder chooses the key by AM1's identity (ike.preshared
 * `ike_mode aggressive` or `both`), which is what Aggressive Mode is for: peers without fixed
 * addresses. AM3 is sent encrypted (as strongSwan does) and accepted either way.
 *
 * Same task shape as Main Mode (src/ike/phase1/main-mode.ts): buildI/processI, processR.
 */
import { AuthMethod, ExchangeType, Notify, PayloadType, type IdPayload, type MessagePosition, type Payload, type SaPayload } from "../../codec/index.js";
import type { PresharedEntry } from "../../config/types.js";
import { Phase1Keymat, phase1Suite } from "../../crypto/keymat.js";
import type { SecureBuffer } from "../../crypto/secure.js";
import type { Step } from "../step.js";
import { checkPeerId, formatId, localIdPayload, presharedIdOf } from "./identity.js";
import type { Phase1Context, Phase1Result } from "./main-mode.js";
import { buildSaPayload, derivePsk, echoSaPayload, first, generateKe, holdPsk, offeredTransforms, payloadBody, respondKe, SA_KEY_MEMORY } from "./phase1.js";
import {
  DEFAULT_P1_LIFETIME_SECS,
  matchP1Reply,
  selectP1,
  transformsFromXforms,
  type P1Choice,
  type P1Transform,
} from "./proposal.js";

/** Where an Aggressive Mode task is. */
export type AggressiveModeState = "start" | "am1-sent" | "am2-sent" | "done" | "failed";

/** One Aggressive Mode exchange, initiator or responder. */
export class AggressiveMode {
  readonly role: "initiator" | "responder";
  readonly exchangeType = ExchangeType.Aggressive;
  private st: AggressiveModeState = "start";
  private proposed: P1Transform[] = [];
  private choice: P1Choice | undefined;
  private saiB: Buffer | undefined;
  private nonceI: Buffer | undefined;
  private nonceR: Buffer | undefined;
  private gxi: Buffer | undefined;
  private gxr: Buffer | undefined;
  private psk: PresharedEntry | undefined;
  /** The initiator's copy of the key, held from AM1 until SKEYID is derived from AM2. */
  private pskI: SecureBuffer | undefined;
  private localId: IdPayload | undefined;
  private peerId: IdPayload | undefined;
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

  /** AM1: proposals (one group), KE, Ni, IDii. */
  async buildI(): Promise<Step> {
    const sa = this.ctx.sa;
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const all = transformsFromXforms(this.ctx.rule.p1Xforms, life).filter((t) => t.auth === AuthMethod.PreSharedKey);
    const group = all[0]?.group;
    this.proposed = all.filter((t) => t.group === group);
    if (this.proposed.length === 0) return this.failed(undefined, "rule has no usable pre-shared p1_xform");
    this.psk = this.ctx.policy.presharedFor(sa.local.address, sa.remote.address, "aggressive");
    if (this.psk === undefined) return this.failed(undefined, `no aggressive-mode key for ${sa.remote.address}`);
    this.pskI = holdPsk(sa, this.psk.key);
    const first0 = this.proposed[0]!;
    // The suite is fixed only by AM2; a provisional Keymat holds our DH private value until then.
    sa.keymat = new Phase1Keymat(phase1Suite(first0.encr, first0.keyBits, first0.hash), SA_KEY_MEMORY);
    const ke = await generateKe(this.ctx, group!);
    if (typeof ke === "string") return this.failed(undefined, ke);
    this.gxi = ke;
    this.nonceI = this.ctx.random(this.ctx.rule.p1NonceLen);
    this.localId = localIdPayload(this.ctx.rule, sa.local);
    const saPayload = buildSaPayload(this.proposed);
    this.saiB = payloadBody(saPayload);
    this.st = "am1-sent";
    return {
      kind: "more",
      reply: {
        payloads: [saPayload, { type: PayloadType.KE, keyData: ke }, { type: PayloadType.NONCE, data: this.nonceI }, this.localId],
        encrypt: false,
      },
    };
  }

  /** AM2: check the choice, derive keys, verify HASH_R; answer AM3 with HASH_I. */
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
    const hash = first(payloads, PayloadType.HASH);
    if (hash === undefined) return this.failed(Notify.PayloadMalformed, "AM2 without HASH_R");
    const psk = this.pskI!;
    let d: Awaited<ReturnType<typeof derivePsk>>;
    try {
      d = await derivePsk(this.ctx, choice.transform.group, this.inputs(), psk);
    } finally {
      psk.destroy();
    }
    if (d === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (d === "gone") return this.failed(undefined, "SA destroyed during DH");
    if (!sa.keymat!.verifyHashR(hash.data, this.saiB!, payloadBody(id))) {
      return this.failed(Notify.AuthenticationFailed, "HASH_R does not verify (pre-shared key mismatch?)");
    }
    const problem = checkPeerId(id, sa.remote, this.psk);
    if (problem !== null) return this.failed(Notify.InvalidIdInformation, problem);
    this.peerId = id;
    const hashI = sa.keymat!.hashI(this.saiB!, payloadBody(this.localId!));
    this.finish(false);
    return { kind: "done", reply: { payloads: [{ type: PayloadType.HASH, data: hashI }], encrypt: true } };
  }

  // ---------------------------------------------------------------- responder

  /** AM1, AM3. */
  async processR(payloads: readonly Payload[]): Promise<Step> {
    if (this.st === "start") return this.onAm1(payloads);
    if (this.st === "am2-sent") return this.onAm3(payloads);
    return this.failed(undefined, `responder got a message in ${this.st}`);
  }

  private async onAm1(payloads: readonly Payload[]): Promise<Step> {
    const sa = this.ctx.sa;
    const saPayload: SaPayload = first(payloads, PayloadType.SA)!;
    const id = first(payloads, PayloadType.ID)!;
    const peer = presharedIdOf(id);
    this.psk = peer === undefined ? undefined : this.ctx.policy.presharedForId(peer, sa.local.address, "aggressive");
    if (this.psk === undefined) return this.failed(Notify.InvalidIdInformation, `no aggressive-mode key for ID ${formatId(id)}`);
    const problem = checkPeerId(id, sa.remote, this.psk);
    if (problem !== null) return this.failed(Notify.InvalidIdInformation, problem);
    const psk = holdPsk(sa, this.psk.key);
    try {
      return await this.answerAm1(saPayload, payloads, psk);
    } finally {
      psk.destroy();
    }
  }

  /** AM1 after the key lookup: choose, KE, derive, AM2. */
  private async answerAm1(saPayload: SaPayload, payloads: readonly Payload[], psk: SecureBuffer): Promise<Step> {
    const sa = this.ctx.sa;
    const id = first(payloads, PayloadType.ID)!;
    const offered = offeredTransforms(saPayload);
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const choice = selectP1(offered.map((o) => o.attributes), this.ctx.rule.p1Xforms, [AuthMethod.PreSharedKey], life);
    if ("reasons" in choice) return this.failed(Notify.NoProposalChosen, `no acceptable transform: ${choice.reasons.slice(0, 4).join("; ")}`);
    this.choice = choice;
    this.saiB = payloadBody(saPayload);
    this.peerId = id;
    sa.lifeSecs = choice.lifeSecs;
    sa.keymat = new Phase1Keymat(phase1Suite(choice.transform.encr, choice.keyBits, choice.transform.hash), SA_KEY_MEMORY);
    this.gxi = Buffer.from(first(payloads, PayloadType.KE)!.keyData);
    this.nonceI = Buffer.from(first(payloads, PayloadType.NONCE)!.data);
    const mine = await respondKe(this.ctx, choice.transform.group, this.gxi);
    if (mine === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (typeof mine === "string") return this.failed(undefined, mine);
    const ke = mine.gxr;
    this.gxr = ke;
    this.nonceR = this.ctx.random(this.ctx.rule.p1NonceLen);
    const d = await derivePsk(this.ctx, choice.transform.group, this.inputs(), psk, mine.gxy);
    if (d === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (d === "gone") return this.failed(undefined, "SA destroyed during DH");
    this.localId = localIdPayload(this.ctx.rule, sa.local);
    const hashR = sa.keymat.hashR(this.saiB, payloadBody(this.localId));
    this.st = "am2-sent";
    return {
      kind: "more",
      reply: {
        payloads: [
          echoSaPayload(saPayload, offered[choice.index]!),
          { type: PayloadType.KE, keyData: ke },
          { type: PayloadType.NONCE, data: this.nonceR },
          this.localId,
          { type: PayloadType.HASH, data: hashR },
        ],
        encrypt: false,
      },
    };
  }

  private onAm3(payloads: readonly Payload[]): Step {
    const hash = first(payloads, PayloadType.HASH);
    if (hash === undefined) return this.failed(Notify.PayloadMalformed, "AM3 without HASH_I");
    if (!this.ctx.sa.keymat!.verifyHashI(hash.data, this.saiB!, payloadBody(this.peerId!))) {
      return this.failed(Notify.AuthenticationFailed, "HASH_I does not verify (pre-shared key mismatch?)");
    }
    this.finish(false);
    return { kind: "done" };
  }

  // ---------------------------------------------------------------- shared

  private inputs() {
    return { nonceI: this.nonceI!, nonceR: this.nonceR!, gxi: this.gxi!, gxr: this.gxr! };
  }

  private finish(initialContact: boolean): void {
    const c = this.choice!;
    this.res = {
      transform: c.transform,
      keyBits: c.keyBits,
      lifeSecs: c.lifeSecs,
      localId: formatId(this.localId!),
      peerId: formatId(this.peerId!),
      initialContact,
    };
    this.st = "done";
  }

  private failed(notify: number | undefined, reason: string): Step {
    this.st = "failed";
    return notify === undefined ? { kind: "fail", reason } : { kind: "fail", notify, reason };
  }
}
