/**
 * What an IKE engine tells its owner (the daemon, tests, the load generator) as Node events, and the
 * function its handlers raise them through.
 */
import type { IsakmpSa } from "./isakmp-sa.js";
import type { Phase1Result } from "./phase1/main-mode.js";
import type { QuickModeResult } from "./phase2/quick-mode.js";
import type { Endpoint } from "./transport.js";

/** Events of an {@link IkeEngine}. */
export interface EngineEvents {
  "phase1-up": [sa: IsakmpSa, result: Phase1Result];
  "phase1-failed": [sa: IsakmpSa, reason: string, notify: number | undefined];
  "sa-dead": [sa: IsakmpSa, reason: string];
  "phase2-up": [sa: IsakmpSa, result: QuickModeResult];
  "phase2-failed": [sa: IsakmpSa, reason: string];
  /** The peer reported an error in a protected Informational (e.g. NO-PROPOSAL-CHOSEN for our Quick Mode). */
  "peer-notify": [sa: IsakmpSa, notifyType: number];
  /** NAT-T: an authenticated message moved the SA to the peer's new endpoints (float or NAT rebinding). */
  "peer-moved": [sa: IsakmpSa, before: { readonly local: Endpoint; readonly remote: Endpoint }];
}

/** Raises one of the engine's events (the engine hands this to its handlers). */
export type EmitEvent = <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => void;
