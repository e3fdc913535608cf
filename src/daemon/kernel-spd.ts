/**
 * What the daemon keeps in a real kernel besides negotiated SAs — wiring only: the SPD made from
 * ipsecinit.conf, and the removal of what a previous run left. With the in-memory SADB (which has
 * no SPD) every method does nothing.
 *
 * - Start: SAs tagged with the daemon's reqid (IKED_REQID, kernel.ts) are a previous run's (one
 *   daemon per network namespace: the pid lock) and are deleted; then the policy is installed, and
 *   installing removes the stale policies in the daemon's priority band (kernel/spd.ts). If the
 *   kernel refuses part of the set, what went in is taken out again and start-up fails.
 * - Reload (SIGHUP): the new set replaces the old one in place (no moment without policy). If the
 *   kernel refuses part of it, the previous set is put back and the reload fails as a whole.
 * - Stop: the daemon's policies go, then any SA with its reqid that the Deletes left.
 *
 * Tunnel endpoints: a `tunnel NAME` entry of ipsecinit.conf takes the outer addresses of the
 * ike.config rule labelled NAME, which must have one local_addr and one remote_addr (single
 * addresses). Entries the kernel cannot express (tunnel names without such a rule, ICMP ranges ...)
 * are errors of the policy file, found before it gets here (policy/spd.ts `spdErrors`); should one
 * arrive anyway, the whole set is refused, never installed without it. So is a set with a policy
 * that clashes with another program's (same selector and direction): at start nothing of it stays
 * in the kernel and start-up fails; on reload the previous set goes back.
 */
import type { IkeConfig } from "../config/types.js";
import { IKED_REQID, type Kernel } from "../kernel/kernel.js";
import type { SpdPolicy } from "../kernel/spd.js";
import type { Logger } from "../log/logger.js";
import { formatPolicyError, type IpsecPolicy } from "../policy/index.js";
import { spdErrors, spdFromIpsecPolicy, type TunnelEndpoints } from "../policy/spd.js";

/** The one address of a rule's address list, when it names exactly one host. */
function oneHost(list: IkeConfig["rules"][number]["localAddr"]): string | undefined {
  if (list.length !== 1) return undefined;
  const a = list[0]!;
  if (a.kind === "single") return a.addr;
  if (a.kind === "prefix" && a.prefixLen === (a.family === 4 ? 32 : 128)) return a.addr;
  return undefined;
}

/** Tunnel endpoints by name: the ike.config rule with that label (see the file comment). */
export function tunnelEndpoints(config: IkeConfig): (name: string) => TunnelEndpoints | undefined {
  return (name) => {
    const rule = config.rules.find((r) => r.label === name);
    if (rule === undefined) return undefined;
    const local = oneHost(rule.localAddr);
    const remote = oneHost(rule.remoteAddr);
    return local === undefined || remote === undefined ? undefined : { local, remote };
  };
}

/** The daemon's policies and SAs in a real kernel. */
export class KernelSpd {
  #installed: SpdPolicy[] = [];

  constructor(
    private readonly kernel: Kernel,
    private readonly log: Logger,
  ) {}

  /** Whether the kernel has an SPD (a real kernel). */
  get active(): boolean {
    return this.kernel.installPolicies !== undefined;
  }

  /** Start-up: the previous run's SAs out, this policy in. Throws when the kernel refuses it. */
  async start(policy: IpsecPolicy | undefined, config: IkeConfig): Promise<void> {
    if (!this.active) return;
    const stale = await this.removeOwnSas();
    if (stale > 0) this.log.info("removed SAs a previous in.iked left in the kernel", { sas: stale });
    try {
      await this.install(this.translate(policy, config));
    } catch (err) {
      // Start-up fails: what went in before the refusal must not stay behind.
      await this.kernel.removePolicies!().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Reload: makes `policy` the kernel's (under `config`'s tunnel endpoints); on a refusal the
   * previous set goes back and this throws, so the reload fails as a whole.
   */
  async replace(policy: IpsecPolicy | undefined, config: IkeConfig): Promise<void> {
    if (!this.active) return;
    const previous = this.#installed;
    try {
      await this.install(this.translate(policy, config));
    } catch (err) {
      this.log.error("the kernel refused the new IPsec policy; the previous one is put back", { err: (err as Error).message });
      // The previous set as far as the kernel takes it now (a clash that came since is logged).
      await this.put(previous).catch((again: Error) => this.log.error("cannot put the previous IPsec policy back", { err: again.message }));
      this.#installed = previous;
      throw err;
    }
  }

  /** Stop: the daemon's policies and remaining SAs out of the kernel. */
  async stop(): Promise<void> {
    if (!this.active) return;
    const policies = await this.kernel.removePolicies!();
    const sas = await this.removeOwnSas();
    this.#installed = [];
    this.log.info("IPsec policy and SAs removed from the kernel", { policies, sas });
  }

  /** Deletes every SA carrying the daemon's reqid; returns how many went. */
  private async removeOwnSas(): Promise<number> {
    let n = 0;
    for (const sa of await this.kernel.dump()) {
      if (sa.reqid !== IKED_REQID) continue;
      try {
        await this.kernel.delete(sa.src, sa.dst, sa.proto, sa.spi);
        n++;
      } catch (err) {
        // Gone meanwhile (expired, deleted by the engine or someone else): nothing to remove.
        this.log.debug("pfkey", "SA already gone", { spi: sa.spi.toString(16), err: (err as Error).message });
      }
    }
    return n;
  }

  private translate(policy: IpsecPolicy | undefined, config: IkeConfig): SpdPolicy[] {
    if (policy === undefined) return [];
    const tunnels = tunnelEndpoints(config);
    // All or nothing: a set without one of the file's entries would let its traffic through.
    const refused = spdErrors(policy, tunnels)[0];
    if (refused !== undefined) throw new Error(formatPolicyError(refused));
    const t = spdFromIpsecPolicy(policy, tunnels);
    for (const w of t.warnings) this.log.warn("IPsec policy entry installed with a caveat", { file: w.entry.file, line: w.entry.line, reason: w.reason });
    return t.policies.map((p) => ({ ...p, templates: p.templates.map((tm) => ({ ...tm, reqid: IKED_REQID })) }));
  }

  /**
   * Makes `policies` the kernel's set, whole: a policy that clashes with another program's (same
   * selector and direction: the kernel would replace theirs) refuses the set, and this throws; the
   * caller takes out or puts back what went in meanwhile.
   */
  private async install(policies: SpdPolicy[]): Promise<void> {
    const conflicts = await this.put(policies);
    if (conflicts.length > 0) {
      const c = conflicts[0]!;
      const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : "";
      throw new Error(`IPsec policy entry ${c.policy.id} (${c.policy.dir} ${c.policy.selector.src} -> ${c.policy.selector.dst}) clashes with a kernel policy in.iked does not own${more}`);
    }
    this.#installed = policies;
  }

  /** Installs what the kernel takes of `policies`; returns the clashes, each logged. */
  private async put(policies: SpdPolicy[]): Promise<Array<{ policy: SpdPolicy }>> {
    const report = await this.kernel.installPolicies!(policies);
    for (const c of report.conflicts) {
      this.log.error("IPsec policy entry clashes with a kernel policy in.iked does not own (same selector and direction)", {
        entry: c.policy.id, dir: c.policy.dir, src: c.policy.selector.src, dst: c.policy.selector.dst, theirPriority: c.existing.priority,
      });
    }
    if (report.conflicts.length === 0) this.log.info("IPsec policy installed in the kernel", { policies: report.installed, removed: report.removed });
    return report.conflicts;
  }
}
