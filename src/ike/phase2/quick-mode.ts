/**
 * Quick Mode, RFC 2409 section 5.5:
 *
 * ```
 *      Initiator                        Responder
 *     -----------                      -----------
 *  QM1  HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] -->
 *  QM2                    <-- HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ]
 *  QM3  HDR*, HASH(3)      -->
 *
 *   HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [ | KE ] [ | IDci | IDcr ])
 *   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [ | KE ] [ | IDci | IDcr ])
 *   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
 *   KEYMAT  = prf(SKEYID_d, [ g(qm)^xy | ] protocol | SPI | Ni_b | Nr_b)   (expanded, per SA)
 * ```
 *
 * The initiator offers the IPsec policy's proposals for the traffic (always with IDci/IDcr, as
 * strongSwan does); the responder asks the IPsec policy which offered proposal the matching
 * inbound entry accepts. SPIs come from the kernel (GETSPI), and both sides install the inbound SA
 * (UPDATE of the larval one) and the outbound SA (ADD) once the exchange is authenticated: the
 * initiator both on QM2, before sending QM3; the responder both before sending QM2 (HASH(1) has
 * authenticated QM1 by then; a replayed QM1, however old, never gets that far: the ISAKMP SA
 * remembers every message ID it used, message-ids.ts). The initiator may send on its new SAs as
 * soon as it has QM2 (and the kernel releases the traffic it held for the ACQUIRE at once), so the
 * responder's SAs must be there first: its inbound one for the packets, its outbound one for the
 * answers the kernel makes itself (an ICMP echo reply is never held for an ACQUIRE; it is
 * dropped). QM3 then proves the initiator's liveness; without it the responder's SAs go again.
 *
 * A rekey is the exception: when an SA pair of ours already carries the traffic (traffic-key.ts),
 * the responder adds its new outbound SA only on QM3, as Libreswan does. The kernel sends on the
 * newest SA the moment it is added, and the initiator installs the matching inbound SA only on
 * QM2: an outbound SA added before QM2 loses whatever it carries until then (an echo reply per
 * rekey, on a loaded host). Until QM3 the old pair, still valid until its hard lifetime, carries
 * the answers.
 */
import { Notify, PayloadType, encodePayloads, type IdPayload, type MessagePosition, type Payload, type SaPayload } from "../../codec/index.js";
import type { ResolvedRule } from "../../config/types.js";
import { IKED_REQID, type Kernel, type SaMode } from "../../kernel/kernel.js";
import { selectForResponder, type ClientId, type IpsecPolicy, type Phase2Proposal } from "../../policy/index.js";
import type { IsakmpSa } from "../isakmp-sa.js";
import type { IkeLog } from "../log.js";
import { first } from "../phase1/phase1.js";
import type { DhPort } from "../ports.js";
import type { Step } from "../step.js";
import { clientIdOf, clientIdPayload, hostClientId } from "./client-id.js";
import { installPair, type ChosenSa } from "./install.js";
import { honourNotify, narrow, responderLife, ruleLife, softKb, type Phase2Life } from "./lifetimes.js";
import { QuickModePfs } from "./pfs.js";
import { responderLifetime } from "./responder-lifetime.js";
import { trafficKey } from "./traffic-key.js";
import { encapOf, natOaPayloads, peerOriginalAddress, udpVersion } from "./nat-oa.js";
import type { Endpoint } from "../transport.js";
import { asPolicyProposals, buildPhase2Sa, echoPhase2Sa, readPhase2Sa, type ReadProposal } from "./sa-payload.js";

/** Where a Quick Mode task is. */
export type QuickModeState = "start" | "qm1-sent" | "qm2-sent" | "done" | "failed";

/** What the initiator was asked to negotiate (an ACQUIRE's policy selection). */
export interface QuickModeRequest {
  readonly mode: SaMode;
  readonly proposals: readonly Phase2Proposal[];
  readonly localId: ClientId;
  readonly remoteId: ClientId;
  /** The ACQUIRE's sequence number, copied into GETSPI/UPDATE/ADD. */
  readonly seq?: number;
}

/** What a Quick Mode task needs from the engine. */
export interface QuickModeContext {
  readonly sa: IsakmpSa;
  readonly messageId: number;
  readonly rule: ResolvedRule;
  readonly dh: DhPort;
  readonly kernel: Kernel;
  /** The loaded ipsecinit.conf (responder). */
  readonly ipsecPolicy: () => IpsecPolicy | undefined;
  /**
   * Whether an IPsec SA pair of ours with `sa`'s peer (between the same addresses, under any ISAKMP
   * SA) already carries what `chosen` will (its protocol and traffic): a rekey (responder).
   */
  readonly carried?: (sa: IsakmpSa, chosen: ChosenSa) => boolean;
  readonly random: (n: number) => Buffer;
  readonly log: IkeLog;
}

/** What an established Quick Mode installed. */
export interface QuickModeResult {
  readonly sas: readonly ChosenSa[];
  readonly mode: SaMode;
  readonly localId: ClientId;
  readonly remoteId: ClientId;
  readonly lifeSecs: number;
  /** Byte lifetime in kilobytes; absent: none. */
  readonly lifeKb?: number;
  readonly pfsGroup: number;
}

/** An SA a Quick Mode put in the kernel: an inbound one from GETSPI on, or an outbound one. */
export interface Placed {
  readonly proto: "esp" | "ah";
  readonly spi: number;
  readonly inbound: boolean;
}

/** The bytes of payloads after HASH, with generic headers, as they were on the wire. */
function restBytes(payloads: readonly Payload[]): Buffer {
  return Buffer.concat(payloads.slice(1).map((p) => p.raw?.full ?? Buffer.alloc(0)));
}

/**
 * Whether a decrypted QM1 (`payloads` as received) starts with a HASH(1) that verifies under
 * `sa`'s SKEYID_a: only then does it come from the holder of the ISAKMP SA's keys.
 */
export function hash1Verifies(sa: IsakmpSa, messageId: number, payloads: readonly Payload[]): boolean {
  const km = sa.keymat;
  const hash = payloads[0];
  if (km === undefined || hash === undefined || hash.type !== PayloadType.HASH) return false;
  return km.verifyHash(hash.data, km.quickModeHash1(messageId, restBytes(payloads)));
}

/** No proposals read or built (yet, or any more: {@link QuickMode.release}); one frozen array for all. */
const NONE: readonly never[] = Object.freeze([]);

/** One Quick Mode exchange. */
export class QuickMode {
  readonly role: "initiator" | "responder";
  private st: QuickModeState = "start";
  private nonceI: Buffer | undefined;
  private nonceR: Buffer | undefined;
  private group = 0;
  /** The peer's address before NAT, from its NAT-OA (transport mode in UDP). */
  private peerOriginal: string | undefined;
  /** The ports of the message being processed (NAT-T: maybe the peer's new mapping), see {@link arrived}. */
  private ports: { readonly local: number; readonly remote: number } | undefined;
  /** The UDP encapsulation ports our SAs went into the kernel with (none: plain ESP, or not yet). */
  private installedPorts: { readonly local: number; readonly remote: number } | undefined;
  /** The initiator's inbound SPIs from GETSPI, by protocol (made by {@link buildI}: a responder has none). */
  private ourSpis: Map<"esp" | "ah", number> | undefined;
  private offered: readonly ReadProposal[] = NONE;
  private localId: ClientId | undefined;
  private remoteId: ClientId | undefined;
  private chosen: ChosenSa[] = [];
  private mode: SaMode = "tunnel";
  private life: Phase2Life;
  /** Made at the first PFS step (a Quick Mode without PFS has none), see {@link pfsState}. */
  #pfs: QuickModePfs | undefined;
  private res: QuickModeResult | undefined;
  /**
   * What this exchange put in the kernel and nothing else owns yet (see {@link leftovers}): our
   * inbound SPIs from GETSPI on, the outbound SAs once added (the responder's before QM2, or on
   * QM3 in a rekey; the initiator's on QM2).
   */
  private placed: Placed[] = [];
  /** Responder: failed after QM2 (the initiator holds SAs we do not). */
  private failedAfterQm2 = false;
  /** Responder of a rekey: the outbound SAs wait for QM3 (see the file comment). */
  private outboundOnQm3 = false;

  constructor(
    private readonly ctx: QuickModeContext,
    /** What an initiator was asked for (kept to renegotiate the same SAs on a soft expire). */
    readonly request?: QuickModeRequest,
  ) {
    this.role = request === undefined ? "responder" : "initiator";
    this.life = ruleLife(ctx.rule);
  }

  /** The PFS state, made at its first use. */
  private get pfs(): QuickModePfs {
    const ctx = this.ctx;
    return (this.#pfs ??= new QuickModePfs(ctx.dh, () => ctx.sa.abort.signal));
  }

  get state(): QuickModeState {
    return this.st;
  }

  get result(): QuickModeResult | undefined {
    return this.res;
  }

  /** The message this task waits for. */
  expected(): MessagePosition | undefined {
    if (this.st === "start" && this.role === "responder") return "QM1";
    if (this.st === "qm1-sent") return "QM2";
    if (this.st === "qm2-sent") return "QM3";
    return undefined;
  }

  /**
   * SAs of this exchange in the kernel that the IPsec SA table does not own, which the engine
   * deletes when the exchange ends before they were {@link recorded}: inbound SPIs taken with
   * GETSPI (larval SAs nothing will fill: deleted as racoon and strongSwan do, not left to the
   * kernel's larval lifetime), a responder's SAs installed before QM2 when QM3 never came or
   * failed, an initiator's whose CONNECTED never came. Each SA is handed out once: the engine asks
   * again after a step that was under way when the exchange ended (its ISAKMP SA died during a
   * kernel call), and gets what that step put in the kernel since.
   */
  leftovers(): Placed[] {
    const out = this.placed;
    this.placed = [];
    return out;
  }

  /** The IPsec SA table took this exchange's SAs: none is left over. */
  recorded(): void {
    this.placed = [];
  }

  /**
   * Whether `spi` is one of this exchange's SPIs for `proto` (ours from GETSPI or the peer's), so a
   * peer's error notify naming it can be matched to this exchange.
   */
  hasSpi(proto: "esp" | "ah", spi: number): boolean {
    if (this.ourSpis?.get(proto) === spi) return true;
    if (this.chosen.some((c) => c.proto === proto && (c.inboundSpi === spi || c.outboundSpi === spi))) return true;
    return this.offered.some((o) => o.protocols.some((p) => p.proto === proto && p.spi === spi));
  }

  /**
   * The SPI an error notify about this exchange names (RFC 2408 section 3.14): the initiator's
   * SPI of its first offered protocol, which both sides know, so the initiator can tell which of
   * its Quick Modes was refused. Undefined before any proposal was read or built.
   */
  errorSpi(): { readonly proto: "esp" | "ah"; readonly spi: number } | undefined {
    const p = this.offered[0]?.protocols[0];
    return p === undefined ? undefined : { proto: p.proto, spi: p.spi };
  }

  /** The client IDs (prefixes) of the traffic, ours first, once known. */
  get clientIds(): { readonly local: string; readonly remote: string } | undefined {
    return this.localId === undefined || this.remoteId === undefined ? undefined : { local: this.localId.prefix, remote: this.remoteId.prefix };
  }

  /**
   * SAs the peer holds and we do not: after we failed as responder on QM3 (the initiator installed
   * its SAs when it sent it). The engine sends a Delete for their SPIs.
   */
  peerInstalled(): readonly ChosenSa[] {
    return this.failedAfterQm2 ? this.chosen : [];
  }

  /**
   * The NAT-T ports (ours, the peer's) this exchange's SAs were installed with; undefined without
   * UDP encapsulation. The ISAKMP SA may have moved on since (a NAT rebinding before QM3 or
   * CONNECTED): the engine compares when it records the SAs.
   */
  get encapPorts(): { readonly local: number; readonly remote: number } | undefined {
    return this.installedPorts;
  }

  /** Drop what this exchange holds (PFS secret). */
  destroy(): void {
    this.#pfs?.destroy();
  }

  /**
   * The engine is done with this exchange (ended, its SAs recorded or its leftovers deleted) but
   * keeps it for a while to answer retransmitted requests from its reply cache, which needs only
   * {@link expected} (nothing more): drop the rest, so a finished exchange kept for a minute holds
   * no nonces (views that keep a received datagram or a random pool alive), proposals, IDs or
   * results. After this only {@link state}, {@link expected} and {@link request} answer as before.
   */
  release(): void {
    this.destroy();
    this.#pfs = undefined;
    this.nonceI = undefined;
    this.nonceR = undefined;
    this.ports = undefined;
    this.installedPorts = undefined;
    this.ourSpis = undefined;
    this.offered = NONE;
    this.localId = undefined;
    this.remoteId = undefined;
    this.chosen = [];
    this.res = undefined;
    this.placed = [];
  }

  // ---------------------------------------------------------------- initiator

  /** QM1. */
  async buildI(): Promise<Step> {
    const req = this.request!;
    const sa = this.ctx.sa;
    this.mode = req.mode;
    this.localId = req.localId;
    this.remoteId = req.remoteId;
    this.group = this.ctx.rule.p2Pfs;
    const ourSpis = (this.ourSpis = new Map<"esp" | "ah", number>());
    for (const p of req.proposals) {
      for (const proto of p.protocols) {
        if (ourSpis.has(proto.proto)) continue;
        const info = await this.ctx.kernel.getSpi(sa.remote.address, sa.local.address, proto.proto, undefined, {
          mode: req.mode,
          reqid: IKED_REQID,
          ...(req.seq !== undefined ? { seq: req.seq } : {}),
        });
        ourSpis.set(proto.proto, info.spi);
        this.placed.push({ proto: proto.proto, spi: info.spi, inbound: true });
        const gone = this.abandoned();
        if (gone !== null) return gone;
      }
    }
    const udp = udpVersion(sa);
    const saPayload = buildPhase2Sa(req.proposals, ourSpis, {
      lifeSecs: this.life.secs, ...(this.life.kb !== undefined ? { lifeKb: this.life.kb } : {}), group: this.group, ...(udp !== undefined ? { udp } : {}),
    });
    this.offered = readPhase2Sa(saPayload);
    this.nonceI = this.ctx.random(this.ctx.rule.p2NonceLen);
    const rest: Payload[] = [saPayload, { type: PayloadType.NONCE, data: this.nonceI }];
    if (this.group !== 0) {
      const ke = await this.pfs.generate(this.group);
      if (!ke.ok) return this.failed(undefined, ke.reason);
      rest.push({ type: PayloadType.KE, keyData: ke.value });
    }
    const idci = clientIdPayload(req.localId);
    const idcr = clientIdPayload(req.remoteId);
    if (idci === undefined || idcr === undefined) return this.failed(undefined, "policy gave unusable client IDs");
    rest.push(idci, idcr);
    if (req.mode === "transport") rest.push(...natOaPayloads(sa));
    const hash1 = sa.keymat!.quickModeHash1(this.ctx.messageId, encodeRest(rest));
    this.st = "qm1-sent";
    return { kind: "more", reply: { payloads: [{ type: PayloadType.HASH, data: hash1 }, ...rest], encrypt: true } };
  }

  /**
   * The endpoints the next message travelled between. Behind a NAT that rebinds, an authenticated
   * message moves the ISAKMP SA to the peer's new port only after this task has processed it
   * (dispatch.ts), so the SAs installed while processing it take their UDP encapsulation from here.
   */
  arrived(local: Endpoint, remote: Endpoint): void {
    this.ports = { local: local.port, remote: remote.port };
  }

  /** QM2. */
  async processI(payloads: readonly Payload[]): Promise<Step> {
    if (this.st !== "qm1-sent") return this.failed(undefined, `initiator got a message in ${this.st}`);
    const km = this.ctx.sa.keymat!;
    const hash = payloads[0]!;
    if (hash.type !== PayloadType.HASH) return this.failed(Notify.PayloadMalformed, "QM2 does not start with HASH");
    const expected = km.quickModeHash2(this.ctx.messageId, this.nonceI!, restBytes(payloads));
    if (!km.verifyHash(hash.data, expected)) return this.failed(Notify.InvalidHashInformation, "HASH(2) does not verify");
    const saPayload = first(payloads, PayloadType.SA)!;
    const nonce = first(payloads, PayloadType.NONCE)!;
    this.nonceR = Buffer.from(nonce.data);
    const answer = readPhase2Sa(saPayload);
    if (answer.length !== 1) return this.failed(Notify.BadProposalSyntax, `QM2 SA has ${answer.length} proposals`);
    const a = answer[0]!;
    const ours = this.offered.find((o) => o.number === a.number);
    if (ours === undefined || ours.protocols.length !== a.protocols.length) return this.failed(Notify.NoProposalChosen, "QM2 chose no proposal of ours");
    for (const p of a.protocols) {
      const t = p.transforms[0];
      const mine = ours.protocols.find((o) => o.proto === p.proto);
      if (t === undefined || p.transforms.length !== 1 || mine === undefined) return this.failed(Notify.BadProposalSyntax, "QM2 protocol without one transform");
      const same = mine.transforms.some(
        (o) => o.transform.encAlg === t.transform.encAlg && o.transform.encKeyBits === t.transform.encKeyBits && o.transform.authAlg === t.transform.authAlg && o.mode === t.mode,
      );
      if (!same || t.group !== this.group) return this.failed(Notify.NoProposalChosen, "QM2 transform was not offered");
      this.life = narrow(this.life, t);
      this.chosen.push({ proto: p.proto, transform: t.transform, inboundSpi: this.ourSpis!.get(p.proto)!, outboundSpi: p.spi, traffic: trafficKey(this.mode, this.localId!, this.remoteId!) });
    }
    for (const n of payloads) {
      // RFC 2407 section 4.6.3.1: the responder's policy is shorter; use its lifetimes.
      if (n.type === PayloadType.N && n.notifyType === Notify.ResponderLifetime) this.life = honourNotify(this.life, n.data);
    }
    this.peerOriginal = peerOriginalAddress(this.ctx.sa, payloads);
    const ids = payloads.filter((p): p is IdPayload => p.type === PayloadType.ID);
    if (ids.length === 2) {
      const ci = clientIdOf(ids[0]!);
      const cr = clientIdOf(ids[1]!);
      // Transport mode through a NAT: strongSwan answers with our address as it sees it (the NAT's),
      // which we cannot know; any host ID is taken for ours then (RFC 3947 section 5.2: the
      // original addresses travel in NAT-OA, not in the IDs).
      const ours = ci !== undefined && (ci.prefix === this.localId!.prefix || (this.mode === "transport" && udpVersion(this.ctx.sa) !== undefined && isHostPrefix(ci.prefix)));
      if (ci === undefined || cr === undefined || !ours || cr.prefix !== this.remoteId!.prefix) {
        return this.failed(Notify.InvalidIdInformation, "QM2 IDs differ from ours");
      }
    }
    if (this.group !== 0) {
      const ke = first(payloads, PayloadType.KE);
      if (ke === undefined) return this.failed(Notify.PayloadMalformed, "QM2 without KE under PFS");
      const agreed = await this.pfs.agree(this.group, ke.keyData);
      if (!agreed.ok) return this.failed(agreed.peerRefused ? Notify.InvalidKeyInformation : undefined, agreed.reason);
    }
    const installed = await this.install(["in", "out"]);
    if (installed !== null) return installed;
    const hash3 = km.quickModeHash3(this.ctx.messageId, this.nonceI!, this.nonceR);
    this.finish();
    return { kind: "done", reply: { payloads: [{ type: PayloadType.HASH, data: hash3 }], encrypt: true } };
  }

  // ---------------------------------------------------------------- responder

  /** QM1, QM3. */
  async processR(payloads: readonly Payload[]): Promise<Step> {
    if (this.st === "start") return this.onQm1(payloads);
    if (this.st === "qm2-sent") return this.onQm3(payloads);
    return this.failed(undefined, `responder got a message in ${this.st}`);
  }

  private async onQm1(payloads: readonly Payload[]): Promise<Step> {
    const sa = this.ctx.sa;
    const km = sa.keymat!;
    if (payloads[0]?.type !== PayloadType.HASH) return this.failed(Notify.PayloadMalformed, "QM1 does not start with HASH");
    if (!hash1Verifies(sa, this.ctx.messageId, payloads)) return this.failed(Notify.InvalidHashInformation, "HASH(1) does not verify");
    const saPayload: SaPayload = first(payloads, PayloadType.SA)!;
    this.nonceI = Buffer.from(first(payloads, PayloadType.NONCE)!.data);
    const ids = payloads.filter((p): p is IdPayload => p.type === PayloadType.ID);
    const idci = ids.length === 2 ? clientIdOf(ids[0]!) : hostClientId(sa.remote.address);
    const idcr = ids.length === 2 ? clientIdOf(ids[1]!) : hostClientId(sa.local.address);
    if (idci === undefined || idcr === undefined) return this.failed(Notify.InvalidIdInformation, "QM1 client IDs unusable");
    this.remoteId = idci;
    this.localId = idcr;
    const policy = this.ctx.ipsecPolicy();
    if (policy === undefined) return this.failed(Notify.NoProposalChosen, "no IPsec policy loaded");
    this.offered = readPhase2Sa(saPayload);
    const proposals = asPolicyProposals(this.offered);
    const mode = proposals[0]?.mode ?? "transport";
    const sel = selectForResponder(policy, { remote: idci, local: idcr, mode, proposals });
    if (sel.kind === "reject") {
      return this.failed(sel.reason === "bad-id" || sel.reason === "no-policy" ? Notify.InvalidIdInformation : Notify.NoProposalChosen, `policy: ${sel.reason}`);
    }
    const offer = this.offered[sel.proposal]!;
    this.mode = proposals[sel.proposal]!.mode;
    const echo: { protocol: (typeof offer.protocols)[number]; transform: (typeof offer.protocols)[number]["transforms"][number]; spi: number }[] = [];
    const ke = first(payloads, PayloadType.KE);
    const lifetimeNotifies: Payload[] = [];
    const traffic = trafficKey(this.mode, idcr, idci);
    for (const c of sel.chosen) {
      const protocol = offer.protocols.find((p) => p.proto === c.proto)!;
      const transform = protocol.transforms[c.index]!;
      // PFS: the group the initiator put in the transform must match its KE, and our rule's wish.
      if ((transform.group !== 0) !== (ke !== undefined)) return this.failed(Notify.NoProposalChosen, "PFS group and KE disagree");
      if (this.ctx.rule.p2Pfs !== 0 && transform.group !== this.ctx.rule.p2Pfs) return this.failed(Notify.NoProposalChosen, `PFS group ${transform.group}, want ${this.ctx.rule.p2Pfs}`);
      this.group = transform.group;
      // As in Phase 1: accept the proposed lifetimes, expire at the shorter of each and ours.
      const chosenLife = responderLife(this.ctx.rule, transform);
      this.life = chosenLife.life;
      const info = await this.ctx.kernel.getSpi(sa.remote.address, sa.local.address, c.proto, undefined, { mode: this.mode, reqid: IKED_REQID });
      this.placed.push({ proto: c.proto, spi: info.spi, inbound: true });
      this.chosen.push({ proto: c.proto, transform: transform.transform, inboundSpi: info.spi, outboundSpi: protocol.spi, traffic });
      const gone = this.abandoned();
      if (gone !== null) return gone;
      // RFC 2407 section 4.6.3.1: ours is shorter than proposed: say so.
      const n = chosenLife.notify;
      if (n !== undefined) lifetimeNotifies.push(responderLifetime(c.proto, info.spi, n.secs, n.kb));
      echo.push({ protocol, transform, spi: info.spi });
    }
    this.nonceR = this.ctx.random(this.ctx.rule.p2NonceLen);
    const rest: Payload[] = [echoPhase2Sa(saPayload, echo), { type: PayloadType.NONCE, data: this.nonceR }];
    if (ke !== undefined) {
      const r = await this.pfs.respond(this.group, ke.keyData);
      if (!r.ok) return this.failed(r.peerRefused ? Notify.InvalidKeyInformation : undefined, r.reason);
      rest.push({ type: PayloadType.KE, keyData: r.value });
    }
    // strongSwan answers with IDs even when QM1 had none; Libreswan echoes what it got. We echo.
    if (ids.length === 2) rest.push(ids[0]!, ids[1]!);
    this.peerOriginal = peerOriginalAddress(sa, payloads);
    if (this.mode === "transport" && this.peerOriginal !== undefined) rest.push(...natOaPayloads(sa));
    rest.push(...lifetimeNotifies);
    // Keys exist now: our SAs go in before QM2 leaves, the outbound ones of a rekey on QM3 (see the
    // file comment).
    this.outboundOnQm3 = this.ctx.carried !== undefined && this.chosen.some((c) => this.ctx.carried!(sa, c));
    const installed = await this.install(this.outboundOnQm3 ? ["in"] : ["in", "out"]);
    if (installed !== null) return installed;
    const hash2 = km.quickModeHash2(this.ctx.messageId, this.nonceI, encodeRest(rest));
    this.st = "qm2-sent";
    return { kind: "more", reply: { payloads: [{ type: PayloadType.HASH, data: hash2 }, ...rest], encrypt: true } };
  }

  private async onQm3(payloads: readonly Payload[]): Promise<Step> {
    const km = this.ctx.sa.keymat!;
    const hash = payloads[0]!;
    if (hash.type !== PayloadType.HASH || !km.verifyHash(hash.data, km.quickModeHash3(this.ctx.messageId, this.nonceI!, this.nonceR!))) {
      return this.failed(Notify.InvalidHashInformation, "HASH(3) does not verify");
    }
    if (this.outboundOnQm3) {
      // The initiator installed its inbound SAs before sending QM3: ours may carry traffic now.
      const installed = await this.install(["out"]);
      if (installed !== null) return installed;
    }
    this.finish();
    return { kind: "done" };
  }

  // ---------------------------------------------------------------- shared

  private async install(directions: ReadonlyArray<"in" | "out">): Promise<Step | null> {
    const sa = this.ctx.sa;
    const before = this.abandoned();
    if (before !== null) return before;
    const encap = encapOf(sa, this.peerOriginal, this.ports);
    try {
      await installPair({
        directions,
        kernel: this.ctx.kernel,
        keymat: sa.keymat!,
        local: sa.local.address,
        remote: sa.remote.address,
        mode: this.mode,
        chosen: this.chosen,
        nonceI: this.nonceI!,
        nonceR: this.nonceR!,
        gqmxy: this.pfs.shared,
        lifeSecs: this.life.secs,
        ...(this.ctx.rule.p2SoftlifeSecs !== undefined ? { softSecs: this.ctx.rule.p2SoftlifeSecs } : {}),
        ...(this.life.kb !== undefined ? { lifeKb: this.life.kb, softKb: softKb(this.ctx.rule, this.life.kb) } : {}),
        ...(this.ctx.rule.p2IdletimeSecs !== undefined ? { idleSecs: this.ctx.rule.p2IdletimeSecs } : {}),
        localId: this.localId!,
        remoteId: this.remoteId!,
        label: this.ctx.rule.rule.label,
        ...(encap !== undefined ? { encap } : {}),
        ...(this.request?.seq !== undefined ? { seq: this.request.seq } : {}),
      });
    } catch (err) {
      // RFC 2408 section 5: the peer hears why (the kernel lacks an algorithm: ATTRIBUTES-NOT-
      // SUPPORTED; anything else: NO-PROPOSAL-CHOSEN).
      const e = err as { code?: string; message?: string };
      const notify = e.code === "IKE_ERR_KERNEL_EPROTONOSUPPORT" ? Notify.AttributesNotSupported : Notify.NoProposalChosen;
      return this.abandoned() ?? this.failed(notify, `kernel refused the SAs: ${e.code ?? "error"}: ${e.message ?? String(err)}`);
    }
    // A rekey's outbound SAs on QM3 keep the first install's ports: if the NAT moved in between,
    // the engine has both directions follow (IpsecSas.catchUp).
    if (encap !== undefined && this.installedPorts === undefined) this.installedPorts = { local: encap.local, remote: encap.remote };
    // The inbound SAs are the larval ones from GETSPI, already in the list.
    if (directions.includes("out")) for (const c of this.chosen) this.placed.push({ proto: c.proto, spi: c.outboundSpi, inbound: false });
    return this.abandoned();
  }

  /**
   * After a wait (kernel, pool): the ISAKMP SA died meanwhile (lifetime, DPD, a Delete,
   * INITIAL-CONTACT), so its keys are gone and nothing will own what this exchange installs: it
   * fails here, and the engine deletes its {@link leftovers}.
   */
  private abandoned(): Step | null {
    return this.ctx.sa.isDead() ? this.failed(undefined, `its ISAKMP SA went away (${this.ctx.sa.deathReason ?? "dead"})`) : null;
  }

  private finish(): void {
    this.res = {
      sas: this.chosen,
      mode: this.mode,
      localId: this.localId!,
      remoteId: this.remoteId!,
      lifeSecs: this.life.secs,
      ...(this.life.kb !== undefined ? { lifeKb: this.life.kb } : {}),
      pfsGroup: this.group,
    };
    this.st = "done";
    this.destroy();
  }

  private failed(notify: number | undefined, reason: string): Step {
    if (this.role === "responder" && this.st === "qm2-sent") this.failedAfterQm2 = true;
    this.st = "failed";
    this.destroy();
    return notify === undefined ? { kind: "fail", reason } : { kind: "fail", notify, reason };
  }
}

/** A prefix naming one host (`/32`, `/128`). */
function isHostPrefix(prefix: string): boolean {
  return prefix.endsWith("/32") || prefix.endsWith("/128");
}

/** The bytes HASH(1)/HASH(2) cover for payloads we are about to send. */
function encodeRest(rest: readonly Payload[]): Buffer {
  return encodePayloads(rest);
}
