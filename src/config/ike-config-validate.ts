/**
 * Whole-file checks of ike.config (reference §8, §9 "Rule completeness" and "Uniqueness"): they
 * need the entire file because a global `p1_xform` list may follow the rules that use it.
 */
import type { Diagnostics, Pos } from "./diagnostics.js";
import { AuthMethod } from "./names.js";
import type { AddressSpec, IkeConfig, IkeGlobals, IkeRule, P1Xform } from "./types.js";

/** A parsed transform and where its `p1_xform` keyword stood. */
export interface XformDraft {
  readonly at: Pos;
  readonly xform: P1Xform;
}

/** A rule as parsed, before completeness checks. `valid` is false once any of its values failed. */
export interface RuleDraft {
  at: Pos;
  valid: boolean;
  label?: string;
  labelAt?: Pos;
  localAddr: AddressSpec[];
  remoteAddr: AddressSpec[];
  localIdType?: number;
  localId?: string;
  remoteId: string[];
  p1Xforms: XformDraft[];
  p2Pfs?: number;
  p2LifetimeSecs?: number;
  p2SoftlifeSecs?: number;
  p2IdletimeSecs?: number;
  p2LifetimeKb?: number;
  p2SoftlifeKb?: number;
  remotePort?: number;
}

const isPreshared = (x: XformDraft): boolean => x.xform.authMethod === AuthMethod.PRESHARED;

/** Checks every rule, reports what is missing, and builds the config from the valid rules. */
export function finishConfig(globals: IkeGlobals, globalXforms: readonly XformDraft[], drafts: readonly RuleDraft[], d: Diagnostics): IkeConfig {
  const labels = new Map<string, Pos>();
  const rules: IkeRule[] = [];
  let globalMixReported = false;
  for (const r of drafts) {
    let ok = r.valid;
    const fail = (code: string, at: Pos, message: string): void => {
      d.error(code, at, message);
      ok = false;
    };
    if (r.label === undefined) {
      if (r.valid) fail("IKE_ERR_CFG_MISSING", r.at, "rule lacks 'label'");
    } else {
      const prev = labels.get(r.label);
      if (prev) fail("IKE_ERR_CFG_DUPLICATE_LABEL", r.labelAt ?? r.at, `label is already used by the rule at ${prev.line}:${prev.col}`);
      else labels.set(r.label, r.labelAt ?? r.at);
    }
    if (!r.valid) continue;
    const absent = [r.localAddr.length === 0 ? "local_addr" : "", r.remoteAddr.length === 0 ? "remote_addr" : ""].filter(Boolean);
    if (absent.length > 0) fail("IKE_ERR_CFG_MISSING", r.at, `rule lacks ${absent.join(" and ")}`);
    const own = r.p1Xforms.length > 0;
    const xforms = own ? r.p1Xforms : globalXforms;
    if (xforms.length === 0) {
      fail("IKE_ERR_CFG_MISSING", r.at, "rule has no p1_xform and the file has no global p1_xform list");
    } else {
      const first = xforms[0]!;
      const odd = xforms.find((x) => isPreshared(x) !== isPreshared(first));
      if (odd && (own || !globalMixReported)) {
        fail("IKE_ERR_CFG_MIXED_AUTH", odd.at, "a rule's transforms must be all preshared or all certificate methods");
        if (!own) globalMixReported = true;
      } else if (odd) ok = false;
      if (!isPreshared(first)) {
        const need = [
          r.localIdType === undefined && globals.localIdType === undefined ? "local_id_type" : "",
          r.localId === undefined ? "local_id" : "",
          r.remoteId.length === 0 ? "remote_id" : "",
        ].filter(Boolean);
        if (need.length > 0) fail("IKE_ERR_CFG_MISSING", r.at, `rule with certificate authentication lacks ${need.join(", ")}`);
      }
    }
    if (ok && r.label !== undefined) rules.push(toRule(r, r.label));
  }
  return { globals, p1Xforms: globalXforms.map((x) => x.xform), rules };
}

function toRule(r: RuleDraft, label: string): IkeRule {
  const out: { -readonly [K in keyof IkeRule]: IkeRule[K] } = {
    label,
    localAddr: r.localAddr,
    remoteAddr: r.remoteAddr,
    remoteId: r.remoteId,
    p1Xforms: r.p1Xforms.map((x) => x.xform),
  };
  if (r.localIdType !== undefined) out.localIdType = r.localIdType;
  if (r.localId !== undefined) out.localId = r.localId;
  for (const k of ["p2Pfs", "p2LifetimeSecs", "p2SoftlifeSecs", "p2IdletimeSecs", "p2LifetimeKb", "p2SoftlifeKb", "remotePort"] as const) {
    const v = r[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
