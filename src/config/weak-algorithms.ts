/**
 * Warnings for weak algorithms in ike.config (issue 11 item 9): single DES (56-bit key), MD5
 * (collisions are practical), and MODP groups 1 and 2 (768 and 1024 bits, within reach of a
 * precomputation attack such as Logjam). They stay accepted, since old peers may know nothing
 * else; each use is named, at the transform or `p2_pfs` that brings it in and with the rules it
 * applies to, so `in.iked -c`, startup, SIGHUP and `ikeadm add|read rule` all say so.
 */
import type { Diagnostics, Pos } from "./diagnostics.js";
import { IkeEncryption, IkeHash } from "../codec/attributes-constants.js";
import type { IkeGlobals, P1Xform } from "./types.js";

/** What makes each weak choice weak, for the message. */
const WEAK_ENCR: ReadonlyMap<number, string> = new Map([[IkeEncryption.DES_CBC, "des (56-bit key)"]]);
const WEAK_HASH: ReadonlyMap<number, string> = new Map([[IkeHash.MD5, "md5 (collisions)"]]);
const WEAK_GROUPS: ReadonlyMap<number, string> = new Map([
  [1, "group 1 (768-bit MODP)"],
  [2, "group 2 (1024-bit MODP)"],
]);

/** Rule labels listed in one warning before "and N more". */
const MAX_NAMED_RULES = 5;

/** The weak parts of a transform, e.g. `["des (56-bit key)", "group 2 (1024-bit MODP)"]`. */
export function weakXformParts(x: P1Xform): string[] {
  return [WEAK_ENCR.get(x.encrAlg), WEAK_HASH.get(x.authAlg), WEAK_GROUPS.get(x.oakleyGroup)].filter((w): w is string => w !== undefined);
}

/** True for a PFS group that draws a warning. */
export function isWeakPfsGroup(group: number): boolean {
  return WEAK_GROUPS.has(group);
}

/** A rule that loaded, with the positions the warnings point at. */
export interface WeakCheckRule {
  readonly label: string;
  /** The rule's own transforms and where each stands; empty when it uses the file's list. */
  readonly xforms: ReadonlyArray<{ readonly at: Pos; readonly xform: P1Xform }>;
  readonly p2Pfs?: number;
  readonly p2PfsAt?: Pos;
}

function ruleList(d: Diagnostics, labels: readonly string[]): string {
  if (labels.length === 0) return "no rule uses it";
  const named = labels.slice(0, MAX_NAMED_RULES).map((l) => d.quote(l)).join(", ");
  const more = labels.length > MAX_NAMED_RULES ? ` and ${labels.length - MAX_NAMED_RULES} more` : "";
  return `used by rule${labels.length === 1 ? "" : "s"} ${named}${more}`;
}

const ADVICE = "accepted for compatibility; prefer aes, sha256 or better and group 14 or above";

/**
 * Adds one `IKE_ERR_CFG_WEAK_ALG` warning per weak transform (a rule's own, or a file-level one
 * with the rules that inherit it) and per weak `p2_pfs` (a rule's, or the file's with its heirs).
 */
export function warnWeakAlgorithms(
  d: Diagnostics,
  globals: IkeGlobals,
  globalsAt: ReadonlyMap<string, Pos>,
  globalXforms: ReadonlyArray<{ readonly at: Pos; readonly xform: P1Xform }>,
  rules: readonly WeakCheckRule[],
): void {
  const inheritXforms = rules.filter((r) => r.xforms.length === 0).map((r) => r.label);
  for (const x of globalXforms) {
    const weak = weakXformParts(x.xform);
    if (weak.length > 0) d.warn("IKE_ERR_CFG_WEAK_ALG", x.at, `file-level p1_xform uses weak ${weak.join(", ")} (${ruleList(d, inheritXforms)}); ${ADVICE}`);
  }
  for (const r of rules) {
    for (const x of r.xforms) {
      const weak = weakXformParts(x.xform);
      if (weak.length > 0) d.warn("IKE_ERR_CFG_WEAK_ALG", x.at, `rule ${d.quote(r.label)}: p1_xform uses weak ${weak.join(", ")}; ${ADVICE}`);
    }
    if (r.p2Pfs !== undefined && isWeakPfsGroup(r.p2Pfs)) {
      d.warn("IKE_ERR_CFG_WEAK_ALG", r.p2PfsAt ?? { line: 0, col: 0 }, `rule ${d.quote(r.label)}: p2_pfs uses weak ${WEAK_GROUPS.get(r.p2Pfs)}; ${ADVICE}`);
    }
  }
  if (globals.p2Pfs !== undefined && isWeakPfsGroup(globals.p2Pfs)) {
    const heirs = rules.filter((r) => r.p2Pfs === undefined).map((r) => r.label);
    d.warn("IKE_ERR_CFG_WEAK_ALG", globalsAt.get("p2_pfs") ?? { line: 0, col: 0 }, `file-level p2_pfs uses weak ${WEAK_GROUPS.get(globals.p2Pfs)} (${ruleList(d, heirs)}); ${ADVICE}`);
  }
}
