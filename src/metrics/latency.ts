/**
 * Negotiation latency as histograms, observed from the engine's events (no timing code in the
 * engine):
 *
 * - `phase1_duration_seconds{exchange,role}`: from the ISAKMP SA's creation (our first message, or
 *   the peer's first one reaching us) to its establishment; both times are the SA's own.
 * - `negotiation_duration_seconds{role}`: Phase 1 and Phase 2 together, from the ISAKMP SA's
 *   creation to the first IPsec SAs installed under it: what an ACQUIRE waits for when no ISAKMP
 *   SA exists yet. Later Quick Modes on the same SA are not observed here.
 *
 * Observing costs one bucket search per negotiation; nothing is kept per SA beyond a WeakSet entry
 * until its first Quick Mode.
 */
import { Histogram, type Registry } from "prom-client";
import type { Clock } from "../clock.js";
import type { IkeEngine } from "../ike/engine.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";

/** Bucket bounds in seconds: loopback handshakes take milliseconds, lossy WAN ones seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The two latency histograms. */
export class LatencyHistograms {
  readonly phase1: Histogram<"exchange" | "role">;
  readonly negotiation: Histogram<"role">;

  constructor(registry: Registry, prefix: string) {
    this.phase1 = new Histogram({
      name: `${prefix}phase1_duration_seconds`,
      help: "Time from an ISAKMP SA's first message to its establishment",
      labelNames: ["exchange", "role"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.negotiation = new Histogram({
      name: `${prefix}negotiation_duration_seconds`,
      help: "Time from an ISAKMP SA's first message to the first IPsec SAs installed under it (Phase 1 + Phase 2)",
      labelNames: ["role"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Observe `engine` from now on (`clock`: the engine's, for the Phase 1 + 2 end time). Returns a
   * function that stops observing.
   */
  observe(engine: IkeEngine, clock: Clock): () => void {
    const firstQuickPending = new WeakSet<IsakmpSa>();
    const onPhase1 = (sa: IsakmpSa): void => {
      if (sa.establishedAt === undefined) return;
      firstQuickPending.add(sa);
      this.phase1.observe({ exchange: sa.phase1?.exchange ?? sa.exchange ?? "main", role: sa.role }, (sa.establishedAt - sa.createdAt) / 1000);
    };
    const onPhase2 = (sa: IsakmpSa): void => {
      if (!firstQuickPending.delete(sa)) return;
      this.negotiation.observe({ role: sa.role }, Math.max(0, clock.now() - sa.createdAt) / 1000);
    };
    engine.on("phase1-up", onPhase1);
    engine.on("phase2-up", onPhase2);
    return () => {
      engine.off("phase1-up", onPhase1);
      engine.off("phase2-up", onPhase2);
    };
  }
}
