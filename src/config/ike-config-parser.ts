/**
 * ike.config parser (reference ike-config.md §§2–9): tokens → file-level parameters, global
 * `p1_xform` list and rule drafts. Whole-file checks (rule completeness, duplicate labels) are in
 * `ike-config-validate.ts`.
 *
 *   file        := item*
 *   item        := global_param | default_param | "p1_xform" xform | rule
 *   rule        := "{" rule_param* "}"
 *   xform       := "{" xform_param* "}"
 */
import { implementedGroupList, isImplementedGroup, isPfsGroup } from "./groups.js";
import { Diagnostics, MAX_FILE_CHARS, type DiagnosticsOptions, type Pos } from "./diagnostics.js";
import { CONFIG_LEX, Lexer, TokenStream, type Token } from "./lexer.js";
import { AUTH_METHOD_WORDS, CONFIG_ID_TYPE_WORDS, HASH_WORDS, OAKLEY_GROUPS } from "./names.js";
import { finishConfig, type ConfigContext, type RuleDraft, type XformDraft } from "./ike-config-validate.js";
import { CONFIG_BOUNDS, type Bound } from "./limits.js";
import { metricsExposureWarning, parseMetricsSetting } from "./metrics-address.js";
import type { IkeConfig, P1Xform, ParseResult } from "./types.js";
import {
  ALL_KEYWORDS, describe, parseLdapList, readAddress, readEncr, readFloat, readNum, readString, readWord,
} from "./values.js";

/** Keywords allowed only at file level. */
const FILE_ONLY = new Set([
  "cert_root", "cert_trust", "expire_timer", "ignore_crls", "ldap_server", "pkcs11_path", "retry_limit", "metrics",
  "retry_timer_init", "retry_timer_max", "proxy", "socks", "use_http", "max_certs", "p1_nonce_len", "p2_nonce_len",
  "unverified_dh_share",
]);
/** Extensions (RFC 3706 DPD) both the file and a rule may set: the field each fills. */
const DPD_NUMS: ReadonlyMap<string, "dpdIntervalSecs" | "dpdRetries"> = new Map([
  ["dpd_interval_secs", "dpdIntervalSecs"],
  ["dpd_retries", "dpdRetries"],
] as const);
/** Keywords allowed only inside a rule. */
const RULE_ONLY = new Set(["label", "local_addr", "remote_addr", "local_id", "remote_id", "remote_port"]);
/** Keywords allowed only inside `p1_xform { }`. */
const XFORM_ONLY = new Set(["auth_method", "oakley_group", "encr_alg", "auth_alg"]);
/** Trusted Extensions keywords of later Solaris releases: recognised, refused. */
const UNSUPPORTED = new Set(["label_aware", "single_label", "multi_label", "wire_label"]);
/** Phase 2 parameters both the file and a rule may set: the field each fills and its bound. */
const P2_NUMS: ReadonlyMap<string, { readonly field: P2Field; readonly bound: Bound }> = new Map(
  ([
    ["p2_lifetime_secs", "p2LifetimeSecs"],
    ["p2_softlife_secs", "p2SoftlifeSecs"],
    ["p2_idletime_secs", "p2IdletimeSecs"],
    ["p2_lifetime_kb", "p2LifetimeKb"],
    ["p2_softlife_kb", "p2SoftlifeKb"],
  ] as const).map(([k, field]) => [k, { field, bound: CONFIG_BOUNDS[k] }]),
);
type P2Field = "p2LifetimeSecs" | "p2SoftlifeSecs" | "p2IdletimeSecs" | "p2LifetimeKb" | "p2SoftlifeKb";


type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };
type GlobalsDraft = Mutable<IkeConfig["globals"]>;

/** Parser state for one file. */
class ConfigParser {
  readonly d: Diagnostics;
  readonly s: TokenStream;
  readonly globals: GlobalsDraft = { certRoot: [], certTrust: [], ignoreCrls: false, ldapServer: [], useHttp: false };
  readonly globalXforms: XformDraft[] = [];
  readonly rules: RuleDraft[] = [];
  /** Where each once-only file-level keyword stood. */
  readonly seenGlobal = new Map<string, Pos>();
  /** Every file-level keyword occurrence, for a ConfigContext. */
  readonly sites = new Map<string, Pos[]>();

  constructor(text: string, file: string, opts: DiagnosticsOptions) {
    this.d = new Diagnostics(file, opts);
    this.s = new TokenStream(new Lexer(text, CONFIG_LEX, this.d));
  }

  run(): void {
    while (!this.s.atEnd && !this.d.exhausted) {
      const t = this.s.next();
      if (t.kind === "{") this.rule(t);
      else if (t.kind === "word" && t.text === "p1_xform") {
        const x = this.xform(t);
        if (x) this.globalXforms.push(x);
      } else if (t.kind === "word" && ALL_KEYWORDS.has(t.text) && !RULE_ONLY.has(t.text) && !XFORM_ONLY.has(t.text)) {
        this.fileParam(t);
      } else {
        this.unexpected(t, "a global parameter, 'p1_xform' or '{' starting a rule", "file level");
      }
    }
  }

  /** Reports a token that cannot stand here, then skips to something that can. */
  private unexpected(t: Token, expected: string, where: string): void {
    if (t.kind === "word" && UNSUPPORTED.has(t.text)) {
      this.d.error("IKE_ERR_CFG_UNSUPPORTED", t, `'${t.text}' (Trusted Extensions labels) is not supported`);
    } else if (t.kind === "word" && ALL_KEYWORDS.has(t.text)) {
      this.d.error("IKE_ERR_CFG_MISPLACED_KEYWORD", t, `'${t.text}' is not allowed at ${where}; expected ${expected}`);
    } else if (t.kind === "word") {
      this.d.error("IKE_ERR_CFG_UNKNOWN_KEYWORD", t, `expected ${expected}, found ${describe(this.d, t)}`);
    } else {
      this.d.error(t.kind === "}" ? "IKE_ERR_CFG_UNBALANCED" : "IKE_ERR_CFG_UNEXPECTED_TOKEN", t, `expected ${expected}, found ${describe(this.d, t)}`);
      if (t.kind === "}") return;
    }
    this.skipValues();
  }

  /** Skips argument tokens (and whole `{ }` groups) up to the next keyword, `}` or end of file. */
  private skipValues(): void {
    for (let depth = 0; ; ) {
      const t = this.s.peek();
      if (t.kind === "eof") return;
      if (depth === 0 && (t.kind === "}" || (t.kind === "word" && ALL_KEYWORDS.has(t.text)))) return;
      this.s.next();
      if (t.kind === "{") depth++;
      else if (t.kind === "}") depth--;
    }
  }

  private once(seen: Map<string, Pos>, t: Token, where: string): boolean {
    const prev = seen.get(t.text);
    if (prev) {
      this.d.error("IKE_ERR_CFG_DUPLICATE", t, `'${t.text}' appears twice ${where} (first at ${prev.line}:${prev.col})`);
      this.skipValues();
      return false;
    }
    seen.set(t.text, t);
    return true;
  }

  private fileParam(t: Token): void {
    const { s, d, globals: g } = this;
    const k = t.text;
    if (UNSUPPORTED.has(k)) return this.unexpected(t, "a global parameter", "file level");
    this.sites.set(k, [...(this.sites.get(k) ?? []), { line: t.line, col: t.col }]);
    const additive = k === "cert_root" || k === "cert_trust" || k === "ldap_server";
    const flag = k === "ignore_crls" || k === "use_http";
    if (!additive && !flag && !this.once(this.seenGlobal, t, "in the file")) return;
    const p2 = P2_NUMS.get(k);
    if (p2) {
      const v = readNum(s, d, t, p2.bound);
      if (v !== undefined) g[p2.field] = v;
      return;
    }
    const dpd = DPD_NUMS.get(k);
    if (dpd) {
      const v = readNum(s, d, t, CONFIG_BOUNDS[k as "dpd_interval_secs" | "dpd_retries"]);
      if (v !== undefined) g[dpd] = v;
      return;
    }
    switch (k) {
      case "cert_root":
      case "cert_trust": {
        const v = readString(s, d, t);
        if (v !== undefined) (k === "cert_root" ? g.certRoot : g.certTrust).push(v);
        return;
      }
      case "ldap_server": {
        const at = s.peek();
        const v = readString(s, d, t);
        if (v === undefined) return;
        const list = parseLdapList(v);
        if (typeof list === "string") d.error("IKE_ERR_CFG_BAD_VALUE", at, `bad ldap_server list: ${d.hidesText ? d.quote(v) : list}`);
        else g.ldapServer.push(...list);
        return;
      }
      case "metrics": {
        // Extension: where the metrics endpoint listens (metrics-address.ts).
        const at = s.peek();
        const v = readString(s, d, t, 256);
        if (v === undefined) return;
        const m = parseMetricsSetting(v);
        if (!m.ok) return void d.error("IKE_ERR_CFG_BAD_VALUE", at, `bad metrics address: ${d.hidesText ? d.quote(v) : m.message}`);
        const warning = metricsExposureWarning(m.value);
        if (warning !== undefined) d.warn("IKE_ERR_CFG_METRICS_EXPOSED", at, warning);
        g.metrics = m.value;
        return;
      }
      case "ignore_crls":
        g.ignoreCrls = true;
        return;
      case "use_http":
        g.useHttp = true;
        return;
      case "pkcs11_path":
      case "proxy":
      case "socks": {
        const v = readString(s, d, t);
        if (v !== undefined) g[k === "pkcs11_path" ? "pkcs11Path" : k] = v;
        return;
      }
      case "expire_timer":
      case "retry_limit":
      case "max_certs":
      case "p1_lifetime_secs":
      case "unverified_dh_share": {
        const v = readNum(s, d, t, CONFIG_BOUNDS[k]);
        // unverified_dh_share is an iked extension (percent of the crypto pool, ike.config(5)).
        const field = ({ expire_timer: "expireTimer", retry_limit: "retryLimit", max_certs: "maxCerts", p1_lifetime_secs: "p1LifetimeSecs", unverified_dh_share: "unverifiedDhShare" } as const)[k];
        if (v !== undefined) g[field] = v;
        return;
      }
      case "retry_timer_init":
      case "retry_timer_max": {
        const v = readFloat(s, d, t, CONFIG_BOUNDS[k]);
        if (v !== undefined) g[k === "retry_timer_init" ? "retryTimerInit" : "retryTimerMax"] = v;
        return;
      }
      case "p1_nonce_len":
      case "p2_nonce_len": {
        const v = readNum(s, d, t, CONFIG_BOUNDS[k]);
        if (v !== undefined) g[k === "p1_nonce_len" ? "p1NonceLen" : "p2NonceLen"] = v;
        return;
      }
      case "p2_pfs": {
        const v = this.pfs(t);
        if (v !== undefined) g.p2Pfs = v;
        return;
      }
      case "local_id_type": {
        const v = readWord(s, d, t, CONFIG_ID_TYPE_WORDS, "an identity type");
        if (v !== undefined) g.localIdType = v;
        return;
      }
      default:
        this.unexpected(t, "a global parameter", "file level");
    }
  }

  private pfs(t: Token): number | undefined {
    const at = this.s.peek();
    const v = readNum(this.s, this.d, t);
    if (v !== undefined && !isPfsGroup(v)) {
      this.d.error("IKE_ERR_CFG_BAD_GROUP", at, `p2_pfs must be 0 (no PFS) or a Diffie-Hellman group (${[...OAKLEY_GROUPS].join(", ")}), found ${this.d.value(v)}`);
      return undefined;
    }
    // A documented group we cannot compute would fail every Quick Mode: refuse it now.
    if (v !== undefined && v !== 0 && !isImplementedGroup(v)) {
      this.d.error("IKE_ERR_CFG_UNSUPPORTED", at, `p2_pfs ${this.d.value(v)} is a valid group but not implemented by this iked (implemented: 0, ${implementedGroupList()})`);
      return undefined;
    }
    return v;
  }

  /** Parses `{ xform_param* }` after the `p1_xform` keyword. */
  private xform(kw: Token): XformDraft | undefined {
    const { s, d } = this;
    const open = s.peek();
    if (open.kind !== "{") {
      d.error("IKE_ERR_CFG_UNEXPECTED_TOKEN", open, `expected '{' after 'p1_xform', found ${describe(d, open)}`);
      // Swallow the transform's parameters too, so they are not reported again as misplaced.
      for (let i = 0; i < 16; i++) {
        this.skipValues();
        const t = s.peek();
        if (t.kind !== "word" || !(XFORM_ONLY.has(t.text) || t.text === "p1_lifetime_secs")) break;
        s.next();
      }
      return undefined;
    }
    s.next();
    const errorsBefore = d.errorCount;
    const seen = new Map<string, Pos>();
    const x: Partial<Mutable<P1Xform>> = {};
    for (;;) {
      const t = s.next();
      if (t.kind === "}") break;
      if (t.kind === "eof") {
        d.error("IKE_ERR_CFG_UNBALANCED", t, `expected '}' to close the p1_xform opened at ${open.line}:${open.col}, found end of file`);
        return undefined;
      }
      if (d.exhausted) return undefined;
      const k = t.kind === "word" ? t.text : "";
      if (!XFORM_ONLY.has(k) && k !== "p1_lifetime_secs") {
        this.unexpected(t, "'}' or a p1_xform parameter (auth_method, oakley_group, encr_alg, auth_alg, p1_lifetime_secs)", "p1_xform level");
        continue;
      }
      if (!this.once(seen, t, "in one p1_xform")) continue;
      switch (k) {
        case "auth_method": {
          const v = readWord(s, d, t, AUTH_METHOD_WORDS, "an authentication method");
          if (v !== undefined) x.authMethod = v;
          break;
        }
        case "oakley_group": {
          const at = s.peek();
          const v = readNum(s, d, t);
          if (v !== undefined && !OAKLEY_GROUPS.has(v)) {
            d.error("IKE_ERR_CFG_BAD_GROUP", at, `oakley_group must be one of ${[...OAKLEY_GROUPS].join(", ")}, found ${d.value(v)}`);
          } else if (v !== undefined) {
            // Kept (it round-trips and ikeadm shows it), but said aloud: such a transform is never
            // proposed or accepted. A rule left with no usable transform is an error (validate).
            if (!isImplementedGroup(v)) {
              d.warn("IKE_ERR_CFG_UNSUPPORTED", at, `oakley_group ${d.value(v)} is valid but not implemented by this iked (implemented: ${implementedGroupList()}); this transform is never used`);
            }
            x.oakleyGroup = v;
          }
          break;
        }
        case "encr_alg": {
          const v = readEncr(s, d, t);
          if (v) {
            x.encrAlg = v.encrAlg;
            if (v.keyLen) x.encrKeyLen = v.keyLen;
          }
          break;
        }
        case "auth_alg": {
          const v = readWord(s, d, t, HASH_WORDS, "a hash algorithm");
          if (v !== undefined) x.authAlg = v;
          break;
        }
        default: {
          const v = readNum(s, d, t, CONFIG_BOUNDS.p1_lifetime_secs);
          if (v !== undefined) x.p1LifetimeSecs = v;
        }
      }
    }
    const absent = [...XFORM_ONLY].filter((k) => !seen.has(k));
    if (absent.length > 0) {
      d.error("IKE_ERR_CFG_MISSING", kw, `p1_xform lacks ${absent.join(", ")}`);
      return undefined;
    }
    return d.errorCount === errorsBefore ? { at: kw, xform: x as P1Xform } : undefined;
  }

  /** Parses `{ rule_param* }` after its opening brace. */
  private rule(open: Token): void {
    const { s, d } = this;
    const errorsBefore = d.errorCount;
    const seen = new Map<string, Pos>();
    const r: RuleDraft = { at: open, localAddr: [], remoteAddr: [], remoteId: [], remoteIdAt: [], p1Xforms: [], valid: true };
    for (;;) {
      const t = s.next();
      if (t.kind === "}") break;
      if (t.kind === "eof") {
        d.error("IKE_ERR_CFG_UNBALANCED", t, `expected '}' to close the rule opened at ${open.line}:${open.col}, found end of file`);
        return;
      }
      if (d.exhausted) return;
      const k = t.kind === "word" ? t.text : "";
      const allowed = RULE_ONLY.has(k) || P2_NUMS.has(k) || DPD_NUMS.has(k) || k === "p2_pfs" || k === "local_id_type" || k === "p1_xform";
      if (!allowed) {
        this.unexpected(t, "'}' or a rule parameter", "rule level");
        continue;
      }
      switch (k) {
        case "local_addr":
        case "remote_addr": {
          const v = readAddress(s, d, t);
          if (v) (k === "local_addr" ? r.localAddr : r.remoteAddr).push(v);
          break;
        }
        case "remote_id": {
          const at = s.peek();
          const v = readString(s, d, t);
          if (v !== undefined) {
            r.remoteId.push(v);
            r.remoteIdAt.push({ line: at.line, col: at.col });
          }
          break;
        }
        case "p1_xform": {
          const x = this.xform(t);
          if (x) r.p1Xforms.push(x);
          else r.valid = false;
          break;
        }
        case "local_id": {
          const prev = seen.get(k);
          const at = s.peek();
          const v = readString(s, d, t);
          if (prev) d.warn("IKE_ERR_CFG_DUPLICATE", t, `second 'local_id' ignored, the first (at ${prev.line}:${prev.col}) wins`);
          else if (v !== undefined) {
            seen.set(k, t);
            r.localId = v;
            r.localIdAt = { line: at.line, col: at.col };
          }
          break;
        }
        default:
          if (this.once(seen, t, "in one rule")) this.ruleScalar(r, t);
      }
    }
    if (d.errorCount !== errorsBefore) r.valid = false;
    this.rules.push(r);
  }

  private ruleScalar(r: RuleDraft, t: Token): void {
    const { s, d } = this;
    const k = t.text;
    const p2 = P2_NUMS.get(k);
    if (p2) {
      const v = readNum(s, d, t, p2.bound);
      if (v !== undefined) r[p2.field] = v;
      return;
    }
    const dpd = DPD_NUMS.get(k);
    if (dpd) {
      const v = readNum(s, d, t, CONFIG_BOUNDS[k as "dpd_interval_secs" | "dpd_retries"]);
      if (v !== undefined) r[dpd] = v;
      return;
    }
    switch (k) {
      case "label": {
        const at = s.peek();
        const v = readString(s, d, t);
        if (v === undefined) return;
        if (v.length === 0 || Buffer.byteLength(v) > 255) {
          d.error("IKE_ERR_CFG_BAD_VALUE", at, "a label must be 1 to 255 bytes long");
          return;
        }
        r.label = v;
        r.labelAt = at;
        return;
      }
      case "local_id_type": {
        const v = readWord(s, d, t, CONFIG_ID_TYPE_WORDS, "an identity type");
        if (v !== undefined) r.localIdType = v;
        return;
      }
      case "p2_pfs": {
        const v = this.pfs(t);
        if (v !== undefined) {
          r.p2Pfs = v;
          r.p2PfsAt = t;
        }
        return;
      }
      case "remote_port": {
        const v = readNum(s, d, t, CONFIG_BOUNDS.remote_port);
        if (v !== undefined) r.remotePort = v;
        return;
      }
      default:
        this.unexpected(t, "'}' or a rule parameter", "rule level");
    }
  }
}

/** How to parse: diagnostics options, and checks beyond the file itself. */
export interface ParseOptions extends DiagnosticsOptions {
  readonly context?: ConfigContext;
}

/**
 * Parses the text of an ike.config file. Never throws: every problem becomes a diagnostic with
 * `file:line:col`; `value` holds the globals and the rules that validated. With `hideText` no
 * message quotes the file (see `DiagnosticsOptions`). `context` adds checks that need more than
 * the file (the certificate store); rules it refuses are left out too.
 */
export function parseIkeConfig(text: string, file: string, opts: ParseOptions = {}): ParseResult<IkeConfig> {
  if (text.length > MAX_FILE_CHARS) {
    const d = new Diagnostics(file);
    d.error("IKE_ERR_CFG_TOO_LARGE", { line: 1, col: 1 }, `file is larger than ${MAX_FILE_CHARS} characters`);
    return { ok: false, value: { globals: { certRoot: [], certTrust: [], ignoreCrls: false, ldapServer: [], useHttp: false }, p1Xforms: [], rules: [] }, diagnostics: d.list };
  }
  const p = new ConfigParser(text, file, opts);
  p.run();
  const value = finishConfig(p.globals, p.globalXforms, p.rules, p.d, p.seenGlobal, opts.context, p.sites);
  return { ok: p.d.errorCount === 0, value, diagnostics: p.d.sorted() };
}
