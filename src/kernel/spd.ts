/**
 * The security policy database (SPD) as the daemon manages it in a real kernel: a set of policies,
 * each a selector, a direction, an action and, for IPsec, the SAs it needs (templates). Both kernel
 * backends (XFRM, PF_KEY) serve it through `PolicyTable`, with the same rules:
 *
 * - Ownership: the daemon's policies are those whose priority lies in its band
 *   [SPD_PRIORITY_BASE, SPD_PRIORITY_BASE + SPD_PRIORITY_SPAN); it never changes or removes another.
 *   Priority = base + rank, so lower ranks are checked first (Linux picks the lowest priority value).
 *   The band is stateless: a restarted daemon recognises what a previous run left.
 * - Replacement (`installPolicies`): every new policy is put with an "update" (XFRM UPDPOLICY, PF_KEY
 *   X_SPDUPDATE: an existing policy with the same selector and direction is replaced in place, never
 *   a gap), then the daemon's policies that are not in the new set are removed, stale ones of a
 *   previous run included. A new policy whose selector and direction equal a policy of someone else
 *   is not installed (the kernel would replace theirs): it is reported as a conflict.
 * - Removal (`removePolicies`): every policy in the band.
 */
import { SA_PROTOS, type SaProto } from "./algorithms.js";
import { addressFamily } from "./address.js";
import { kernelError } from "./errors.js";
import type { SaMode, TrafficSelector } from "./kernel.js";
import { checkAddress, checkSelector } from "./validate.js";

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

/** Lowest priority value of the daemon's band ("iced" in hex, below 2^31). */
export const SPD_PRIORITY_BASE = 0x1ced0000;
/** Width of the band: the most ranks. */
export const SPD_PRIORITY_SPAN = 0x10000;

/** Whether a kernel priority is the daemon's. */
export const ownedPriority = (priority: number): boolean => priority >= SPD_PRIORITY_BASE && priority < SPD_PRIORITY_BASE + SPD_PRIORITY_SPAN;

/** Most templates a policy may have (XFRM_MAX_DEPTH). */
const MAX_TEMPLATES = 6;

/** Checks a policy; throws EINVAL naming what is wrong. Returns it with canonical addresses. */
export function checkPolicy(p: SpdPolicy): SpdPolicy {
  const fail = (why: string): never => {
    throw kernelError("IKE_ERR_KERNEL_EINVAL", `policy ${String(p?.id)}: ${why}`);
  };
  if (!Number.isInteger(p.id) || p.id < 1 || p.id > 0x7fffffff) fail("id must be in 1..2^31-1");
  if (p.dir !== "in" && p.dir !== "out" && p.dir !== "fwd") fail("dir must be in, out or fwd");
  if (p.action !== "ipsec" && p.action !== "bypass" && p.action !== "drop") fail("action must be ipsec, bypass or drop");
  if (!Number.isInteger(p.rank) || p.rank < 0 || p.rank >= SPD_PRIORITY_SPAN) fail(`rank must be in 0..${SPD_PRIORITY_SPAN - 1}`);
  const selector = checkSelector(p.selector);
  if (selector === null) return fail("selector missing");
  const family = addressFamily(selector.src.split("/")[0]!);
  const templates = (p.templates ?? []).map((t, i) => {
    if (!(SA_PROTOS as readonly string[]).includes(t.proto)) fail(`template ${i}: unknown protocol`);
    if (t.mode !== "transport" && t.mode !== "tunnel") fail(`template ${i}: mode must be transport or tunnel`);
    const out: SpdTemplate = { proto: t.proto, mode: t.mode, reqid: t.reqid ?? 0, optional: t.optional === true };
    if (!Number.isInteger(out.reqid) || out.reqid! < 0 || out.reqid! > 0xffffffff) fail(`template ${i}: reqid out of range`);
    if (t.mode === "tunnel") {
      if (t.src === undefined || t.dst === undefined) fail(`template ${i}: tunnel mode needs src and dst`);
      out.src = checkAddress(t.src, "tunnel source");
      out.dst = checkAddress(t.dst, "tunnel destination");
      if (addressFamily(out.src) !== addressFamily(out.dst)) fail(`template ${i}: tunnel endpoints of different families`);
    } else if (t.src !== undefined || t.dst !== undefined) {
      fail(`template ${i}: transport mode takes no endpoints`);
    }
    return out;
  });
  if (p.action === "ipsec" ? templates.length === 0 || templates.length > MAX_TEMPLATES : templates.length !== 0) {
    fail(p.action === "ipsec" ? `ipsec needs 1..${MAX_TEMPLATES} templates` : `${p.action} takes no templates`);
  }
  if (family === 0) fail("selector family");
  return { id: p.id, dir: p.dir, selector, action: p.action, rank: p.rank, templates };
}

/** The operations a backend lends to `replacePolicies`. */
export interface SpdOps {
  /** Every policy in the kernel; `idOf` names the daemon's by kernel index. */
  dump(idOf: (index: number) => number): Promise<SpdEntry[]>;
  /** The identity the kernel replaces by (selector, direction and whatever else the backend sets). */
  identity(p: SpdPolicy): string;
  /** Adds or replaces-in-place one policy at `priority` (XFRM UPDPOLICY, PF_KEY X_SPDUPDATE). */
  put(p: SpdPolicy, priority: number): Promise<void>;
  /** Removes one policy by its index. */
  remove(e: SpdEntry): Promise<void>;
}

/** Installs `policies` as the daemon's whole set (see the file comment). Returns the report. */
export async function replacePolicies(ops: SpdOps, policies: readonly SpdPolicy[]): Promise<SpdInstallReport> {
  const wanted = policies.map(checkPolicy);
  const seen = new Map<string, number>();
  for (const p of wanted) {
    const other = seen.get(ops.identity(p));
    if (other !== undefined) throw kernelError("IKE_ERR_KERNEL_EINVAL", `policies ${other} and ${p.id} have the same selector and direction`);
    seen.set(ops.identity(p), p.id);
  }
  const before = await ops.dump(() => 0);
  const foreign = new Map(before.filter((e) => !e.owned).map((e) => [ops.identity(e), e]));
  const report: SpdInstallReport = { installed: 0, removed: 0, conflicts: [] };
  const kept = new Set<string>();
  for (const p of wanted) {
    const id = ops.identity(p);
    const other = foreign.get(id);
    if (other !== undefined) {
      report.conflicts.push({ policy: p, existing: other });
      continue;
    }
    await ops.put(p, SPD_PRIORITY_BASE + p.rank);
    kept.add(id);
    report.installed++;
  }
  // Only now do old policies go: traffic never meets a moment without the new set.
  for (const e of before) {
    if (!e.owned || kept.has(ops.identity(e))) continue;
    await ops.remove(e);
    report.removed++;
  }
  return report;
}

/** Removes every policy in the daemon's band. */
export async function removeOwnedPolicies(ops: SpdOps): Promise<number> {
  let n = 0;
  for (const e of await ops.dump(() => 0)) {
    if (!e.owned) continue;
    await ops.remove(e);
    n++;
  }
  return n;
}

/**
 * The `PolicyTable` of a backend: replacement and removal as above, and the daemon's policies by
 * kernel index (learnt from a dump after each install), which is how an ACQUIRE names its policy.
 */
export class SpdManager implements PolicyTable {
  readonly #ops: SpdOps;
  #byIndex = new Map<number, SpdPolicy>();

  constructor(ops: SpdOps) {
    this.#ops = ops;
  }

  /** The daemon's policy with this kernel index, if it is one. */
  policy(index: number): SpdPolicy | undefined {
    return this.#byIndex.get(index);
  }

  async installPolicies(policies: readonly SpdPolicy[]): Promise<SpdInstallReport> {
    const report = await replacePolicies(this.#ops, policies);
    const byIdentity = new Map(policies.map((p) => [this.#ops.identity(p), p]));
    const byIndex = new Map<number, SpdPolicy>();
    for (const e of await this.#ops.dump(() => 0)) {
      const p = e.owned ? byIdentity.get(this.#ops.identity(e)) : undefined;
      if (p !== undefined) byIndex.set(e.index, p);
    }
    this.#byIndex = byIndex;
    return report;
  }

  async removePolicies(): Promise<number> {
    const n = await removeOwnedPolicies(this.#ops);
    this.#byIndex = new Map();
    return n;
  }

  dumpPolicies(): Promise<SpdEntry[]> {
    return this.#ops.dump((index) => this.#byIndex.get(index)?.id ?? 0);
  }
}
