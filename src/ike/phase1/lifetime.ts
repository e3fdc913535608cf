/**
 * The lifetime of an established ISAKMP SA (RFC 2407 section 4.6.3.1, RFC 2409 appendix A Life
 * Type/Duration). At its lifetime the SA is deleted (the peer is told); its IPsec SAs live on,
 * handed to a newer SA with the peer when there is one. The initiator starts that newer SA ahead
 * of time (at 90 %, the soft share ike.config gives Phase 2) while IPsec SAs still need a Phase 1.
 * A responder whose lifetime is shorter than proposed says so with RESPONDER-LIFETIME; an
 * initiator honours one it receives.
 */
import type { Clock } from "../../clock.js";
import { deleteIsakmpSa } from "../delete.js";
import type { EngineIo } from "../engine-io.js";
import type { IpsecSas } from "../ipsec-sas.js";
import type { IsakmpSa, SaTimerHandler } from "../isakmp-sa.js";
import type { IkeLog } from "../log.js";
import { isakmpResponderLifetime } from "../phase2/responder-lifetime.js";
import type { SaManager } from "../sa-manager.js";
import { DEFAULT_P1_LIFETIME_SECS } from "./proposal.js";

/** Share of the Phase 1 lifetime after which an initiator rekeys (ike.config's soft default). */
const P1_SOFT_SHARE = 0.9;

/** What Phase 1 lifetimes work with. */
export interface Phase1LifetimeContext {
  readonly sas: SaManager<unknown>;
  readonly ipsec: IpsecSas;
  readonly io: EngineIo;
  readonly clock: Clock;
  readonly log: IkeLog;
  /** Start the new Phase 1 that replaces `sa` (same peer, rule and exchange). */
  readonly rekey: (sa: IsakmpSa) => void;
}

/**
 * Lifetime timers and notices of established ISAKMP SAs. Their timers run this object's
 * {@link saTimer} (one for all SAs, not a closure held by each).
 */
export class Phase1Lifetime implements SaTimerHandler {
  constructor(private readonly ctx: Phase1LifetimeContext) {}

  /** `sa`'s `lifetime` timer fired (or its message IDs ran out): it expires; `soft`: rekey. */
  saTimer(sa: IsakmpSa, name: string): void {
    if (name === "soft") return this.rekey(sa);
    sa.transition("expired", "lifetime");
    this.handOver(sa);
    void deleteIsakmpSa(this.ctx.io, this.ctx.ipsec, sa, "lifetime expired", false);
  }

  /** Arm the lifetime timers of an established SA for `secs` counted from its establishment. */
  arm(sa: IsakmpSa, secs: number): void {
    const now = this.ctx.clock.now();
    const age = now - (sa.establishedAt ?? now);
    const life = secs * 1000;
    sa.armLifetime(Math.max(0, life - age), this);
    if (sa.role === "initiator") sa.setTimer("soft", Math.max(0, Math.floor(life * P1_SOFT_SHARE) - age), this);
  }

  /**
   * RFC 2407 section 4.6.3.1 for Phase 1: our lifetime `ours` is shorter than the one proposed
   * (`proposed`; the 8-hour default when none was), so the initiator would keep the SA longer than
   * we do. Tell it in a protected Informational right after the exchange, as Cisco IOS does (RFC
   * 2409's Main Mode messages have no place for it); a peer that ignores it (strongSwan) still
   * gets our Delete when our lifetime ends.
   */
  tell(sa: IsakmpSa, proposed: number | undefined, ours: number): void {
    if (ours >= (proposed !== undefined && proposed > 0 ? proposed : DEFAULT_P1_LIFETIME_SECS)) return;
    this.ctx.log.info({ sa: sa.tag, life: ours, proposed }, "Phase 1 RESPONDER-LIFETIME sent");
    this.ctx.io.sendInformational(sa, [isakmpResponderLifetime(sa.icookie, sa.rcookie, ours)]);
  }

  /**
   * Our initiator got the responder's Phase 1 RESPONDER-LIFETIME: a shorter lifetime replaces ours
   * (timers re-armed from establishment, so the rekey comes before the responder's Delete); a
   * longer one is no reason to keep the SA longer than we proposed. True when it was applied.
   */
  honour(sa: IsakmpSa, secs: number): boolean {
    if (sa.role !== "initiator" || sa.state !== "established" || secs <= 0 || secs >= (sa.lifeSecs ?? Number.POSITIVE_INFINITY)) return false;
    this.ctx.log.info({ sa: sa.tag, life: secs, was: sa.lifeSecs }, "Phase 1 lifetime shortened by the responder");
    sa.lifeSecs = secs;
    this.arm(sa, secs);
    return true;
  }

  /**
   * Phase 1 rekey: a new ISAKMP SA with the same peer, rule and exchange, started before `sa`
   * expires, but only while IPsec SAs negotiated under `sa` are still installed (as the original
   * does: an idle Phase 1 is left to expire) and no newer SA with the peer exists.
   */
  private rekey(sa: IsakmpSa): void {
    if (sa.state !== "established" || sa.config === undefined || this.ctx.ipsec.of(sa).length === 0) return;
    const newer = this.ctx.sas.byPeerAddress(sa.remote.address).some((o) => o !== sa && o.local.address === sa.local.address && !o.isDead() && o.createdAt > sa.createdAt);
    if (newer) return;
    this.ctx.log.info({ sa: sa.tag }, "Phase 1 rekey before expiry");
    this.ctx.rekey(sa);
  }

  /**
   * Give the IPsec SAs of an expiring SA to the newest established SA with the same peer: the same
   * address pair and the same peer identity (two users behind one NAT address share the address,
   * not their SAs: the heir's Deletes and NAT mapping would otherwise act on the other's).
   */
  private handOver(sa: IsakmpSa): void {
    const heir = this.ctx.sas.newestEstablished(sa.remote.address, sa.local.address, sa, sa.phase1?.peerId);
    if (heir !== undefined) this.ctx.ipsec.handOver(sa, heir);
  }
}
