/**
 * What the engine's routers (Quick Mode in quick-router.ts, Informational in info-router.ts) need
 * from the engine: its options, tables and the few I/O helpers that encode, send and count. The
 * engine builds one of these over its private members, so the routers see no more than this.
 */
import type { ResolvedRule } from "../config/types.js";
import type { DeletePayload, NotifyPayload } from "../codec/index.js";
import type { Clock } from "../clock.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ChosenSa } from "./phase2/install.js";
import type { QuickMode, QuickModeRequest, QuickModeResult } from "./phase2/quick-mode.js";
import type { Phase1Result } from "./phase1/main-mode.js";
import type { ReplyCache, Retransmitter, RetransmitPolicy } from "./retransmit.js";
import type { SaManager } from "./sa-manager.js";
import type { IkeStats } from "./stats.js";
import type { Outgoing } from "./step.js";
import type { Endpoint } from "./transport.js";
import type { EngineOptions } from "./engine.js";

/** One Quick Mode exchange in the SA manager's Phase 2 table. */
export interface Phase2Exchange {
  readonly task: QuickMode;
  readonly messageId: number;
  /** The last request answered and our answer (responder QM2, initiator QM3). */
  readonly replies: ReplyCache;
  retransmitter: Retransmitter | undefined;
  /**
   * The commit bit (RFC 2408 section 3.1) is in play: as responder, the peer set it on QM1 and gets
   * CONNECTED; as initiator, we set it and wait for CONNECTED after QM3.
   */
  commit?: boolean;
}

/** Events of an {@link IkeEngine}. */
export interface EngineEvents {
  "phase1-up": [sa: IsakmpSa, result: Phase1Result];
  "phase1-failed": [sa: IsakmpSa, reason: string, notify: number | undefined];
  "sa-dead": [sa: IsakmpSa, reason: string];
  "phase2-up": [sa: IsakmpSa, result: QuickModeResult];
  "phase2-failed": [sa: IsakmpSa, reason: string];
  /** The peer reported an error in a protected Informational (e.g. NO-PROPOSAL-CHOSEN for our Quick Mode). */
  "peer-notify": [sa: IsakmpSa, notifyType: number];
}

/** The engine as its routers see it. */
export interface EngineHost {
  readonly opts: EngineOptions;
  readonly stats: IkeStats;
  readonly sas: SaManager<Phase2Exchange>;
  readonly clock: Clock;
  readonly log: IkeLog;
  readonly random: (n: number) => Buffer;
  readonly retransmit: RetransmitPolicy;
  /** The ike.config rule each ISAKMP SA was made under. */
  readonly rules: ReadonlyMap<IsakmpSa, ResolvedRule>;
  /** IPsec SAs each ISAKMP SA negotiated (for Delete on shutdown and peer Deletes). */
  readonly installed: Map<IsakmpSa, ChosenSa[]>;
  encode(sa: IsakmpSa, o: Outgoing, exchangeType: number, messageId: number): Buffer;
  send(sa: IsakmpSa, datagram: Buffer): void;
  drop(remote: Endpoint, reason: string): void;
  /** Send a protected Informational (new message ID, HASH(1)). */
  sendInformational(sa: IsakmpSa, body: readonly (NotifyPayload | DeletePayload)[]): void;
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void;
  negotiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, request: QuickModeRequest): IsakmpSa;
  /** RFC 2408 section 3.14: one error notify in the clear (before keys exist). */
  notifyUnprotected(local: Endpoint, remote: Endpoint, icookie: Buffer, rcookie: Buffer, notifyType: number): void;
  initiate(rule: ResolvedRule, local: Endpoint, remote: Endpoint, mode?: "main" | "aggressive"): IsakmpSa;
  deleteSa(sa: IsakmpSa, reason?: string, withIpsec?: boolean): Promise<void>;
}
