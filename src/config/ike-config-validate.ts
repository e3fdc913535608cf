/**
 * Whole-file checks of ike.config (reference §8, §9 "Rule completeness" and "Uniqueness"): they
 * need the entire file because a global `p1_xform` list may follow the rules that use it.
 */
import type { Diagnostics, Pos } from "./diagnostics.js";
import { isImplementedGroup } from "./groups.js";
import { AuthMethod } from "../codec/attributes-constants.js";
import type { AddressSpec, IkeConfig, IkeGlobals, IkeRule, P1Xform } from "./types.js";
import { warnWeakAlgorithms, type WeakCheckRule } from "./weak-algorithms.js";

/** Where a rule's parts stood, for checks that run outside the parser (ConfigContext). */
export interface RuleSites {
  readonly rule: Pos;
  readonly localId?: Pos;
  readonly remoteId: readonly Pos[];
  /** The transforms the rule uses (its own, else the file's list), and where each stood. */
  readonly p1Xforms: readonly P1Xform[];
  readonly xforms: readonly Pos[];
}

/** Receives the problems a ConfigContext finds; each becomes a `file:line:col` diagnostic. */
export interface ConfigReporter {
  error(code: string, at: Pos, message: string): void;
  warn(code: string, at: Pos, message: string): void;
}

/**
 * Checks that need more than the file itself (the certificate store, src/pki/config-check.ts),
 * run by `parseIkeConfig` when a caller passes one; callers without one get the file-only checks.
 */
export interface ConfigContext {
  /** Once, with every file-level keyword's positions (in file order). */
  checkGlobals?(globals: IkeGlobals, sites: ReadonlyMap<string, readonly Pos[]>, report: ConfigReporter): void;
  /** For each rule that passed the file's own checks; an error reported here refuses the rule. */
  checkRule?(rule: IkeRule, globals: IkeGlobals, sites: RuleSites, report: ConfigReporter): void;
}

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
  localIdAt?: Pos;
  remoteId: string[];
  remoteIdAt: Pos[];
  p1Xforms: XformDraft[];
  p2Pfs?: number;
  /** Where the rule's own `p2_pfs` stands (weak-group warnings point there). */
  p2PfsAt?: Pos;
  p2LifetimeSecs?: number;
  p2SoftlifeSecs?: number;
  p2IdletimeSecs?: number;
  p2LifetimeKb?: number;
  p2SoftlifeKb?: number;
  remotePort?: number;
  dpdIntervalSecs?: number;
  dpdRetries?: number;
}

const isPreshared = (x: XformDraft): boolean => x.xform.authMethod === AuthMethod.PreSharedKey;

/** Hard/soft Phase 2 lifetime pairs: field names and keywords. */
const LIFETIME_PAIRS = [
  ["p2LifetimeSecs", "p2SoftlifeSecs", "p2_lifetime_secs", "p2_softlife_secs"],
  ["p2LifetimeKb", "p2SoftlifeKb", "p2_lifetime_kb", "p2_softlife_kb"],
] as const;

/**
 * A soft lifetime above the hard one is refused here, at the rule, because the kernel refuses it
 * (RFC 2367 §2.3.4: soft must not exceed hard) and every SA the rule made would fail to install.
 * The rule's values fall back to the file's, so a rule is checked only where it sets one of the
 * pair itself; the file's own pair is checked once, at its soft keyword.
 */
function lifetimeProblems(d: Diagnostics, globals: IkeGlobals, globalsAt: ReadonlyMap<string, Pos>, r: RuleDraft | undefined): Array<{ at: Pos; message: string }> {
  const out: Array<{ at: Pos; message: string }> = [];
  for (const [hardKey, softKey, hardWord, softWord] of LIFETIME_PAIRS) {
    if (r !== undefined && r[hardKey] === undefined && r[softKey] === undefined) continue;
    const hard = r?.[hardKey] ?? globals[hardKey];
    const soft = r?.[softKey] ?? globals[softKey];
    // Hard 0 is "no limit" to the kernel, so any soft value fits under it.
    if (hard === undefined || hard === 0 || soft === undefined || soft <= hard) continue;
    const at = r?.at ?? globalsAt.get(softWord) ?? { line: 1, col: 1 };
    out.push({ at, message: `${softWord} (${d.value(soft)}) exceeds ${hardWord} (${d.value(hard)}); the soft lifetime must not be above the hard one` });
  }
  return out;
}

/** Checks every rule, reports what is missing, and builds the config from the valid rules. */
export function finishConfig(
  globals: IkeGlobals,
  globalXforms: readonly XformDraft[],
  drafts: readonly RuleDraft[],
  d: Diagnostics,
  globalsAt: ReadonlyMap<string, Pos> = new Map(),
  context?: ConfigContext,
  sites: ReadonlyMap<string, readonly Pos[]> = new Map(),
): IkeConfig {
  for (const p of lifetimeProblems(d, globals, globalsAt, undefined)) d.error("IKE_ERR_CFG_BAD_RANGE", p.at, p.message);
  const reporter: ConfigReporter = { error: (c, at, m) => void d.error(c, at, m), warn: (c, at, m) => void d.warn(c, at, m) };
  context?.checkGlobals?.(globals, sites, reporter);
  const labels = new Map<string, Pos>();
  const rules: IkeRule[] = [];
  const loaded: WeakCheckRule[] = [];
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
      if (!xforms.some((x) => isImplementedGroup(x.xform.oakleyGroup))) {
        fail("IKE_ERR_CFG_UNSUPPORTED", r.at, "none of the rule's p1_xform Diffie-Hellman groups is implemented by this iked, so it can never negotiate");
      }
      if (!isPreshared(first)) {
        const need = [
          r.localIdType === undefined && globals.localIdType === undefined ? "local_id_type" : "",
          r.localId === undefined ? "local_id" : "",
          r.remoteId.length === 0 ? "remote_id" : "",
        ].filter(Boolean);
        if (need.length > 0) fail("IKE_ERR_CFG_MISSING", r.at, `rule with certificate authentication lacks ${need.join(", ")}`);
      }
    }
    for (const p of lifetimeProblems(d, globals, globalsAt, r)) fail("IKE_ERR_CFG_BAD_RANGE", p.at, `rule: ${p.message}`);
    if (ok && r.label !== undefined) {
      const rule = toRule(r, r.label);
      const before = d.errorCount;
      const used = own ? r.p1Xforms : globalXforms;
      const ruleSites: RuleSites = {
        rule: r.at, remoteId: r.remoteIdAt, p1Xforms: used.map((x) => x.xform), xforms: used.map((x) => x.at), ...(r.localIdAt ? { localId: r.localIdAt } : {}),
      };
      context?.checkRule?.(rule, globals, ruleSites, reporter);
      if (d.errorCount === before) {
        rules.push(rule);
        loaded.push({ label: r.label, xforms: r.p1Xforms, ...(r.p2Pfs !== undefined ? { p2Pfs: r.p2Pfs } : {}), ...(r.p2PfsAt ? { p2PfsAt: r.p2PfsAt } : {}) });
      }
    }
  }
  warnWeakAlgorithms(d, globals, globalsAt, globalXforms, loaded);
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
  for (const k of ["p2Pfs", "p2LifetimeSecs", "p2SoftlifeSecs", "p2IdletimeSecs", "p2LifetimeKb", "p2SoftlifeKb", "remotePort", "dpdIntervalSecs", "dpdRetries"] as const) {
    const v = r[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
