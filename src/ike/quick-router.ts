/**
 * Quick Mode routing (RFC 2409 section 5.5): the Phase 2 exchanges of every ISAKMP SA, keyed by
 * (cookies, message ID) in the SA manager. Starts initiator exchanges, feeds received QM1-QM3 to
 * their task after decryption and the codec's rules, answers retransmitted requests from the
 * exchange's reply cache, retransmits our own unanswered messages, and remembers how to negotiate
 * the SAs we initiated again when the kernel's soft EXPIRE arrives.
 */
import { ExchangeType, HeaderFlag, Notify, PayloadType, ProtocolId, checkRules, decodeDecrypted, type Message, type NotifyPayload } from "../codec/index.js";
import type { ResolvedRule } from "../config/types.js";
import type { ExpireEvent } from "../kernel/kernel.js";
import type { EngineHost, Phase2Exchange } from "./engine-host.js";
import { protectedInformational } from "./informational.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { QuickMode, type QuickModeRequest } from "./phase2/quick-mode.js";
import { ReplyCache, Retransmitter } from "./retransmit.js";
import type { Step } from "./step.js";
import type { Endpoint } from "./transport.js";

/** What renegotiating an IPsec SA pair needs. */
interface RekeyInfo {
  readonly rule: ResolvedRule;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly request: QuickModeRequest;
  readonly keys: readonly string[];
  started: boolean;
}

/** Most Quick Mode exchanges one ISAKMP SA runs at once. */
const MAX_PHASE2_PER_SA = 32;
/** How long a finished Quick Mode keeps its answer for retransmitted requests. */
const PHASE2_LINGER_MS = 60_000;

/** The engine's Quick Mode half. */
export class QuickRouter {
  /** For IPsec SAs we initiated, keyed `proto:dst:spi` (both directions): how to negotiate them again. */
  private readonly rekeyInfo = new Map<string, RekeyInfo>();
  /** Quick Modes we started and that wait for QM2, per ISAKMP SA (weak: dies with the SA). */
  private readonly waiting = new WeakMap<IsakmpSa, Set<Phase2Exchange>>();
  /** Quick Modes not yet ended, per ISAKMP SA: its destroy ends them (retransmitters, larval SPIs). */
  private readonly open = new WeakMap<IsakmpSa, Set<Phase2Exchange>>();

  constructor(private readonly host: EngineHost) {}

  /** See {@link IkeEngine.expire}. */
  expire(ev: ExpireEvent): "rekeying" | "ignored" {
    const info = this.rekeyInfo.get(`${ev.sa.proto}:${ev.sa.dst}:${ev.sa.spi}`);
    if (info === undefined) return "ignored";
    if (ev.kind === "hard") {
      for (const k of info.keys) this.rekeyInfo.delete(k);
      return "ignored";
    }
    if (info.started) return "ignored";
    info.started = true;
    this.host.negotiate(info.rule, info.local, info.remote, info.request);
    return "rekeying";
  }

  /**
   * The IPsec SA `spi` towards `dst` was deleted (peer Delete, ours, INITIAL-CONTACT): forget how
   * to rekey its pair, since no EXPIRE will ever come for it to do so.
   */
  forget(proto: "esp" | "ah", dst: string, spi: number): void {
    const info = this.rekeyInfo.get(`${proto}:${dst}:${spi}`);
    for (const k of info?.keys ?? []) this.rekeyInfo.delete(k);
  }

  /** How many IPsec SAs (both directions) we would renegotiate on a soft EXPIRE. */
  get rekeyable(): number {
    return this.rekeyInfo.size;
  }

  /** Start Quick Mode as initiator on an established ISAKMP SA; false when refused. */
  quickMode(sa: IsakmpSa, request: QuickModeRequest): boolean {
    const h = this.host;
    const rule = h.rules.get(sa);
    if (sa.state !== "established" || rule === undefined || h.opts.kernel === undefined) return false;
    let mid = 0;
    while (mid === 0 || h.sas.getPhase2(sa.icookie, sa.rcookie, mid) !== undefined) mid = h.random(4).readUInt32BE(0);
    const ex = this.newPhase2(sa, rule, mid, request);
    return sa.queue.push(async () => {
      let step: Step;
      try {
        step = await ex.task.buildI();
      } catch (err) {
        step = { kind: "fail", reason: `internal error: ${(err as Error).message ?? String(err)}` };
      }
      this.afterQuickStep(sa, ex, step, undefined);
    });
  }

  /**
   * The peer answered our Quick Mode with a protected error notify (RFC 2408 section 5: e.g.
   * NO-PROPOSAL-CHOSEN, INVALID-ID-INFORMATION): end that exchange now instead of retransmitting
   * QM1 to the limit. The exchange is the one owning the notify's ESP/AH SPI when it names one,
   * else the only Quick Mode we have outstanding with this peer; with several and no SPI, none
   * (they run to their own retransmission limit). True when an exchange was ended.
   */
  peerError(sa: IsakmpSa, notifyType: number, protocolId: number, spi: Buffer): boolean {
    const list = [...(this.waiting.get(sa) ?? [])];
    const proto = protocolId === ProtocolId.IPSEC_ESP ? "esp" : protocolId === ProtocolId.IPSEC_AH ? "ah" : undefined;
    let ex: Phase2Exchange | undefined;
    if (proto !== undefined && spi.length === 4) ex = list.find((e) => e.task.hasSpi(proto, spi.readUInt32BE(0)));
    if (ex === undefined && list.length === 1) ex = list[0];
    if (ex === undefined) return false;
    const reason = `peer refused Quick Mode: notify ${notifyType}`;
    this.host.log.info({ sa: sa.tag, mid: ex.messageId, notify: notifyType }, "Quick Mode refused by peer");
    this.host.emit("phase2-failed", sa, reason);
    this.endPhase2(sa, ex, 0);
    return true;
  }

  /** A Quick Mode message for `sa` (runs on the SA's queue). */
  async processQuick(sa: IsakmpSa, m: Message, datagram: Buffer): Promise<void> {
    const host = this.host;
    const h = m.header;
    if (sa.state !== "established") return host.drop(sa.remote, `${sa.tag}: Quick Mode on an SA that is not established`);
    if (m.kind !== "encrypted" || h.messageId === 0) return host.drop(sa.remote, `${sa.tag}: Quick Mode in the clear or with M-ID 0`);
    const rule = host.rules.get(sa);
    let ex = host.sas.getPhase2(sa.icookie, sa.rcookie, h.messageId);
    if (ex === undefined) {
      if (host.opts.kernel === undefined || rule === undefined) return host.drop(sa.remote, `${sa.tag}: no kernel for Quick Mode`);
      const mine = host.sas.phase2Count;
      if (mine >= MAX_PHASE2_PER_SA * Math.max(1, host.sas.size)) return host.drop(sa.remote, `${sa.tag}: too many Quick Modes`);
      ex = this.newPhase2(sa, rule, h.messageId);
    }
    const cached = ex.replies.match(datagram);
    if (cached !== undefined) {
      host.stats.engine.retransmitsAnswered++;
      for (const r of cached) host.send(sa, r);
      return;
    }
    const pos = ex.task.expected();
    // RFC 2408 section 3.1: the initiator asks for CONNECTED by setting the commit bit in QM1.
    if (pos === "QM1" && (h.flags & HeaderFlag.Commit) !== 0) ex.commit = true;
    if (pos === undefined) return host.drop(sa.remote, `${sa.tag}: Quick Mode ${h.messageId} message after its end`);
    const km = sa.keymat!;
    const d = km.decrypt(h.messageId, m.ciphertext);
    if (!d.ok) return host.drop(sa.remote, `${sa.tag}: ${d.code}`);
    const pm = decodeDecrypted(h, d.plaintext);
    const violation = pm.ok ? checkRules(pos, h, pm.value.payloads) : pm.error;
    if (!pm.ok || violation !== null) {
      d.discard();
      if (ex.task.role === "responder" && ex.task.state === "start") this.endPhase2(sa, ex, 0);
      return host.drop(sa.remote, `${sa.tag}: ${pos}: ${violation!.code} ${violation!.detail}`);
    }
    let step: Step;
    try {
      step = ex.task.role === "initiator" ? await ex.task.processI(pm.value.payloads) : await ex.task.processR(pm.value.payloads);
    } catch (err) {
      step = { kind: "fail", reason: `internal error: ${(err as Error).message ?? String(err)}` };
    }
    if (sa.isDead()) return;
    if (step.kind === "fail") d.discard();
    else d.commit();
    this.afterQuickStep(sa, ex, step, datagram);
  }

  private newPhase2(sa: IsakmpSa, rule: ResolvedRule, messageId: number, request?: QuickModeRequest): Phase2Exchange {
    const h = this.host;
    const task = new QuickMode(
      {
        sa,
        messageId,
        rule,
        dh: h.opts.dh,
        kernel: h.opts.kernel!,
        ipsecPolicy: h.opts.ipsecPolicy ?? (() => undefined),
        random: h.random,
        log: h.log,
      },
      request,
    );
    const ex: Phase2Exchange = { task, messageId, replies: new ReplyCache(), retransmitter: undefined };
    h.sas.setPhase2(sa.icookie, sa.rcookie, messageId, ex);
    let open = this.open.get(sa);
    if (open === undefined) {
      const set = (open = new Set<Phase2Exchange>());
      this.open.set(sa, set);
      sa.onDestroy(() => {
        for (const e of [...set]) this.endPhase2(sa, e, 0);
      });
    }
    open.add(ex);
    return ex;
  }

  private endPhase2(sa: IsakmpSa, ex: Phase2Exchange, lingerMs: number): void {
    this.open.get(sa)?.delete(ex);
    this.waiting.get(sa)?.delete(ex);
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    const kernel = this.host.opts.kernel;
    for (const l of kernel === undefined ? [] : ex.task.larvalSpis()) {
      kernel!.delete(sa.remote.address, sa.local.address, l.proto, l.spi).catch((err: unknown) => {
        // Already gone (the kernel's larval lifetime ran out first): nothing left to free.
        this.host.log.debug({ sa: sa.tag, spi: l.spi, err: String(err) }, "larval SA already gone");
      });
    }
    ex.task.destroy();
    const forget = (): void => {
      this.host.sas.deletePhase2(sa.icookie, sa.rcookie, ex.messageId);
      sa.keymat?.endExchange(ex.messageId);
    };
    if (lingerMs > 0) sa.setTimer(`qm-${ex.messageId}`, lingerMs, forget);
    else forget();
  }

  private afterQuickStep(sa: IsakmpSa, ex: Phase2Exchange, step: Step, request: Buffer | undefined): void {
    const host = this.host;
    if (step.kind === "fail") {
      // RFC 2408 section 5: tell the peer why, protected now that the ISAKMP SA exists.
      // The notify names the exchange by the initiator's ESP/AH SPI when there is one (else the
      // cookies), so an initiator with several Quick Modes outstanding knows which one failed.
      if (step.notify !== undefined && sa.state === "established") host.sendInformational(sa, [this.notifyAbout(sa, ex, step.notify)]);
      host.log.info({ sa: sa.tag, mid: ex.messageId, reason: step.reason, notify: step.notify }, "Quick Mode failed");
      host.emit("phase2-failed", sa, step.reason);
      this.endPhase2(sa, ex, 0);
      return;
    }
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    this.waiting.get(sa)?.delete(ex);
    const initiator = ex.task.role === "initiator";
    // RFC 2409 section 5.5: with the commit bit the initiator counts the SAs as up only on the
    // responder's CONNECTED, so it keeps resending QM3 until that arrives.
    const committing = initiator && host.opts.quickModeCommit === true;
    const reply = step.reply === undefined ? undefined : step.kind === "more" && committing ? { ...step.reply, commit: true } : step.reply;
    const out = reply === undefined ? undefined : host.encode(sa, reply, ExchangeType.QuickMode, ex.messageId);
    if (out !== undefined && request !== undefined) ex.replies.remember(request, [out]);
    if (out !== undefined && (step.kind === "more" || committing)) {
      // Both sides resend while waiting: the initiator QM1 for QM2, the responder QM2 for QM3,
      // a committing initiator QM3 for CONNECTED.
      const r = new Retransmitter(
        host.clock,
        host.retransmit,
        (again) => {
          if (again) host.stats.engine.retransmitsSent++;
          host.send(sa, out);
        },
        () => {
          if (step.kind === "done") void this.uninstall(sa, ex);
          host.emit("phase2-failed", sa, step.kind === "done" ? "Quick Mode: no CONNECTED" : "Quick Mode: no answer");
          this.endPhase2(sa, ex, 0);
        },
      );
      ex.retransmitter = r;
      if (initiator) {
        const set = this.waiting.get(sa) ?? new Set<Phase2Exchange>();
        set.add(ex);
        this.waiting.set(sa, set);
      }
      r.start();
    } else if (out !== undefined) {
      host.send(sa, out);
    }
    if (step.kind !== "done") return;
    if (committing) {
      ex.commit = true;
      return;
    }
    if (ex.commit === true && request !== undefined) {
      // The initiator set the commit bit: CONNECTED once our SAs are installed (RFC 2408 section
      // 4.8), also the answer to a retransmitted QM3.
      const connected = this.informational(sa, [this.notifyAbout(sa, ex, Notify.Connected)]);
      host.send(sa, connected);
      ex.replies.remember(request, [connected]);
    }
    this.finished(sa, ex);
  }

  /**
   * The responder's CONNECTED for our committed Quick Mode (matched like {@link peerError}): the
   * SAs count as up now. False when no exchange of ours waits for it.
   */
  connected(sa: IsakmpSa, protocolId: number, spi: Buffer): boolean {
    const list = [...(this.waiting.get(sa) ?? [])].filter((e) => e.commit === true);
    const proto = protocolId === ProtocolId.IPSEC_ESP ? "esp" : protocolId === ProtocolId.IPSEC_AH ? "ah" : undefined;
    let ex: Phase2Exchange | undefined;
    if (proto !== undefined && spi.length === 4) ex = list.find((e) => e.task.hasSpi(proto, spi.readUInt32BE(0)));
    if (ex === undefined && list.length === 1) ex = list[0];
    if (ex === undefined) return false;
    ex.retransmitter?.stop();
    ex.retransmitter = undefined;
    this.waiting.get(sa)?.delete(ex);
    this.finished(sa, ex);
    return true;
  }

  /** Remove the SAs a committed exchange installed and the responder never confirmed. */
  private async uninstall(sa: IsakmpSa, ex: Phase2Exchange): Promise<void> {
    const kernel = this.host.opts.kernel;
    for (const c of ex.task.result?.sas ?? []) {
      for (const [src, dst, spi] of [[sa.local.address, sa.remote.address, c.outboundSpi], [sa.remote.address, sa.local.address, c.inboundSpi]] as const) {
        // Already gone (expired or deleted by the peer): nothing to undo.
        await kernel?.delete(src, dst, c.proto, spi).catch(() => undefined);
      }
    }
  }

  /** A finished exchange: record its SAs, remember how to rekey ours, tell listeners. */
  private finished(sa: IsakmpSa, ex: Phase2Exchange): void {
    const host = this.host;
    const result = ex.task.result!;
    host.log.info(
      { sa: sa.tag, mid: ex.messageId, mode: result.mode, local: result.localId.prefix, remote: result.remoteId.prefix, pfs: result.pfsGroup, spis: result.sas.map((c) => `${c.proto}:${c.inboundSpi.toString(16)}/${c.outboundSpi.toString(16)}`).join(",") },
      "IPsec SAs installed",
    );
    host.installed.set(sa, [...(host.installed.get(sa) ?? []), ...result.sas]);
    sa.ipsecCreated += result.sas.length;
    const rule = host.rules.get(sa);
    const req = ex.task.request;
    if (req !== undefined && rule !== undefined) {
      const keys = result.sas.flatMap((c) => [`${c.proto}:${sa.local.address}:${c.inboundSpi}`, `${c.proto}:${sa.remote.address}:${c.outboundSpi}`]);
      const info: RekeyInfo = { rule, local: sa.local, remote: sa.remote, request: req, keys, started: false };
      for (const k of keys) this.rekeyInfo.set(k, info);
    }
    host.emit("phase2-up", sa, result);
    this.endPhase2(sa, ex, PHASE2_LINGER_MS);
  }

  /** A notify about exchange `ex`: protocol and SPI from its first proposal, else the cookies. */
  private notifyAbout(sa: IsakmpSa, ex: Phase2Exchange, notifyType: number): NotifyPayload {
    const about = ex.task.errorSpi();
    const spi = about === undefined ? Buffer.concat([sa.icookie, sa.rcookie]) : Buffer.alloc(4);
    if (about !== undefined) spi.writeUInt32BE(about.spi >>> 0);
    const protocolId = about === undefined ? ProtocolId.ISAKMP : about.proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH;
    return { type: PayloadType.N, doi: 1, protocolId, notifyType, spi, data: Buffer.alloc(0) };
  }

  /** A protected Informational datagram (new message ID), encoded but not sent. */
  private informational(sa: IsakmpSa, body: readonly NotifyPayload[]): Buffer {
    const mid = this.host.random(4).readUInt32BE(0) || 1;
    const out = this.host.encode(sa, { payloads: protectedInformational(sa, mid, body), encrypt: true }, ExchangeType.Informational, mid);
    sa.keymat?.endExchange(mid);
    return out;
  }
}
