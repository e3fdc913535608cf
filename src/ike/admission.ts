/**
 * What a first message may cost before its sender has shown that it receives our packets (RFC 2408
 * section 2.5.3, anti-clogging), and where new responder exchanges come from:
 *
 * ```
 *  MM1 (rcookie 0) ─▶ rule, decode, MM1 rules, choose ─▶ MM2 sent; one embryonic record (embryos.ts)
 *                     an MM1 with the bytes of one answered before ─▶ its answer (mm1-answers.ts)
 *                     a retransmitted MM1 ─▶ the same MM2 again, from the record
 *  MM3 (our rcookie) ─▶ its record ─▶ half-open bounds ─▶ the ISAKMP SA, in state "mm2-sent"
 *  AM1 (rcookie 0) ─▶ half-open bounds, rule, decode, a free unverified-DH slot ─▶ the ISAKMP SA
 *                     (AM2 needs DH at once; dh-budget.ts bounds that work)
 * ```
 *
 * So a Main Mode flood, from random addresses or from a real peer's own, costs a table entry that
 * lives seconds and counts against no peer; the half-open bounds (sa-manager.ts) and `expire_timer`
 * apply from MM3 on, to addresses that returned our cookie. Aggressive Mode cannot wait for that
 * proof (AM2 carries our DH value and HASH_R): its SAs count as half-open from AM1, hold a slot of
 * the bounded DH share for unverified peers until their DH is done, and what they send before AM3
 * returns our cookie is bounded by the anti-amplification rule (amplification.ts, engine-io.ts).
 */
import { ExchangeType, HeaderFlag, Notify, checkRules, decodeMessageBody, encodeMessage, type Header, type Message } from "../codec/index.js";
import type { Clock } from "../clock.js";
import { unpooledCopy } from "../crypto/unpooled-copy.js";
import type { ResolvedRule } from "../config/types.js";
import { ZERO_COOKIE, type CookieJar } from "./cookies.js";
import { DhBudget } from "./dh-budget.js";
import { EmbryoTable, embryoKey, type EmbryoLimits } from "./embryos.js";
import type { EngineIo } from "./engine-io.js";
import { keep, type ResponderAdmission } from "./inbound.js";
import { failureOfNotify } from "./negotiation-stats.js";
import type { IsakmpSa, IsakmpSaInit } from "./isakmp-sa.js";
import { chosenVid, nattVersionOf } from "./natt.js";
import { Mm1Answers, reusedMm2 } from "./mm1-answers.js";
import { answerMm1, type Mm1Record, type UsableMethods } from "./phase1/mm1.js";
import type { Phase1Policy } from "./ports.js";
import { sameEndpoint, type SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";
import type { Endpoint } from "./transport.js";

/** Makes the responder SA and its task (the Phase 1 handler). */
export interface ResponderFactory {
  /**
   * A new responder ISAKMP SA under `rule` with its Main or Aggressive Mode task, in state
   * "negotiating"; for Main Mode resumed from `mm1` (MM2 has gone).
   */
  startResponder(init: IsakmpSaInit, rule: ResolvedRule, mode: "main" | "aggressive", mm1?: Mm1Record, firstStepDone?: () => void): IsakmpSa;
  /** The authentication methods we can use under `rule` (certificates and keys held). */
  usableMethods(rule: ResolvedRule): UsableMethods;
}

/** What admission works with. */
export interface AdmissionContext {
  readonly sas: SaManager<unknown>;
  readonly io: EngineIo;
  readonly policy: Phase1Policy;
  readonly cookies: CookieJar;
  readonly clock: Clock;
  readonly stats: IkeStats;
  readonly responders: ResponderFactory;
  /** Default Phase 1 lifetime, seconds (ike.config `p1_lifetime_secs`). */
  readonly p1LifetimeSecs: number | undefined;
  readonly embryos?: EmbryoLimits;
  /** DH computations unverified peers (AM1) may have in flight at once. */
  readonly unverifiedDh?: number;
  /** NAT-T is on (a NAT-T port is bound): MM1's NAT-T vendor IDs are answered. */
  readonly natt?: boolean;
}

/** A new responder SA and its first message (our copy), decoded when admission had to decode it. */
type Admitted = { sa: IsakmpSa; datagram: Buffer; header: Header; message?: Message };

/** The engine's admission of first messages. */
export class Admission implements ResponderAdmission {
  readonly embryos: EmbryoTable;
  /** Answers reused for MM1s whose bytes (but the cookies) were answered before. */
  readonly answers = new Mm1Answers();
  /** The DH slots of exchanges whose peer has not returned our cookie (Aggressive Mode). */
  readonly unverifiedDh: DhBudget;

  constructor(private readonly ctx: AdmissionContext) {
    this.embryos = new EmbryoTable(ctx.clock, ctx.embryos);
    this.unverifiedDh = new DhBudget(ctx.unverifiedDh);
  }

  admit(received: Buffer, h: Header, local: Endpoint, remote: Endpoint): Admitted | undefined {
    const first = h.rcookie.equals(ZERO_COOKIE);
    if (h.messageId !== 0 || (h.flags & HeaderFlag.Encryption) !== 0) {
      this.ctx.io.drop(remote, first ? "first message with message ID or E flag" : `no SA for ${h.icookie.toString("hex")}/${h.rcookie.toString("hex")}`);
      return undefined;
    }
    if (h.exchangeType === ExchangeType.IdentityProtection) {
      if (first) this.answerMm1(received, h, local, remote);
      return first ? undefined : this.promote(received, h, local, remote);
    }
    if (!first) {
      this.ctx.io.drop(remote, `no SA for ${h.icookie.toString("hex")}/${h.rcookie.toString("hex")} exch ${h.exchangeType}`);
      return undefined;
    }
    return this.admitAm1(received, h, local, remote);
  }

  /** Forget every embryonic exchange (engine closed). */
  close(): void {
    this.embryos.clear();
  }

  /** MM1: answered from the embryonic table, or chosen and answered now; never an SA. */
  private answerMm1(received: Buffer, h: Header, local: Endpoint, remote: Endpoint): void {
    const { io, stats, cookies, policy } = this.ctx;
    const rcookie = cookies.rcookie(h.icookie, remote, local);
    const key = embryoKey(h.icookie, rcookie);
    const known = this.embryos.get(key);
    if (known !== undefined) {
      if (!known.mm1.equals(received)) return io.drop(remote, "another MM1 for an embryonic exchange");
      stats.engine.retransmitsAnswered++;
      return io.sendTo(local, remote, known.mm2);
    }
    const rule = policy.ruleFor(local.address, remote.address);
    if (rule === undefined) {
      io.notifyUnprotected(local, remote, h.icookie, rcookie, Notify.NoProposalChosen);
      return io.drop(remote, `no rule for ${local.address} <- ${remote.address}`);
    }
    const usable = this.ctx.responders.usableMethods(rule);
    const reuseKey = this.answers.key(received, usable.methods, this.ctx.p1LifetimeSecs);
    const reused = reuseKey !== undefined ? this.answers.get(rule, reuseKey) : undefined;
    const { datagram, header } = keep(received, h);
    if (reused !== undefined) {
      const { choice, peerDpd, natt } = reused;
      const mm2 = reusedMm2(reused, header.icookie, rcookie);
      this.embryos.put(key, {
        local, remote, rule: rule.rule.label, choice, mm1: datagram, saiB: datagram.subarray(reused.saiStart, reused.saiEnd), mm2, bornAt: this.ctx.clock.now(), peerDpd,
        ...(natt !== undefined ? { natt } : {}),
      });
      stats.engine.embryonic++;
      stats.engine.embryonicEvicted = this.embryos.evicted;
      return io.sendTo(local, remote, mm2);
    }
    const m = decodeMessageBody(header, datagram);
    if (!m.ok) {
      io.notifyUnprotected(local, remote, h.icookie, rcookie, m.error.notify);
      return io.drop(remote, `MM1: ${m.error.code} at ${m.error.offset}`);
    }
    // No SA will queue this message, so MM1's codec rules are checked here (the dispatcher does it
    // for every message that reaches an SA).
    const payloads = m.value.kind === "plain" ? m.value.payloads : [];
    const violation = checkRules("MM1", header, payloads);
    if (violation !== null) return this.refuseMm1(local, remote, h.icookie, rcookie, violation.notify, `MM1: ${violation.code} ${violation.detail}`);
    const answer = answerMm1(payloads, rule, usable, this.ctx.p1LifetimeSecs);
    if ("notify" in answer) return this.refuseMm1(local, remote, h.icookie, rcookie, answer.notify, `MM1 refused: ${answer.reason}`);
    // RFC 3947 section 3.1: MM2 names the one NAT-T version chosen of those MM1 announced.
    const natt = this.ctx.natt === true ? nattVersionOf(payloads) : undefined;
    const mm2Payloads = natt === undefined ? answer.reply : [...answer.reply, chosenVid(natt)];
    const mm2 = encodeMessage({ icookie: header.icookie, rcookie, exchangeType: ExchangeType.IdentityProtection, flags: 0, messageId: 0 }, mm2Payloads);
    this.embryos.put(key, {
      local, remote, rule: rule.rule.label, choice: answer.choice, mm1: datagram, saiB: answer.saiB, mm2, bornAt: this.ctx.clock.now(), peerDpd: answer.peerDpd === true,
      ...(natt !== undefined ? { natt } : {}),
    });
    stats.engine.embryonic++;
    stats.engine.embryonicEvicted = this.embryos.evicted;
    // SAi_b is a view into our copy of MM1 (the codec keeps payload bodies as views): its place is
    // what the next MM1 with these bytes needs.
    const saiStart = answer.saiB.byteOffset - datagram.byteOffset;
    if (reuseKey !== undefined && answer.saiB.buffer === datagram.buffer && saiStart >= 0 && saiStart + answer.saiB.length <= datagram.length) {
      this.answers.put(rule, reuseKey, {
        choice: answer.choice, saiStart, saiEnd: saiStart + answer.saiB.length, peerDpd: answer.peerDpd === true, tail: unpooledCopy(mm2.subarray(16)),
        ...(natt !== undefined ? { natt } : {}),
      });
    }
    io.sendTo(local, remote, mm2);
  }

  /**
   * An MM1 that a rule covers but that cannot be answered (its payloads break MM1's rules, or no
   * transform is acceptable): the notify in the clear, and a responder negotiation counted as
   * started and failed, though no SA was ever made for it.
   */
  private refuseMm1(local: Endpoint, remote: Endpoint, icookie: Buffer, rcookie: Buffer, notify: number, reason: string): void {
    const counts = this.ctx.stats.negotiations.phase1.main.responder;
    counts.started++;
    counts.failed[failureOfNotify(notify)]++;
    this.ctx.io.notifyUnprotected(local, remote, icookie, rcookie, notify);
    this.ctx.io.drop(remote, reason);
  }

  /**
   * MM3 naming no SA: our cookie came back, so the sender receives what we send to its address.
   * Only now does the exchange become an ISAKMP SA (and count as half-open for that address).
   */
  private promote(received: Buffer, h: Header, local: Endpoint, remote: Endpoint): Admitted | undefined {
    const { io, sas, stats, cookies, policy } = this.ctx;
    const key = embryoKey(h.icookie, h.rcookie);
    const e = this.embryos.get(key);
    if (e === undefined) {
      // Ours but gone (expired, evicted) or never ours: either way nothing to go on with.
      const ours = cookies.isOurs(h.rcookie, h.icookie, remote, local);
      if (ours) stats.engine.embryonicMissed++;
      io.drop(remote, ours ? "MM3 after its embryonic exchange expired or was evicted" : `no SA for ${h.icookie.toString("hex")}/${h.rcookie.toString("hex")}`);
      return undefined;
    }
    if (!sameEndpoint(e.remote, remote) || !sameEndpoint(e.local, local)) {
      io.drop(remote, "MM3 from another endpoint than its MM1");
      return undefined;
    }
    if (sas.lookup(h.icookie, ZERO_COOKIE, remote) !== undefined) {
      io.drop(remote, "MM3 for an initiator cookie already in use with this address");
      return undefined;
    }
    // Refused, the record stays: a retransmitted MM3 may find room.
    if (!this.halfOpenRoom(remote)) return undefined;
    const rule = policy.ruleFor(local.address, remote.address);
    if (rule === undefined || rule.rule.label !== e.rule) {
      this.embryos.delete(key);
      io.drop(remote, `MM3: rule ${e.rule} no longer covers ${remote.address}`);
      return undefined;
    }
    // MM3 is decoded on the SA's queue like any later message: with RSA encryption its ID and
    // NONCE are sealed, which only the task knows how to read (dispatch.ts asks it).
    const { datagram, header } = keep(received, h);
    this.embryos.delete(key);
    const sa = this.ctx.responders.startResponder(
      { role: "responder", icookie: h.icookie, rcookie: h.rcookie, local, remote, rule: rule.rule.label, config: rule },
      rule,
      "main",
      { choice: e.choice, saiB: e.saiB, peerDpd: e.peerDpd, ...(e.natt !== undefined ? { natt: e.natt } : {}) },
    );
    sa.replies.remember(e.mm1, [e.mm2]);
    return { sa, datagram, header };
  }

  /** Whether a new responder SA with `remote` fits the half-open bounds (refusals counted and logged). */
  private halfOpenRoom(remote: Endpoint): boolean {
    const refusal = this.ctx.sas.admitResponder(remote);
    if (refusal === null) return true;
    this.ctx.stats.engine.halfOpenRefused++;
    this.ctx.io.drop(remote, refusal);
    return false;
  }

  /**
   * AM1: AM2 needs our DH value at once, so the SA exists from here (half-open bounds first), and
   * the exchange holds one of the unverified-DH slots until its DH step is done.
   */
  private admitAm1(received: Buffer, h: Header, local: Endpoint, remote: Endpoint): Admitted | undefined {
    const { io, stats, policy, cookies } = this.ctx;
    if (!this.halfOpenRoom(remote)) return undefined;
    const rule = policy.ruleFor(local.address, remote.address);
    const rcookie = cookies.rcookie(h.icookie, remote, local);
    if (rule === undefined) {
      io.notifyUnprotected(local, remote, h.icookie, rcookie, Notify.NoProposalChosen);
      io.drop(remote, `no rule for ${local.address} <- ${remote.address}`);
      return undefined;
    }
    const { datagram, header } = keep(received, h);
    const m = decodeMessageBody(header, datagram);
    if (!m.ok) {
      io.notifyUnprotected(local, remote, h.icookie, rcookie, m.error.notify);
      io.drop(remote, `AM1: ${m.error.code} at ${m.error.offset}`);
      return undefined;
    }
    const release = this.unverifiedDh.take();
    if (release === undefined) {
      // Every slot is busy with an unverified peer: no DH for this one (a real initiator retransmits).
      stats.engine.unverifiedDhRefused++;
      io.drop(remote, `AM1: all ${this.unverifiedDh.capacity} DH slots for unverified peers busy`);
      return undefined;
    }
    const init = { role: "responder" as const, icookie: h.icookie, rcookie, local, remote, rule: rule.rule.label, config: rule };
    const sa = this.ctx.responders.startResponder(init, rule, "aggressive", undefined, release);
    return { sa, datagram, header, message: m.value };
  }
}
