/**
 * Phase 1 routing (RFC 2409 section 5, Main and Aggressive Mode; RFC 2408 section 5 message
 * processing): every datagram queued on an ISAKMP SA comes here first. Informational and Quick
 * Mode messages go to their routers; Phase 1 messages are decrypted when keys exist, checked
 * against the codec's rules, handed to the SA's task, and the task's answer sent, cached
 * (responder) or retransmitted (initiator). An established SA gets its lifetime timers (a
 * responder whose lifetime is shorter than proposed tells the initiator, which honours it): the
 * initiator rekeys at 90 % of the lifetime while IPsec SAs still need a Phase 1, and at the end the
 * SA is deleted and its IPsec SAs handed to the newest SA with the peer.
 */
import { ExchangeType, Notify, checkRules, decodeDecrypted, decodeMessage, type Payload } from "../codec/index.js";
import { ZERO_COOKIE } from "./cookies.js";
import type { EngineHost } from "./engine-host.js";
import type { InfoRouter } from "./info-router.js";
import { isakmpNotify } from "./informational.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { phase1Channel } from "./log.js";
import { AggressiveMode } from "./phase1/aggressive-mode.js";
import type { MainMode } from "./phase1/main-mode.js";
import { DEFAULT_P1_LIFETIME_SECS } from "./phase1/proposal.js";
import { isakmpResponderLifetime } from "./phase2/responder-lifetime.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import type { QuickRouter } from "./quick-router.js";
import { Retransmitter } from "./retransmit.js";
import type { SaManager } from "./sa-manager.js";
import type { Step } from "./step.js";

/** A Phase 1 exchange task. */
export type Phase1Task = MainMode | AggressiveMode;

/** Share of the Phase 1 lifetime after which an initiator rekeys (ike.config's soft default). */
const P1_SOFT_SHARE = 0.9;

/** The newest established SA between `local` and `remote` (other than `except`). */
export function newestEstablished<P>(sas: SaManager<P>, remote: string, local: string, except?: IsakmpSa): IsakmpSa | undefined {
  let best: IsakmpSa | undefined;
  for (const o of sas.byPeerAddress(remote)) {
    if (o === except || o.state !== "established" || o.local.address !== local) continue;
    if (best === undefined || o.createdAt >= best.createdAt) best = o;
  }
  return best;
}

/** The engine's Phase 1 half. */
export class Phase1Router {
  constructor(
    private readonly host: EngineHost,
    private readonly tasks: Map<IsakmpSa, Phase1Task>,
    private readonly pendingQuick: Map<IsakmpSa, QuickModeRequest[]>,
    private readonly quick: QuickRouter,
    private readonly info: InfoRouter,
  ) {}

  /** A Phase 1 (or routed Informational/Quick Mode) datagram for `sa`, on the SA's queue. */
  async process(sa: IsakmpSa, datagram: Buffer): Promise<void> {
    if (sa.state === "dead") return;
    const cached = sa.replies.match(datagram);
    if (cached !== undefined) {
      this.host.stats.engine.retransmitsAnswered++;
      for (const r of cached) this.host.send(sa, r);
      return;
    }
    const m = decodeMessage(datagram);
    if (!m.ok) return this.host.drop(sa.remote, `${sa.tag}: ${m.error.code} at ${m.error.offset}`);
    const h = m.value.header;
    if (h.exchangeType === ExchangeType.Informational) return this.info.onInformational(sa, m.value);
    if (h.exchangeType === ExchangeType.QuickMode) return this.quick.processQuick(sa, m.value, datagram);
    const task = this.tasks.get(sa);
    if (task === undefined || h.exchangeType !== task.exchangeType || h.messageId !== 0) {
      return this.host.drop(sa.remote, `${sa.tag}: exchange ${h.exchangeType} mid ${h.messageId} not handled here`);
    }
    if (task.state === "done" || task.state === "failed") {
      return this.host.drop(sa.remote, `${sa.tag}: Main Mode message after the exchange ended`);
    }
    let payloads: readonly Payload[];
    let settle: ((good: boolean) => void) | undefined;
    if (m.value.kind === "encrypted") {
      const km = sa.keymat;
      if (km === undefined || !km.derived) return this.host.drop(sa.remote, `${sa.tag}: encrypted message before keys`);
      const d = km.decrypt(0, m.value.ciphertext);
      if (!d.ok) return this.host.drop(sa.remote, `${sa.tag}: ${d.code}`);
      const pm = decodeDecrypted(h, d.plaintext);
      if (!pm.ok) {
        d.discard();
        // Garbage after decryption almost always means the two sides hold different keys.
        return this.stepFailed(sa, { kind: "fail", notify: Notify.PayloadMalformed, reason: `decrypted body: ${pm.error.code} (wrong pre-shared key?)` });
      }
      payloads = pm.value.payloads;
      settle = (good) => (good ? d.commit() : d.discard());
    } else {
      payloads = m.value.payloads;
    }
    const pos = task.expected();
    const violation = pos === undefined ? null : checkRules(pos, h, payloads);
    if (violation !== null) {
      // A malformed message does not end the exchange: the peer may still send a good one.
      settle?.(false);
      if (!sa.keymat?.derived) this.host.notifyUnprotected(sa.local, sa.remote, sa.icookie, h.rcookie, violation.notify);
      return this.host.drop(sa.remote, `${sa.tag}: ${pos}: ${violation.code} ${violation.detail}`);
    }
    if (sa.role === "initiator" && sa.rcookie.equals(ZERO_COOKIE)) {
      if (h.rcookie.equals(ZERO_COOKIE)) return this.host.drop(sa.remote, `${sa.tag}: answer without responder cookie`);
      this.host.sas.setRcookie(sa, h.rcookie);
    }
    let step: Step;
    try {
      step = sa.role === "initiator" ? await task.processI(payloads) : await task.processR(payloads);
    } catch (err) {
      // Our own machinery (crypto, pool) failed: the SA cannot continue, the daemon can.
      settle?.(false);
      this.host.log.error({ sa: sa.tag, err: String(err) }, "Phase 1 step threw");
      return this.failSa(sa, `internal error: ${(err as Error).message ?? String(err)}`, undefined, false);
    }
    if (sa.isDead()) return;
    // An encrypted message that decrypted and parsed proves the peer holds our keys: a failure of
    // this step (HASH_I/HASH_R mismatch, unacceptable ID) goes back protected, with the IV chain
    // advanced past this message as the peer's is (RFC 2409 section 5.7: "last Phase 1 block").
    const keysShared = settle !== undefined;
    settle?.(step.kind !== "fail" || keysShared);
    if (step.kind !== "fail") {
      sa.peerAnswered = true;
      sa.retransmitter?.stop();
      sa.retransmitter = undefined;
    }
    if (step.kind === "fail" && keysShared) return this.failSa(sa, step.reason, step.notify, true, true);
    this.afterStep(sa, step, datagram);
  }

  /** Send what a step produced and move the SA on. `request` is the datagram it answered. */
  afterStep(sa: IsakmpSa, step: Step, request: Buffer | undefined): void {
    if (step.kind === "fail") return this.stepFailed(sa, step);
    const task = this.tasks.get(sa);
    const out = step.reply === undefined ? undefined : this.host.encode(sa, step.reply, task?.exchangeType ?? ExchangeType.IdentityProtection, 0);
    // A responder waits passively (the initiator retransmits), except for AM2: AM3 is final, so
    // nobody else would notice it was lost.
    const waits = sa.role === "initiator" || task instanceof AggressiveMode;
    if (out !== undefined) {
      if (!waits) {
        this.host.send(sa, out);
      } else if (step.kind === "more") {
        const r = new Retransmitter(
          this.host.clock,
          this.host.retransmit,
          (again) => {
            if (again) this.host.stats.engine.retransmitsSent++;
            this.host.send(sa, out);
          },
          () => this.failSa(sa, `no answer after ${this.host.retransmit.limit} retransmissions`, undefined, false),
        );
        sa.retransmitter = r;
        r.start();
      } else {
        this.host.send(sa, out);
      }
    }
    // A repeat of the message we just answered gets the same answer (responder: our reply;
    // initiator: the retransmitted answer from the peer makes us resend our next request).
    if (request !== undefined && out !== undefined) sa.replies.remember(request, [out]);
    if (step.kind === "done") this.established(sa);
  }

  private established(sa: IsakmpSa): void {
    const task = this.tasks.get(sa)!;
    const result = task.result!;
    sa.clearTimer("expire");
    const t = result.transform;
    sa.phase1 = {
      exchange: task instanceof AggressiveMode ? "aggressive" : "main",
      encr: t.encr,
      keyBits: result.keyBits,
      hash: t.hash,
      group: t.group,
      auth: t.auth,
      localId: result.localId,
      peerId: result.peerId,
    };
    sa.transition("established", `Phase 1 done, peer ${result.peerId}`);
    this.host.sas.markEstablished(sa);
    this.armLifetime(sa, sa.lifeSecs ?? result.lifeSecs);
    this.host.log.info(
      { sa: sa.tag, role: sa.role, peer: result.peerId, encr: result.transform.encr, bits: result.keyBits, hash: result.transform.hash, group: result.transform.group, life: result.lifeSecs },
      "Phase 1 SA established",
    );
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: true });
    if (sa.role === "responder") this.tellLifetime(sa, result.transform.lifeSecs, sa.lifeSecs ?? result.lifeSecs);
    if (result.initialContact) {
      // RFC 2407 section 4.6.3.3: the peer has rebooted; our older SAs with it are stale, and so
      // are the IPsec SAs between us (deleted before this SA's first Quick Mode, on its queue).
      const older = this.host.sas.byPeerAddress(sa.remote.address).filter((o) => o !== sa);
      void sa.queue.push(() => this.info.purgePeer(sa).then(() => undefined));
      for (const o of older) {
        o.ipsecDeleted += this.host.installed.get(o)?.length ?? 0;
        o.destroy("INITIAL-CONTACT from peer");
      }
    }
    this.host.emit("phase1-up", sa, result);
    const pending = this.pendingQuick.get(sa) ?? [];
    this.pendingQuick.delete(sa);
    for (const req of pending) this.quick.quickMode(sa, req);
  }

  /**
   * Arm the lifetime timers of an established SA for `secs` counted from its establishment. At its
   * lifetime the SA is deleted (the peer is told); its IPsec SAs live on, handed to a newer SA with
   * the peer when there is one. The initiator starts that newer SA ahead of time (at 90 %, the soft
   * share ike.config gives Phase 2) while IPsec SAs still need a Phase 1.
   */
  private armLifetime(sa: IsakmpSa, secs: number): void {
    const now = this.host.clock.now();
    const age = now - (sa.establishedAt ?? now);
    const life = secs * 1000;
    sa.setTimer("lifetime", Math.max(0, life - age), () => {
      sa.transition("expired", "lifetime");
      this.handOver(sa);
      void this.host.deleteSa(sa, "lifetime expired", false);
    });
    if (sa.role === "initiator") sa.setTimer("soft", Math.max(0, Math.floor(life * P1_SOFT_SHARE) - age), () => this.rekeyPhase1(sa));
  }

  /**
   * RFC 2407 section 4.6.3.1 for Phase 1: our lifetime `ours` is shorter than the one proposed
   * (`proposed`; the 8-hour default when none was), so the initiator would keep the SA longer than
   * we do. Tell it in a protected Informational right after the exchange, as Cisco IOS does (RFC
   * 2409's Main Mode messages have no place for it); a peer that ignores it (strongSwan) still
   * gets our Delete when our lifetime ends.
   */
  private tellLifetime(sa: IsakmpSa, proposed: number | undefined, ours: number): void {
    if (ours >= (proposed !== undefined && proposed > 0 ? proposed : DEFAULT_P1_LIFETIME_SECS)) return;
    this.host.log.info({ sa: sa.tag, life: ours, proposed }, "Phase 1 RESPONDER-LIFETIME sent");
    this.host.sendInformational(sa, [isakmpResponderLifetime(sa.icookie, sa.rcookie, ours)]);
  }

  /**
   * Our initiator got the responder's Phase 1 RESPONDER-LIFETIME: a shorter lifetime replaces ours
   * (timers re-armed from establishment, so the rekey comes before the responder's Delete); a
   * longer one is no reason to keep the SA longer than we proposed. True when it was applied.
   */
  honourLifetime(sa: IsakmpSa, secs: number): boolean {
    if (sa.role !== "initiator" || sa.state !== "established" || secs <= 0 || secs >= (sa.lifeSecs ?? Number.POSITIVE_INFINITY)) return false;
    this.host.log.info({ sa: sa.tag, life: secs, was: sa.lifeSecs }, "Phase 1 lifetime shortened by the responder");
    sa.lifeSecs = secs;
    this.armLifetime(sa, secs);
    return true;
  }

  /**
   * Phase 1 rekey: a new ISAKMP SA with the same peer, rule and exchange, started before `sa`
   * expires, but only while IPsec SAs negotiated under `sa` are still installed (as the original
   * does: an idle Phase 1 is left to expire) and no newer SA with the peer exists.
   */
  private rekeyPhase1(sa: IsakmpSa): void {
    const rule = this.host.rules.get(sa);
    if (sa.state !== "established" || rule === undefined || (this.host.installed.get(sa)?.length ?? 0) === 0) return;
    const newer = this.host.sas.byPeerAddress(sa.remote.address).some((o) => o !== sa && o.local.address === sa.local.address && !o.isDead() && o.createdAt > sa.createdAt);
    if (newer) return;
    this.host.log.info({ sa: sa.tag }, "Phase 1 rekey before expiry");
    this.host.initiate(rule, sa.local, sa.remote, sa.phase1?.exchange);
  }

  /** Give the IPsec SAs of an expiring SA to the newest established SA with the same peer. */
  private handOver(sa: IsakmpSa): void {
    const mine = this.host.installed.get(sa) ?? [];
    const heir = newestEstablished(this.host.sas, sa.remote.address, sa.local.address, sa);
    if (heir === undefined || mine.length === 0) return;
    this.host.installed.set(heir, [...(this.host.installed.get(heir) ?? []), ...mine]);
    this.host.installed.set(sa, []);
  }

  private stepFailed(sa: IsakmpSa, step: Extract<Step, { kind: "fail" }>): void {
    this.failSa(sa, step.reason, step.notify, true);
  }

  /**
   * End a Phase 1 exchange: notify the peer when asked, tell listeners, destroy. The notify goes in
   * the clear (RFC 2408 section 3.14) unless `protect`: then the peer is known to hold our Phase 1
   * keys (it sent an encrypted message we could read), and it gets a protected Informational with
   * HASH(1) (RFC 2409 section 5.7), as strongSwan sends and as Libreswan, which ignores
   * cleartext notifies, needs.
   */
  failSa(sa: IsakmpSa, reason: string, notify: number | undefined, sendNotify: boolean, protect = false): void {
    if (sa.state === "dead") return;
    if (sendNotify && notify !== undefined) {
      if (protect && sa.keymat?.derived === true) this.host.sendInformational(sa, [isakmpNotify(sa, notify)]);
      else this.host.notifyUnprotected(sa.local, sa.remote, sa.icookie, sa.rcookie, notify);
    }
    this.host.log.info({ sa: sa.tag, role: sa.role, reason, notify }, "Phase 1 failed");
    if (phase1Channel.hasSubscribers) phase1Channel.publish({ tag: sa.tag, role: sa.role, ok: false, notify, reason });
    this.host.emit("phase1-failed", sa, reason, notify);
    sa.destroy(reason);
  }
}
