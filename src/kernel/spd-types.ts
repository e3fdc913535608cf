/**
 * The SPD's values as the kernel interface (kernel.ts) and the SPD logic (spd.ts) share them: a
 * policy, its SA templates, what the kernel holds, what an installation did.
 */
import type { SaProto } from "./algorithms.js";
import type { SaMode, TrafficSelector } from "./traffic.js";

/** Direction of a policy; `fwd` is Linux's for traffic routed through the host (tunnel gateways). */
export type SpdDir = "in" | "out" | "fwd";
/** What a policy does with matching traffic. */
export type SpdAction = "ipsec" | "bypass" | "drop";

/** One SA a policy requires, innermost first (ESP before AH; the first one carries tunnel mode). */
export interface SpdTemplate {
  proto: SaProto;
  mode: SaMode;
  /** Tunnel endpoints (tunnel mode): the SA's source and destination. */
  src?: string;
  dst?: string;
  /** Ties SAs to this template (0: any SA with the right addresses, protocol and mode). */
  reqid?: number;
  /** IPSEC_LEVEL_USE: traffic passes when no SA exists (IPComp); default: required. */
  optional?: boolean;
}

/** A policy the daemon installs. */
export interface SpdPolicy {
  /** The caller's name for it (the ipsecinit.conf entry index), reported in ACQUIREs. 1..2^31-1. */
  id: number;
  dir: SpdDir;
  selector: TrafficSelector;
  action: SpdAction;
  /** Order among the daemon's policies, 0 first. */
  rank: number;
  templates: SpdTemplate[];
}

/** A policy as the kernel holds it. */
export interface SpdEntry extends SpdPolicy {
  /** The kernel's index of the policy (XFRM index, PF_KEY policy id). */
  index: number;
  priority: number;
  /** Whether it is in the daemon's band. */
  owned: boolean;
}

/** What `installPolicies` did. */
export interface SpdInstallReport {
  /** Policies put (new or replacing one of ours with the same selector). */
  installed: number;
  /** The daemon's policies removed because the new set no longer has them (stale ones included). */
  removed: number;
  /** New policies not installed because someone else's has the same selector and direction. */
  conflicts: Array<{ policy: SpdPolicy; existing: SpdEntry }>;
}

/** The SPD side of a kernel backend. */
export interface PolicyTable {
  /** Makes the daemon's policies exactly `policies`, replacing the previous set without a gap. */
  installPolicies(policies: readonly SpdPolicy[]): Promise<SpdInstallReport>;
  /** Removes every policy of the daemon; returns how many. */
  removePolicies(): Promise<number>;
  /** Every policy in the kernel, the daemon's marked `owned`. */
  dumpPolicies(): Promise<SpdEntry[]>;
}
