/**
 * Main Mode (Identity Protection exchange) with pre-shared keys, RFC 2409 section 5.4 on RFC 2408
 * section 4.5:
 *
 * ```
 *      Initiator                          Responder
 *     -----------                        -----------
 *  MM1  HDR, SA                     -->
 *  MM2                              <--   HDR, SA
 *  MM3  HDR, KE, Ni                 -->
 *  MM4                              <--   HDR, KE, Nr
 *  MM5  HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)] -->
 *  MM6                              <--   HDR*, IDir, HASH_R
 * ```
 *
 * A task object per exchange, after strongSwan's main_mode.c: the initiator runs `buildI` then
 * `processI` for each answer, the responder `processR` for each request; each step returns the
 * next message (`more`), the last one (`done`) or `fail` with the notify to send. The engine does
 * the I/O, encryption, retransmission and SA lifecycle; this class only reads typed payloads.
 *
 * SKEYID = prf(pre-shared-key, Ni_b | Nr_b) is derived after MM3/MM4 (the responder needs it to
 * decrypt MM5), so the key is chosen by the peer's address, as the original does.
 */
import { AuthMethod, Doi, ExchangeType, Notify, PayloadType, ProtocolId, type IdPayload, type MessagePosition, type Payload, type SaPayload } from "../../codec/index.js";
import type { PresharedEntry, ResolvedRule } from "../../config/types.js";
import { Phase1Keymat, phase1Suite } from "../../crypto/keymat.js";
import type { SecureBuffer } from "../../crypto/secure.js";
import type { IsakmpSa } from "../isakmp-sa.js";
import type { IkeLog } from "../log.js";
import type { DhPort, Phase1Policy } from "../ports.js";
import { checkPeerId, formatId, localIdPayload } from "./identity.js";
import { all, buildSaPayload, echoSaPayload, first, holdPsk, offeredTransforms, payloadBody, respondKe, SA_KEY_MEMORY } from "./phase1.js";
import {
  DEFAULT_P1_LIFETIME_SECS,
  matchP1Reply,
  selectP1,
  transformsFromXforms,
  type P1Choice,
  type P1Transform,
} from "./proposal.js";

/** Where a Main Mode task is. */
export type MainModeState = "start" | "mm1-sent" | "mm3-sent" | "mm5-sent" | "mm2-sent" | "mm4-sent" | "done" | "failed";

import type { Outgoing, Step } from "../step.js";
export type { Outgoing, Step } from "../step.js";

/** What the task needs from the engine. */
export interface Phase1Context {
  readonly sa: IsakmpSa;
  readonly rule: ResolvedRule;
  readonly dh: DhPort;
  readonly policy: Phase1Policy;
  /** Random bytes for nonces (tests pass a deterministic source). */
  readonly random: (n: number) => Buffer;
  readonly log: IkeLog;
  /** Whether another ISAKMP SA with this peer is up (then INITIAL-CONTACT is not sent). */
  readonly otherSaWithPeer: () => boolean;
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
  private saiB: Buffer | undefined;
  private nonceI: Buffer | undefined;
  private nonceR: Buffer | undefined;
  private gxi: Buffer | undefined;
  private gxr: Buffer | undefined;
  private psk: PresharedEntry | undefined;
  private localId: IdPayload | undefined;
  private res: Phase1Result | undefined;

  constructor(private readonly ctx: Phase1Context) {
    this.role = ctx.sa.role;
  }

  get state(): MainModeState {
    return this.st;
  }

  /** The message this task waits for, for the codec's payload rules; undefined when it waits for none. */
  expected(): MessagePosition | undefined {
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

  /** MM1: our proposals. */
  buildI(): Step {
    if (this.role !== "initiator" || this.st !== "start") return fail(undefined, `buildI in ${this.st}`);
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    this.proposed = transformsFromXforms(this.ctx.rule.p1Xforms, life).filter((t) => t.auth === AuthMethod.PreSharedKey);
    if (this.proposed.length === 0) return fail(undefined, "rule has no usable pre-shared p1_xform");
    const sa = buildSaPayload(this.proposed);
    this.saiB = payloadBody(sa);
    this.st = "mm1-sent";
    return { kind: "more", reply: { payloads: [sa], encrypt: false } };
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
    this.choice = choice;
    this.ctx.sa.lifeSecs = choice.lifeSecs;
    this.ctx.sa.keymat = new Phase1Keymat(phase1Suite(choice.transform.encr, choice.keyBits, choice.transform.hash), SA_KEY_MEMORY);
    const ke = await this.makeKe();
    if (typeof ke === "string") return this.failed(undefined, ke);
    this.gxi = ke;
    this.nonceI = this.ctx.random(this.ctx.rule.p1NonceLen);
    this.st = "mm3-sent";
    return {
      kind: "more",
      reply: {
        payloads: [
          { type: PayloadType.KE, keyData: this.gxi },
          { type: PayloadType.NONCE, data: this.nonceI },
        ],
        encrypt: false,
      },
    };
  }

  private async onMm4(payloads: readonly Payload[]): Promise<Step> {
    const ke = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (ke === undefined || nonce === undefined) return this.failed(Notify.PayloadMalformed, "MM4 without KE or nonce");
    this.gxr = Buffer.from(ke.keyData);
    this.nonceR = Buffer.from(nonce.data);
    const derived = await this.derive();
    if (derived !== null) return derived;
    const sa = this.ctx.sa;
    this.localId = localIdPayload(this.ctx.rule, sa.local);
    const hashI = sa.keymat!.hashI(this.saiB!, payloadBody(this.localId));
    const out: Payload[] = [this.localId, { type: PayloadType.HASH, data: hashI }];
    if (!this.ctx.otherSaWithPeer()) {
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
    const id = first(payloads, PayloadType.ID);
    const hash = first(payloads, PayloadType.HASH);
    if (id === undefined || hash === undefined) return this.failed(Notify.PayloadMalformed, "MM6 without ID or HASH");
    if (!this.ctx.sa.keymat!.verifyHashR(hash.data, this.saiB!, payloadBody(id))) {
      return this.failed(Notify.AuthenticationFailed, "HASH_R does not verify (pre-shared key mismatch?)");
    }
    const idProblem = checkPeerId(id, this.ctx.sa.remote, this.psk);
    if (idProblem !== null) return this.failed(Notify.InvalidIdInformation, idProblem);
    this.finish(id, false);
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
    const sa: SaPayload | undefined = first(payloads, PayloadType.SA);
    if (sa === undefined) return this.failed(Notify.PayloadMalformed, "MM1 without SA");
    const offered = offeredTransforms(sa);
    if (offered.length === 0) return this.failed(Notify.NoProposalChosen, "MM1 offers no ISAKMP transform");
    const life = this.ctx.defaultLifeSecs ?? DEFAULT_P1_LIFETIME_SECS;
    const choice = selectP1(
      offered.map((o) => o.attributes),
      this.ctx.rule.p1Xforms,
      [AuthMethod.PreSharedKey],
      life,
    );
    if ("reasons" in choice) {
      return this.failed(Notify.NoProposalChosen, `no acceptable transform: ${choice.reasons.slice(0, 4).join("; ")}`);
    }
    this.choice = choice;
    this.saiB = payloadBody(sa);
    this.ctx.sa.lifeSecs = choice.lifeSecs;
    this.ctx.sa.keymat = new Phase1Keymat(phase1Suite(choice.transform.encr, choice.keyBits, choice.transform.hash), SA_KEY_MEMORY);
    this.st = "mm2-sent";
    return { kind: "more", reply: { payloads: [echoSaPayload(sa, offered[choice.index]!)], encrypt: false } };
  }

  private async onMm3(payloads: readonly Payload[]): Promise<Step> {
    const ke = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (ke === undefined || nonce === undefined) return this.failed(Notify.PayloadMalformed, "MM3 without KE or nonce");
    this.gxi = Buffer.from(ke.keyData);
    this.nonceI = Buffer.from(nonce.data);
    const mine = await respondKe(this.ctx, this.choice!.transform.group, this.gxi);
    if (mine === "dh") return this.failed(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (typeof mine === "string") return this.failed(undefined, mine);
    this.gxr = mine.gxr;
    this.nonceR = this.ctx.random(this.ctx.rule.p1NonceLen);
    const derived = await this.derive(mine.gxy);
    if (derived !== null) return derived;
    this.st = "mm4-sent";
    return {
      kind: "more",
      reply: {
        payloads: [
          { type: PayloadType.KE, keyData: this.gxr },
          { type: PayloadType.NONCE, data: this.nonceR },
        ],
        encrypt: false,
      },
    };
  }

  private onMm5(payloads: readonly Payload[]): Step {
    const id = first(payloads, PayloadType.ID);
    const hash = first(payloads, PayloadType.HASH);
    if (id === undefined || hash === undefined) return this.failed(Notify.PayloadMalformed, "MM5 without ID or HASH");
    const sa = this.ctx.sa;
    if (!sa.keymat!.verifyHashI(hash.data, this.saiB!, payloadBody(id))) {
      return this.failed(Notify.AuthenticationFailed, "HASH_I does not verify (pre-shared key mismatch?)");
    }
    const idProblem = checkPeerId(id, sa.remote, this.psk);
    if (idProblem !== null) return this.failed(Notify.InvalidIdInformation, idProblem);
    const initialContact = all(payloads, PayloadType.N).some((n) => n.notifyType === Notify.InitialContact);
    this.localId = localIdPayload(this.ctx.rule, sa.local);
    const hashR = sa.keymat!.hashR(this.saiB!, payloadBody(this.localId));
    this.finish(id, initialContact);
    return { kind: "done", reply: { payloads: [this.localId, { type: PayloadType.HASH, data: hashR }], encrypt: true } };
  }

  // ---------------------------------------------------------------- shared

  /** Our g^x through the pool; the private value goes straight into the Keymat. */
  private async makeKe(): Promise<Buffer | string> {
    const group = this.choice!.transform.group;
    const r = await this.ctx.dh.dhGenerate(group, { signal: this.ctx.sa.abort.signal });
    if (!r.ok) return `DH group ${group}: ${r.error.code}`;
    const km = this.ctx.sa.keymat;
    if (km === undefined) return "SA destroyed during DH";
    km.holdDhPrivate(r.value.privateValue);
    return Buffer.from(r.value.publicValue);
  }

  /** g^xy through the pool (or the responder's, from respondKe), the pre-shared key by address, then SKEYID and friends. */
  private async derive(gxy?: Buffer): Promise<Step | null> {
    const sa = this.ctx.sa;
    const km = sa.keymat!;
    this.psk = this.ctx.policy.presharedFor(sa.local.address, sa.remote.address, "main");
    if (this.psk === undefined) {
      gxy?.fill(0);
      return this.failed(Notify.AuthenticationFailed, `no pre-shared key for ${sa.local.address} <-> ${sa.remote.address}`);
    }
    const psk = holdPsk(sa, this.psk.key);
    try {
      return await this.deriveWith(km, psk, gxy);
    } finally {
      psk.destroy();
    }
  }

  private async deriveWith(km: Phase1Keymat, psk: SecureBuffer, gxy?: Buffer): Promise<Step | null> {
    const sa = this.ctx.sa;
    const group = this.choice!.transform.group;
    const peerPublic = this.role === "initiator" ? this.gxr! : this.gxi!;
    let shared = gxy;
    if (shared === undefined) {
      const r = await km.withDhPrivateForTask((x) => this.ctx.dh.dhAgree(group, x, peerPublic, { signal: sa.abort.signal }));
      if (!r.ok) return this.failed(Notify.InvalidKeyInformation, `peer's DH value refused: ${r.error.code}`);
      shared = r.value;
    }
    if (sa.keymat !== km) {
      shared.fill(0);
      return this.failed(undefined, "SA destroyed during DH");
    }
    km.deriveFromPsk(
      { icookie: sa.icookie, rcookie: sa.rcookie, nonceI: this.nonceI!, nonceR: this.nonceR!, gxi: this.gxi!, gxr: this.gxr! },
      shared,
      psk,
    );
    return null;
  }

  private finish(peerId: IdPayload, initialContact: boolean): void {
    const c = this.choice!;
    this.res = {
      transform: c.transform,
      keyBits: c.keyBits,
      lifeSecs: c.lifeSecs,
      localId: formatId(this.localId!),
      peerId: formatId(peerId),
      initialContact,
    };
    this.st = "done";
  }

  private failed(notify: number | undefined, reason: string): Step {
    this.st = "failed";
    return fail(notify, reason);
  }
}
