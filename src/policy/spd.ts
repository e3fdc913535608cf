/**
 * `ipsecinit.conf` as kernel SPD policies (src/kernel/spd.ts), for the XFRM and PF_KEY backends.
 *
 * Each entry, in the order the kernel must check them (engine.ts `spdOrder`: bypass, drop, then by
 * strength, file order within), becomes one kernel policy per direction and address family, with
 * rank = its place in that order and id = its index in the file (so ACQUIREs name the entry):
 *
 *   dir out          selector local → remote                    out
 *   dir in           selector remote → local                    in  (+ fwd in tunnel mode: traffic a
 *                                                                     gateway routes to its inner side)
 *   no addresses     the entry covers IPv4 and IPv6: one policy each (ICMP: IPv4 only, ICMPv6: IPv6)
 *   ipsec/apply/permit  templates ESP then AH (ESP innermost), the entry's mode; tunnel mode takes
 *                    the endpoints of its `tunnel` name from `tunnels` (local → remote outbound)
 *   bypass / drop    no templates
 *
 * What a Linux policy cannot say is refused, entry by entry, with a reason: ICMP type or code ranges
 * (a selector holds one value or any), tunnel entries without inner addresses (`negotiate
 * transport`: an IP-in-IP interface policy), tunnel names without known endpoints. A refused entry
 * is an error of the policy file (`spdErrors`, IKE_ERR_POLICY_UNSUPPORTED): the file is applied
 * whole or not at all, as ipsecconf does, so no traffic an entry names passes in the clear because
 * the entry was left out. An entry whose `or` alternatives need other protocols than its first is
 * installed with the first one's templates, and a warning: the kernel holds one template list per
 * policy.
 */
import { formatPrefix, makePrefix, type Prefix } from "../kernel/address.js";
import type { SpdDir, SpdPolicy, SpdTemplate } from "../kernel/spd.js";
import { entryMode, spdOrder } from "./select.js";
import type { IpsecPolicy, PolicyAction, PolicyEntry, PolicyError } from "./ipsecinit/types.js";

/** Endpoints of a tunnel, as this host sees them. */
export interface TunnelEndpoints {
  local: string;
  remote: string;
}

/** The SPD for a policy file, and what of it a kernel policy cannot express. */
export interface SpdTranslation {
  policies: SpdPolicy[];
  /** Entries not installed, and why. */
  refused: Array<{ entry: PolicyEntry; reason: string }>;
  /** Entries installed with a caveat. */
  warnings: Array<{ entry: PolicyEntry; reason: string }>;
}

const ANY: Record<4 | 6, Prefix> = { 4: makePrefix(new Uint8Array(4), 0)!, 6: makePrefix(new Uint8Array(16), 0)! };

const isIpsec = (a: PolicyAction): boolean => a.type === "ipsec" || a.type === "apply" || a.type === "permit";
const protocols = (a: PolicyAction): Array<"esp" | "ah"> => [...(a.espEncr !== null || a.espAuth !== null ? ["esp" as const] : []), ...(a.ah !== null ? ["ah" as const] : [])];

/** A single value of an inclusive range, 0 for "any" (null), or undefined when it is a real range. */
function single(r: { min: number; max: number } | null, full: number): number | undefined {
  if (r === null || (r.min === 0 && r.max === full)) return 0;
  return r.min === r.max ? r.min : undefined;
}

/** Translates a parsed policy file. `tunnels` resolves a `tunnel` name to its endpoints. */
export function spdFromIpsecPolicy(policy: IpsecPolicy, tunnels: (name: string) => TunnelEndpoints | undefined = () => undefined): SpdTranslation {
  const out: SpdTranslation = { policies: [], refused: [], warnings: [] };
  spdOrder(policy).forEach((entry, rank) => {
    const r = translate(entry, rank, tunnels);
    if (typeof r === "string") out.refused.push({ entry, reason: r });
    else {
      out.policies.push(...r.policies);
      if (r.warning !== undefined) out.warnings.push({ entry, reason: r.warning });
    }
  });
  return out;
}

/**
 * The entries a kernel policy cannot express, as errors of the policy file at each entry's '{'
 * (`in.iked -c`, start-up and reload refuse the file for them, like for a syntax error).
 */
export function spdErrors(policy: IpsecPolicy, tunnels: (name: string) => TunnelEndpoints | undefined): PolicyError[] {
  const refused = spdFromIpsecPolicy(policy, tunnels).refused.sort((a, b) => a.entry.index - b.entry.index);
  return refused.map(({ entry, reason }) => ({
    code: "IKE_ERR_POLICY_UNSUPPORTED" as const,
    message: `policy entry ${entry.index} cannot be put in the kernel: ${reason}`,
    file: entry.file,
    line: entry.line,
    col: entry.col,
  }));
}

function translate(e: PolicyEntry, rank: number, tunnels: (name: string) => TunnelEndpoints | undefined): { policies: SpdPolicy[]; warning?: string } | string {
  const p = e.pattern;
  const first = e.actions[0]!;
  const mode = entryMode(e);
  const icmpType = single(p.icmpType, 255);
  const icmpCode = single(p.icmpCode, 255);
  if (icmpType === undefined || icmpCode === undefined) return "an ICMP type or code range (a kernel selector holds one value or any)";
  if (p.tunnel !== null && mode === "transport") return `tunnel ${p.tunnel} without inner addresses (an interface policy Linux has no form for)`;
  let ends: TunnelEndpoints | undefined;
  if (mode === "tunnel" && isIpsec(first)) {
    if (p.tunnel === null) return "tunnel mode without a tunnel name";
    ends = tunnels(p.tunnel);
    if (ends === undefined) return `no endpoints known for tunnel ${p.tunnel}`;
  }
  const protos = isIpsec(first) ? protocols(first) : [];
  const alternatives = e.actions.slice(1).filter(isIpsec);
  const warning = alternatives.some((a) => protocols(a).join() !== protos.join()) ? "its alternatives need other protocols than the first: the kernel policy asks for the first's" : undefined;
  // ICMP is IPv4's, ICMPv6 IPv6's: an entry for one without addresses needs no policy of the other family.
  const families: Array<4 | 6> = p.local !== null ? [p.local.family] : p.remote !== null ? [p.remote.family] : p.ulp === 1 ? [4] : p.ulp === 58 ? [6] : [4, 6];
  const dirs: SpdDir[] = [...(e.dir !== "in" ? ["out" as const] : []), ...(e.dir !== "out" ? ["in" as const] : []), ...(e.dir !== "out" && mode === "tunnel" && isIpsec(first) ? ["fwd" as const] : [])];
  const policies: SpdPolicy[] = [];
  for (const family of families) {
    const local = formatPrefix(p.local ?? ANY[family]);
    const remote = formatPrefix(p.remote ?? ANY[family]);
    const ulp = p.ulp ?? 0;
    const icmp = p.icmpType !== null;
    for (const dir of dirs) {
      const outbound = dir === "out";
      const templates: SpdTemplate[] = protos.map((proto, i) => {
        const t: SpdTemplate = { proto, mode: i === 0 ? mode : "transport" };
        if (i === 0 && ends !== undefined) {
          t.src = outbound ? ends.local : ends.remote;
          t.dst = outbound ? ends.remote : ends.local;
        }
        return t;
      });
      policies.push({
        id: e.index,
        dir,
        // For ICMP the kernel matches the type where the source port is, the code where the destination port is.
        selector: outbound
          ? { src: local, dst: remote, ulp, srcPort: icmp ? icmpType : p.localPort, dstPort: icmp ? icmpCode : p.remotePort }
          : { src: remote, dst: local, ulp, srcPort: icmp ? icmpType : p.remotePort, dstPort: icmp ? icmpCode : p.localPort },
        action: isIpsec(first) ? "ipsec" : first.type === "drop" ? "drop" : "bypass",
        rank,
        templates,
      });
    }
  }
  return warning === undefined ? { policies } : { policies, warning };
}
