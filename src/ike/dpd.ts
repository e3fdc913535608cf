/**
 * Dead Peer Detection, RFC 3706. Both peers announce it with a vendor ID in Phase 1 (section 5.1);
 * once both did, either may ask the other "are you there" at any time in a protected Informational:
 *
 * ```
 *  HDR*, HASH(1), N(R-U-THERE, SPI = CKY-I|CKY-R, data = seq)      -->
 *                                       <--  HDR*, HASH(1), N(R-U-THERE-ACK, same SPI, same seq)
 * ```
 *
 * We ask only when the peer has been idle (section 5.5, "worry metric"): nothing verified from it,
 * no IKE message and no inbound IPsec traffic (the kernel's byte and packet counters of the inbound
 * SAs it negotiated), for the rule's `dpd_interval_secs`. Unanswered, the R-U-THERE is followed by
 * another one every interval, each with the next sequence number (section 7: a random start, then
 * one up per message); after `dpd_retries` unanswered ones the peer is dead: its ISAKMP SAs with us
 * and the IPsec SAs they negotiated are deleted, kernel SAs included (also those that outlived
 * their ISAKMP SA). The IPsec policy stays, so the next outbound packet raises a fresh ACQUIRE and
 * a fresh negotiation. An ACK counts only with the sequence number of one of our unanswered
 * probes; any other is ignored. A peer's R-U-THERE older than its last one is a replay and gets no
 * answer (the message-ID check drops exact replays first).
 */
import { Notify, PayloadType, type NotifyPayload, type Payload, type VendorIdPayload } from "../codec/index.js";
import type { Clock } from "../clock.js";
import type { ResolvedRule } from "../config/types.js";
import type { Kernel } from "../kernel/kernel.js";
import type { EngineIo } from "./engine-io.js";
import { dpdNotify } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import { NO_PROBES } from "./dpd-state.js";
import type { IkeLog } from "./log.js";
import type { Phase1Policy } from "./ports.js";
import { saUse } from "./sa-use.js";
import type { SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";

/** RFC 3706 section 5.1: the DPD vendor ID (version 1.0). */
export const DPD_VENDOR_ID: Buffer = Buffer.from("afcad71368a1f1c96b8696fc77570100", "hex");

/** The vendor IDs a rule has us send in Phase 1: DPD's when `dpd_interval_secs` is above 0. */
export function dpdVendorIds(rule: ResolvedRule): VendorIdPayload[] {
  return rule.dpdIntervalSecs > 0 ? [{ type: PayloadType.VID, data: Buffer.from(DPD_VENDOR_ID) }] : [];
}

/** Whether a Phase 1 message carries the DPD vendor ID. */
export function hasDpdVendorId(payloads: readonly Payload[]): boolean {
  return payloads.some((p) => p.type === PayloadType.VID && p.data.equals(DPD_VENDOR_ID));
}

/** The 4-byte sequence number of an R-U-THERE or ACK about `sa` (SPI = its cookies), or undefined. */
export function dpdSequence(sa: IsakmpSa, spi: Buffer, data: Buffer): number | undefined {
  if (data.length !== 4 || spi.length !== 16) return undefined;
  if (!spi.subarray(0, 8).equals(sa.icookie) || !spi.subarray(8).equals(sa.rcookie)) return undefined;
  return data.readUInt32BE(0);
}

/** The notify of an R-U-THERE or R-U-THERE-ACK with sequence number `seq`. */
function dpdNotifyPayload(sa: IsakmpSa, notifyType: number, seq: number): NotifyPayload {
  const data = Buffer.alloc(4);
  data.writeUInt32BE(seq >>> 0);
  return dpdNotify(sa, notifyType, data);
}

/** What the prober works with. */
export interface DpdContext {
  readonly sas: SaManager<unknown>;
  readonly io: EngineIo;
  readonly ipsec: IpsecSas;
  readonly kernel: Kernel | undefined;
  readonly policy: Phase1Policy;
  readonly clock: Clock;
  readonly random: (n: number) => Buffer;
  readonly log: IkeLog;
  readonly stats: IkeStats;
}

/** Interval and retries in force for `sa`: its rule as loaded now (a SIGHUP applies), else as negotiated. */
function settingsOf(ctx: DpdContext, sa: IsakmpSa): { ms: number; retries: number } {
  const rule = (sa.rule !== undefined ? ctx.policy.ruleByLabel(sa.rule) : undefined) ?? sa.config;
  return { ms: (rule?.dpdIntervalSecs ?? 0) * 1000, retries: rule?.dpdRetries ?? 1 };
}

/** The engine's DPD prober and responder. */
export class DeadPeerDetection {
  constructor(private readonly ctx: DpdContext) {}

  /** `sa` is established: probe when idle if both sides sent the vendor ID. */
  start(sa: IsakmpSa): void {
    const d = sa.dpd;
    if (!d.weSent || !d.peerSent) return;
    d.active = true;
    sa.heard();
    this.arm(sa, settingsOf(this.ctx, sa).ms);
  }

  /** A verified R-U-THERE: answered with the same sequence number, unless it is a replay. */
  ruThere(sa: IsakmpSa, spi: Buffer, data: Buffer): void {
    const seq = dpdSequence(sa, spi, data);
    if (seq === undefined) return this.ctx.io.drop(sa.remote, `${sa.tag}: R-U-THERE with a bad SPI or sequence number`);
    const last = sa.dpd.peerSeq;
    // Serial-number order (RFC 1982), since the sequence wraps: older than the last one is a replay.
    if (last !== undefined && seq !== last && ((last - seq) >>> 0) < 0x80000000) {
      return this.ctx.io.drop(sa.remote, `${sa.tag}: R-U-THERE ${seq} older than ${last} (replay)`);
    }
    sa.dpd.peerSeq = seq;
    this.ctx.io.sendInformational(sa, [dpdNotifyPayload(sa, Notify.RUThereAck, seq)]);
  }

  /** A verified R-U-THERE-ACK: counts only with the sequence number of one of our unanswered probes. */
  ack(sa: IsakmpSa, spi: Buffer, data: Buffer): void {
    const d = sa.dpd;
    const seq = dpdSequence(sa, spi, data);
    if (seq === undefined || !d.unanswered.includes(seq)) {
      this.ctx.stats.engine.dpdAcksIgnored++;
      return this.ctx.io.drop(sa.remote, `${sa.tag}: R-U-THERE-ACK ${seq ?? "(malformed)"} answers no probe of ours`);
    }
    this.ctx.stats.engine.dpdAcks++;
    d.lastAck = this.ctx.clock.now();
    d.unanswered = NO_PROBES;
    d.probingSince = undefined;
    this.ctx.log.debug({ sa: sa.tag, seq }, "R-U-THERE-ACK");
    if (d.active) this.arm(sa, settingsOf(this.ctx, sa).ms);
  }

  private arm(sa: IsakmpSa, ms: number): void {
    if (ms <= 0) return;
    sa.setTimer("dpd", ms, () => {
      // On the SA's queue: the probe advances the SA's IV state like any other message.
      if (!sa.queue.push(() => this.tick(sa))) this.arm(sa, ms);
    });
  }

  private async tick(sa: IsakmpSa): Promise<void> {
    const d = sa.dpd;
    if (sa.state !== "established" || !d.active) return;
    const { ms, retries } = settingsOf(this.ctx, sa);
    // A reload turned DPD off for this rule: no more probes (the peer may still ask us).
    if (ms <= 0) {
      d.active = false;
      d.unanswered = NO_PROBES;
      d.probingSince = undefined;
      return;
    }
    const now = this.ctx.clock.now();
    if (d.probingSince !== undefined && d.lastHeard > d.probingSince) {
      // Heard from it since the probes started (its own message, its traffic): alive.
      d.unanswered = NO_PROBES;
      d.probingSince = undefined;
    }
    if (d.unanswered.length === 0) {
      const idle = now - d.lastHeard;
      if (idle < ms) return this.arm(sa, ms - idle);
      if (await this.inboundTraffic(sa)) {
        if (sa.isDead()) return;
        sa.heard();
        return this.arm(sa, ms);
      }
      if (sa.isDead()) return;
    } else if (d.unanswered.length >= retries) {
      return this.dead(sa, d.unanswered.length);
    }
    this.probe(sa, now);
    this.arm(sa, ms);
  }

  private probe(sa: IsakmpSa, now: number): void {
    const d = sa.dpd;
    // RFC 3706 section 7: the first sequence number random, then one up per R-U-THERE.
    const seq = d.seq === undefined ? this.ctx.random(4).readUInt32BE(0) : (d.seq + 1) >>> 0;
    d.seq = seq;
    d.unanswered = d.unanswered.concat(seq);
    d.probingSince ??= now;
    this.ctx.stats.engine.dpdProbes++;
    this.ctx.log.debug({ sa: sa.tag, seq, unanswered: d.unanswered.length }, "R-U-THERE sent");
    this.ctx.io.sendInformational(sa, [dpdNotifyPayload(sa, Notify.RUThere, seq)]);
  }

  /**
   * Whether an inbound IPsec SA negotiated under `sa` carried traffic since the last look (its
   * kernel byte or packet count rose). An SA gone from the kernel says no; one the kernel cannot
   * report now (an error other than "no such SA") says no too and keeps its last count, so the next
   * look compares with that, not with zero.
   */
  private async inboundTraffic(sa: IsakmpSa): Promise<boolean> {
    const kernel = this.ctx.kernel;
    if (kernel === undefined) return false;
    let seen = false;
    for (const c of this.ctx.ipsec.of(sa)) {
      const key = `${c.proto}:${c.inboundSpi}`;
      const use = await saUse(kernel, this.ctx.log, sa.remote.address, sa.local.address, c.proto, c.inboundSpi);
      // Gone from the kernel (expired, deleted): it carries nothing.
      if (use === "gone") sa.dpd.inboundUse?.delete(key);
      else if (use !== "unknown") {
        if (use > (sa.dpd.inboundUse?.get(key) ?? 0)) seen = true;
        (sa.dpd.inboundUse ??= new Map()).set(key, use);
      }
    }
    return seen;
  }

  /**
   * The peer is dead: every ISAKMP SA with it on this address pair that has not heard from it since
   * the probes began goes, and with each the IPsec SAs it negotiated, from the kernel too (an SA it
   * made or answered meanwhile, a peer back from a reboot, stays). No Delete is sent: nobody would
   * read it.
   */
  private async dead(sa: IsakmpSa, probes: number): Promise<void> {
    const { sas, ipsec, log, stats } = this.ctx;
    stats.engine.dpdPeersDead++;
    log.info({ sa: sa.tag, probes }, "DPD: peer dead, its SAs deleted");
    const since = sa.dpd.probingSince ?? sa.dpd.lastHeard;
    const all = sas
      .byPeerAddress(sa.remote.address)
      .filter((o) => o.local.address === sa.local.address && !o.isDead() && (o === sa || o.dpd.lastHeard < since));
    // Pairs of the peer whose ISAKMP SA went before (IpsecSas orphans) go as well.
    await ipsec.removeOrphansOf(sa);
    for (const o of all) {
      for (const c of [...ipsec.of(o)]) await ipsec.removePair(o, c.proto, c.outboundSpi, c.inboundSpi);
      o.destroy(`dead peer (DPD: ${probes} R-U-THERE unanswered)`);
    }
  }
}
