/**
 * Admin commands on rules and pre-shared keys: get, add, del, dump, read, write.
 *
 * Changes go through `LiveConfig.replace()` (atomic). Pre-shared key commands need privilege
 * modkeys (1) and show key bytes only at keymat (2); the caller (admin.ts) checks the level and
 * passes whether keys may be revealed.
 */
import fs from "node:fs";
import {
  formatIkeConfig, formatIkeConfigRules, formatP1Xform, formatPreshared, parseAddressSpec, parseIkeConfig, parsePreshared, releasePreshared,
  resolveRule, formatAddressSpec, formatDiagnostic, configIdTypeWord,
  type IkeConfig, type IkeRule, type PresharedEntry, type PresharedId,
} from "../config/index.js";
import { PRESHARED_ID_TYPE_WORDS } from "../config/names.js";
import { AdminError, type AdminId } from "../control/messages.js";
import type { ChangeResult, ListResult, PresharedView, RuleView } from "../control/results.js";
import type { HandlerResult } from "../control/server.js";
import { loadKeys, loadRules, rulesContext } from "./config-load.js";
import type { LiveConfig } from "./live-config.js";

const fail = (code: number, message: string, extra: { errno?: string; details?: string[] } = {}): HandlerResult =>
  ({ ok: false, error: { code, message, ...extra } });
const done = (result: unknown): HandlerResult => ({ ok: true, result });

/** The view of one rule. */
export function ruleView(live: LiveConfig, config: IkeConfig, rule: IkeRule): RuleView {
  const r = resolveRule(config, rule);
  const v: RuleView = {
    label: rule.label,
    kmcookie: live.kmcookie(rule.label),
    localIdType: r.localIdType,
    localAddr: [...rule.localAddr],
    remoteAddr: [...rule.remoteAddr],
    remoteId: [...rule.remoteId],
    p1Xforms: [...r.p1Xforms],
    globalXforms: rule.p1Xforms.length === 0,
    p1NonceLen: r.p1NonceLen,
    p2NonceLen: r.p2NonceLen,
    p2Pfs: r.p2Pfs,
  };
  if (rule.localId !== undefined) v.localId = rule.localId;
  for (const k of ["p2LifetimeSecs", "p2SoftlifeSecs", "p2IdletimeSecs", "p2LifetimeKb", "p2SoftlifeKb"] as const) {
    const x = r[k];
    if (x !== undefined) v[k] = x;
  }
  return v;
}

/** The view of one pre-shared key entry; key bytes only when `revealKeys`. */
export function presharedView(e: PresharedEntry, revealKeys: boolean): PresharedView {
  const v: PresharedView = { localId: e.localId, remoteId: e.remoteId, ikeMode: e.ikeMode, keyBits: e.keyBits };
  if (revealKeys) v.keyHex = e.key.toString("hex");
  return v;
}

function idText(id: PresharedId): string {
  return "addr" in id ? formatAddressSpec(id.addr) : id.name;
}

/** Does entry identity `e` equal the identifier given on the command line (`type`, `value`)? */
function sameId(e: PresharedId, type: string | undefined, value: string): boolean {
  const info = type === undefined ? { kind: "addr" as const, nameType: undefined } : PRESHARED_ID_TYPE_WORDS.get(type);
  if (!info) return false;
  if (info.kind === "name") return "name" in e && e.type === info.nameType && e.name === value;
  if (!("addr" in e)) return false;
  const p = parseAddressSpec(value.replace(/\s*-\s*/, " - "));
  return p.ok && formatAddressSpec(p.spec) === formatAddressSpec(e.addr);
}

function matches(e: PresharedEntry, id: AdminId): boolean {
  switch (id.kind) {
    case "addr":
      return sameId(e.localId, undefined, id.local) && sameId(e.remoteId, undefined, id.remote);
    case "ident":
      return sameId(e.localId, id.localType, id.local) && sameId(e.remoteId, id.remoteType, id.remote);
    case "cookies":
      return false;
    default: {
      const never: never = id;
      return never;
    }
  }
}

function samePair(a: PresharedEntry, b: PresharedEntry): boolean {
  return a.localId.type === b.localId.type && a.remoteId.type === b.remoteId.type && idText(a.localId) === idText(b.localId) && idText(a.remoteId) === idText(b.remoteId);
}

/** Create `file` exclusively with mode 0600 and write `text`; remove it again on failure. */
function writeNewFile(file: string, text: string): HandlerResult | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(AdminError.SYS_ERR, e.code === "EEXIST" ? `${file} already exists` : `cannot create ${file}: ${e.code ?? e.message}`, { errno: e.code ?? "EIO" });
  }
  try {
    fs.writeSync(fd, text);
    fs.closeSync(fd);
    return undefined;
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed by the failed write path; the unlink below is what matters.
    }
    fs.rmSync(file, { force: true });
    return fail(AdminError.SYS_ERR, `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
  }
}

/** Rule commands. */
export const ruleCommands = {
  get(live: LiveConfig, label: string): HandlerResult {
    const { config } = live.current;
    const rule = config.rules.find((r) => r.label === label);
    if (!rule) return fail(AdminError.NO_OBJ, `could not find requested policy rule '${label}'`);
    return done({ items: [ruleView(live, config, rule)] } satisfies ListResult<RuleView>);
  },

  dump(live: LiveConfig): HandlerResult {
    const { config } = live.current;
    return done({ items: config.rules.map((r) => ruleView(live, config, r)) } satisfies ListResult<RuleView>);
  },

  del(live: LiveConfig, label: string): HandlerResult {
    const { config } = live.current;
    if (!config.rules.some((r) => r.label === label)) return fail(AdminError.NO_OBJ, `could not find requested policy rule '${label}'`);
    live.replace({ config: { ...config, rules: config.rules.filter((r) => r.label !== label) } });
    return done({ count: 1, warnings: [] } satisfies ChangeResult);
  },

  /**
   * One rule in ike.config syntax. The live file-level settings and global transforms are appended
   * after the text (the grammar allows them after the rules), so a rule may rely on them and the
   * diagnostics keep the line numbers of the text as given.
   */
  add(live: LiveConfig, text: string, source: string): HandlerResult {
    const { config } = live.current;
    const tail = [
      "",
      ...(config.globals.localIdType !== undefined ? [`local_id_type ${configIdTypeWord(config.globals.localIdType) ?? ""}`] : []),
      ...config.p1Xforms.map(formatP1Xform),
    ].join("\n");
    // The added text has none of the file's certificate globals: only its pre-shared identity is checked here.
    const parsed = parseIkeConfig(text + tail, source, { context: rulesContext(live.current.preshared) });
    if (!parsed.ok) {
      return fail(AdminError.DATA_INVALID, "error creating new policy rule: the definition does not parse", { details: parsed.diagnostics.map(formatDiagnostic) });
    }
    if (parsed.value.rules.length !== 1) return fail(AdminError.DATA_INVALID, `error creating new policy rule: expected exactly one rule, found ${parsed.value.rules.length}`);
    const rule = parsed.value.rules[0]!;
    if (config.rules.some((r) => r.label === rule.label)) {
      return fail(AdminError.SYS_ERR, `error creating new policy rule: duplicate entry (label '${rule.label}')`, { errno: "EEXIST" });
    }
    live.replace({ config: { ...config, rules: [...config.rules, rule] } });
    return done({ file: source, count: 1, warnings: parsed.diagnostics.map(formatDiagnostic) } satisfies ChangeResult);
  },

  /**
   * Replace the rules from `file`. Diagnostics quote words of the file; when the file is private
   * (no group or other read bit: the pre-shared key file, a private key, /etc/shadow) and the
   * caller may not see keying material (`revealText` false, below keymat), they quote nothing of
   * it, so `read rule` cannot be used to read secrets out of other files line by line. Privacy is
   * judged by `fstat` of the descriptor the text is read through (config/load.ts).
   */
  async read(live: LiveConfig, file: string, revealText: boolean): Promise<HandlerResult> {
    const { preshared, pki } = live.current;
    const r = await loadRules(file, { hideTextIfPrivate: !revealText, context: rulesContext(preshared, pki) });
    if (!r.ok) {
      return fail(AdminError.DATA_INVALID, `${file}: configuration not loaded; the running rules are unchanged`, { details: r.errors });
    }
    live.replace({ config: r.value });
    return done({ file, count: r.value.rules.length, warnings: r.warnings } satisfies ChangeResult);
  },

  write(live: LiveConfig, file: string): HandlerResult {
    const { config } = live.current;
    if (config.rules.length === 0) return done({ file, count: 0, warnings: [] } satisfies ChangeResult);
    let text: string;
    try {
      text = formatIkeConfig(config);
    } catch (err) {
      return fail(AdminError.DATA_INVALID, `cannot represent the live rules in ike.config syntax: ${(err as Error).message}`);
    }
    return writeNewFile(file, text) ?? done({ file, count: config.rules.length, warnings: [] } satisfies ChangeResult);
  },

  /** All rules as text for the debug log (`dbg rbdump`). */
  text(live: LiveConfig): string {
    return formatIkeConfigRules(live.current.config.rules);
  },
};

/** Pre-shared key commands (privilege already checked by the caller). */
export const presharedCommands = {
  get(live: LiveConfig, id: AdminId, revealKeys: boolean): HandlerResult {
    const found = live.current.preshared.filter((e) => matches(e, id));
    if (found.length === 0) return fail(AdminError.NO_OBJ, "could not find requested preshared key");
    return done({ items: found.map((e) => presharedView(e, revealKeys)) } satisfies ListResult<PresharedView>);
  },

  dump(live: LiveConfig, revealKeys: boolean): HandlerResult {
    return done({ items: live.current.preshared.map((e) => presharedView(e, revealKeys)) } satisfies ListResult<PresharedView>);
  },

  del(live: LiveConfig, id: AdminId): HandlerResult {
    const { preshared } = live.current;
    const keep = preshared.filter((e) => !matches(e, id));
    if (keep.length === preshared.length) return fail(AdminError.NO_OBJ, "could not find requested preshared key");
    live.replace({ preshared: keep });
    return done({ count: preshared.length - keep.length, warnings: [] } satisfies ChangeResult);
  },

  add(live: LiveConfig, text: string, source: string): HandlerResult {
    const parsed = parsePreshared(text, source);
    if (!parsed.ok) {
      releasePreshared(parsed.value);
      return fail(AdminError.DATA_INVALID, "invalid preshared key definition", { details: parsed.diagnostics.map(formatDiagnostic) });
    }
    if (parsed.value.length === 0) return fail(AdminError.DATA_INVALID, "invalid preshared key definition: no entry found");
    const { preshared } = live.current;
    if (parsed.value.some((n) => preshared.some((e) => samePair(e, n)))) {
      releasePreshared(parsed.value);
      return fail(AdminError.SYS_ERR, "error creating new preshared key: duplicate entry", { errno: "EEXIST" });
    }
    live.replace({ preshared: [...preshared, ...parsed.value] });
    return done({ file: source, count: parsed.value.length, warnings: parsed.diagnostics.map(formatDiagnostic) } satisfies ChangeResult);
  },

  async read(live: LiveConfig, file: string): Promise<HandlerResult> {
    const r = await loadKeys(file, { optional: false });
    if (!r.ok) {
      releasePreshared(r.value);
      return fail(AdminError.DATA_INVALID, `${file}: pre-shared keys not loaded; the running keys are unchanged`, { details: r.errors });
    }
    live.replace({ preshared: r.value });
    return done({ file, count: r.value.length, warnings: r.warnings } satisfies ChangeResult);
  },

  write(live: LiveConfig, file: string): HandlerResult {
    const { preshared } = live.current;
    if (preshared.length === 0) return done({ file, count: 0, warnings: [] } satisfies ChangeResult);
    return writeNewFile(file, formatPreshared(preshared)) ?? done({ file, count: preshared.length, warnings: [] } satisfies ChangeResult);
  },
};
