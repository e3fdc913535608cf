/**
 * Rules of ipsecconf(8) that span several names of an entry: which properties an action allows,
 * what `dir` may say for it, masks versus prefix lengths, ICMP type/code needing an ICMP `ulp`,
 * `negotiate` needing `tunnel`, address families agreeing.
 */
import { makePrefix, type Prefix } from "../../kernel/address.js";
import type { Token } from "./lexer.js";
import { ICMP_PROTOCOLS } from "./names.js";
import type { AddressValue } from "./values.js";
import type {
  AlgorithmChoice,
  NegotiateMode,
  NumberRange,
  PolicyAction,
  PolicyActionType,
  PolicyDir,
  PolicyEntry,
  PolicyErrorCode,
} from "./types.js";

/** A parsed name/value pair of a braced section. */
export interface Pair {
  name: Token;
  value: Token;
  parsed: unknown;
}

/** Reports an error at a token. */
export type Report = (at: Token, code: PolicyErrorCode, message: string) => void;

/** One `action { properties }` as read. */
export interface PairSource {
  token: Token;
  type: PolicyActionType;
  pairs: Map<string, Pair>;
}

const val = <T>(pairs: Map<string, Pair>, slot: string): T | undefined => pairs.get(slot)?.parsed as T | undefined;

/** Checks one action's properties and builds it, or returns null after reporting. */
export function checkAction(a: PairSource, report: Report): PolicyAction | null {
  const { pairs, type, token } = a;
  let good = true;
  const ah = val<AlgorithmChoice>(pairs, "ah") ?? null;
  const espEncr = val<AlgorithmChoice>(pairs, "espEncr") ?? null;
  const espAuth = val<AlgorithmChoice>(pairs, "espAuth") ?? null;
  const dir = val<PolicyDir>(pairs, "dir") ?? null;
  const isIpsec = type === "ipsec" || type === "apply" || type === "permit";
  if (!isIpsec) {
    // "dir is the only field that should be present when action is bypass".
    for (const slot of ["ah", "espEncr", "espAuth", "sa"]) {
      const p = pairs.get(slot);
      if (p !== undefined) {
        report(p.name, "IKE_ERR_POLICY_CONFLICT", `'${p.name.text}' does not belong to a ${token.text} action`);
        good = false;
      }
    }
  } else if (ah === null && espEncr === null && espAuth === null) {
    report(token, "IKE_ERR_POLICY_CONFLICT", `'${token.text}' needs auth_algs, encr_algs or encr_auth_algs`);
    good = false;
  }
  const dirPair = pairs.get("dir");
  if (dirPair !== undefined) {
    if (type === "ipsec" || type === "drop") {
      report(dirPair.name, "IKE_ERR_POLICY_CONFLICT", `with '${token.text}', 'dir' belongs in the pattern`);
      good = false;
    } else if ((type === "apply" && dir !== "out") || (type === "permit" && dir !== "in")) {
      report(dirPair.value, "IKE_ERR_POLICY_CONFLICT", `'${token.text}' applies to ${type === "apply" ? "outbound" : "inbound"} traffic only, not '${dir}'`);
      good = false;
    }
  }
  if (!good) return null;
  return { type, ah, espEncr, espAuth, sa: val<"shared" | "unique">(pairs, "sa") ?? "shared", dir };
}

/**
 * Turns the packet-literal names (`saddr`/`daddr`/`sport`/`dport`/`smask`/`dmask`) into local and
 * remote: ipsecconf reads them as source and destination of the datagram, so for inbound entries the
 * source is the remote side. A literal name and its local/remote twin in one entry are duplicates.
 */
function sides(pattern: Map<string, Pair>, inbound: boolean, report: Report): Map<string, Pair> | null {
  const out = new Map(pattern);
  let good = true;
  const twins: Array<[string, string]> = inbound
    ? [["srcAddr", "remote"], ["dstAddr", "local"], ["srcPort", "remotePort"], ["dstPort", "localPort"], ["smask", "remoteMask"], ["dmask", "localMask"]]
    : [["srcAddr", "local"], ["dstAddr", "remote"], ["srcPort", "localPort"], ["dstPort", "remotePort"], ["smask", "localMask"], ["dmask", "remoteMask"]];
  for (const [literal, side] of twins) {
    const p = pattern.get(literal);
    if (p === undefined) continue;
    const twin = pattern.get(side);
    if (twin !== undefined) {
      const [early, late] = twin.name.line < p.name.line || (twin.name.line === p.name.line && twin.name.col < p.name.col) ? [twin, p] : [p, twin];
      report(late.name, "IKE_ERR_POLICY_DUPLICATE", `duplicate '${late.name.text}' (already given as '${early.name.text}' at ${early.name.line}:${early.name.col})`);
      good = false;
    }
    out.set(side, p);
  }
  return good ? out : null;
}

/** Applies `smask`/`dmask` to an address given without a prefix length. */
function masked(pairs: Map<string, Pair>, addrSlot: string, maskSlot: string, report: Report): Prefix | null | false {
  const addr = val<AddressValue>(pairs, addrSlot);
  const mask = pairs.get(maskSlot);
  if (mask === undefined) return addr?.prefix ?? null;
  const maskName = mask.name.text;
  if (addr === undefined) {
    report(mask.name, "IKE_ERR_POLICY_CONFLICT", `'${maskName}' without the address it masks`);
    return false;
  }
  if (addr.explicit) {
    report(mask.name, "IKE_ERR_POLICY_CONFLICT", `'${maskName}' given although '${pairs.get(addrSlot)!.name.text}' has a prefix length`);
    return false;
  }
  if (addr.prefix.family !== 4) {
    report(mask.name, "IKE_ERR_POLICY_CONFLICT", `'${maskName}' is for IPv4 addresses only`);
    return false;
  }
  return makePrefix(addr.prefix.bytes, mask.parsed as number);
}

/** Checks the pattern against its actions and builds the entry, or returns null after reporting. */
export function checkEntry(
  start: Token,
  pattern: Map<string, Pair>,
  sources: PairSource[],
  actions: Array<PolicyAction | null>,
  report: Report,
  meta: { index: number; file: string },
): PolicyEntry | null {
  let good = actions.every((a) => a !== null);
  const first = sources[0]!;
  const patternDir = val<PolicyDir>(pattern, "dir") ?? null;
  const implied: PolicyDir = first.type === "apply" ? "out" : first.type === "permit" ? "in" : "both";
  const dir = patternDir ?? actions[0]?.dir ?? implied;
  const resolved = sides(pattern, dir === "in", report);
  if (resolved === null) return null;
  const local = masked(resolved, "local", "localMask", report);
  const remote = masked(resolved, "remote", "remoteMask", report);
  if (local === false || remote === false) good = false;
  if (local && remote && local.family !== remote.family) {
    report(resolved.get("remote")!.value, "IKE_ERR_POLICY_CONFLICT", "local and remote addresses are of different families");
    good = false;
  }
  const ulp = val<number>(pattern, "ulp") ?? null;
  const typePair = pattern.get("type");
  if (typePair !== undefined && (ulp === null || !ICMP_PROTOCOLS.has(ulp))) {
    report(typePair.name, "IKE_ERR_POLICY_CONFLICT", "'type' needs 'ulp icmp' or 'ulp ipv6-icmp'");
    good = false;
  }
  const codePair = pattern.get("code");
  if (codePair !== undefined && typePair === undefined) {
    report(codePair.name, "IKE_ERR_POLICY_CONFLICT", "'code' needs 'type'");
    good = false;
  }
  const tunnel = val<string>(pattern, "tunnel") ?? null;
  const negotiate = val<NegotiateMode>(pattern, "negotiate") ?? null;
  const negPair = pattern.get("negotiate");
  if (negPair !== undefined && tunnel === null) {
    report(negPair.name, "IKE_ERR_POLICY_CONFLICT", "'negotiate' needs 'tunnel'");
    good = false;
  }
  if (negotiate === "transport" && (local || remote)) {
    report(negPair!.value, "IKE_ERR_POLICY_CONFLICT", "'negotiate transport' allows no addresses in the entry");
    good = false;
  }
  // Alternatives (`or`) exist for the second grammar only: `apply` and `permit` stand alone.
  if (sources.length > 1) {
    for (const s of sources) {
      if (s.type === "apply" || s.type === "permit") {
        report(s.token, "IKE_ERR_POLICY_CONFLICT", `'${s.token.text}' cannot be combined with 'or'`);
        good = false;
      }
    }
  }
  const propDirPair = first.pairs.get("dir");
  // checkAction already refused a property `dir` on ipsec and drop; say it once.
  if (patternDir !== null && propDirPair !== undefined && first.type !== "ipsec" && first.type !== "drop") {
    report(propDirPair.name, "IKE_ERR_POLICY_DUPLICATE", `duplicate 'dir' (already given in the pattern at ${pattern.get("dir")!.name.line}:${pattern.get("dir")!.name.col})`);
    good = false;
  }
  if (patternDir !== null && implied !== "both" && patternDir !== implied) {
    report(pattern.get("dir")!.value, "IKE_ERR_POLICY_CONFLICT", `'${first.token.text}' applies to ${implied === "out" ? "outbound" : "inbound"} traffic only, not '${patternDir}'`);
    good = false;
  }
  if (!good) return null;
  return {
    index: meta.index,
    file: meta.file,
    line: start.line,
    col: start.col,
    pattern: {
      local: local || null,
      remote: remote || null,
      localPort: val<number>(resolved, "localPort") ?? 0,
      remotePort: val<number>(resolved, "remotePort") ?? 0,
      ulp,
      icmpType: val<NumberRange>(pattern, "type") ?? null,
      icmpCode: val<NumberRange>(pattern, "code") ?? null,
      tunnel,
      negotiate,
      dir: patternDir,
    },
    actions: actions as PolicyAction[],
    dir,
  };
}
