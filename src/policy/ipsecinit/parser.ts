/**
 * Parser of `ipsecinit.conf` (illumos ipsecconf(8)):
 *
 *   policy  ::= '{' pattern '}' action '{' properties '}' [ 'or' action '{' properties '}' ]*
 *   pattern ::= ( name value )*      laddr raddr saddr daddr smask dmask lport rport ulp type code
 *                                     tunnel negotiate dir, and their aliases
 *   action  ::= ipsec | apply | permit | bypass | pass | drop
 *   properties ::= ( name value )*   auth_algs encr_algs encr_auth_algs sa dir
 *
 * Layout rules from the manual: every entry begins on a new line, and an `or` sits on the line of the
 * '}' before it (the manual's example 12 shows a line starting with `or` as an error).
 * Each name appears at most once per braced section. All errors are collected with file:line:col;
 * after an error the parser resumes at the next line that starts with '{'.
 */
import { tokenize, type Token } from "./lexer.js";
import { checkAction, checkEntry, type Pair, type PairSource } from "./semantics.js";
import {
  parseAddressValue,
  parseAlgorithm,
  parseIcmpRange,
  parseInterface,
  parseMask,
  parsePort,
  parseProtocol,
  type Parsed,
} from "./values.js";
import type { IpsecPolicy, PolicyActionType, PolicyEntry, PolicyError, PolicyErrorCode } from "./types.js";

/** Pattern names → the slot they fill (aliases share a slot, so `raddr` after `remote` is a duplicate). */
const PATTERN_SLOTS: ReadonlyMap<string, string> = new Map([
  ["laddr", "local"], ["local", "local"], ["raddr", "remote"], ["remote", "remote"],
  ["lport", "localPort"], ["rport", "remotePort"],
  // Packet-literal names: source/destination, turned into local/remote by direction (semantics.ts).
  ["saddr", "srcAddr"], ["src", "srcAddr"], ["srcaddr", "srcAddr"], ["daddr", "dstAddr"], ["dst", "dstAddr"], ["dstaddr", "dstAddr"],
  ["sport", "srcPort"], ["dport", "dstPort"], ["smask", "smask"], ["dmask", "dmask"],
  ["ulp", "ulp"], ["proto", "ulp"], ["type", "type"], ["code", "code"],
  ["tunnel", "tunnel"], ["negotiate", "negotiate"], ["dir", "dir"],
]);

const PROPERTY_SLOTS: ReadonlyMap<string, string> = new Map([
  ["auth_algs", "ah"], ["encr_algs", "espEncr"], ["encr_auth_algs", "espAuth"], ["sa", "sa"], ["dir", "dir"],
]);

const ACTIONS: ReadonlyMap<string, PolicyActionType> = new Map([
  ["ipsec", "ipsec"], ["apply", "apply"], ["permit", "permit"], ["bypass", "bypass"], ["pass", "bypass"], ["drop", "drop"],
]);

/** Result of parsing: the good entries, and every error found (empty when the file is valid). */
export interface PolicyParseResult {
  policy: IpsecPolicy;
  errors: PolicyError[];
}

class Abort extends Error {}
/** Thrown once the error list is full: parsing stops there. */
class Stop extends Error {}

/** Most errors reported for one file (the last slot says parsing stopped), bounding memory. */
export const MAX_POLICY_ERRORS = 100;

/** Parses the text of an `ipsecinit.conf`. Never throws. */
export function parseIpsecPolicy(source: string, file = "ipsecinit.conf"): PolicyParseResult {
  const toks = tokenize(source);
  const errors: PolicyError[] = [];
  const entries: PolicyEntry[] = [];
  let pos = 0;
  let lastEndLine = 0;
  // Counted apart from the (bounded) list, which stops growing at MAX_POLICY_ERRORS.
  let errorCount = 0;
  const err = (t: Token | { line: number; col: number }, code: PolicyErrorCode, message: string): void => {
    errorCount++;
    if (errors.length < MAX_POLICY_ERRORS - 1) {
      errors.push({ code, message, file, line: t.line, col: t.col });
      return;
    }
    errors.push({ code: "IKE_ERR_POLICY_TOO_MANY_ERRORS", message: `too many errors, stopped after ${MAX_POLICY_ERRORS - 1}`, file, line: t.line, col: t.col });
    throw new Stop();
  };
  const eofPos = (): { line: number; col: number } => {
    const last = toks[toks.length - 1];
    return last === undefined ? { line: 1, col: 1 } : { line: last.line, col: last.col + last.text.length };
  };

  /** Reads `{ name value ... }` starting at the '{' at `pos`. */
  const block = (slots: ReadonlyMap<string, string>, what: string, valueOf: (slot: string, v: Token) => Parsed<unknown>): Map<string, Pair> => {
    const open = toks[pos]!;
    pos++;
    const pairs = new Map<string, Pair>();
    let failed = false;
    for (;;) {
      const name = toks[pos];
      if (name === undefined) {
        err(open, "IKE_ERR_POLICY_SYNTAX", `'{' of the ${what} is never closed`);
        throw new Abort();
      }
      if (name.text === "}") {
        pos++;
        if (failed) throw new Abort();
        return pairs;
      }
      if (name.text === "{") {
        err(name, "IKE_ERR_POLICY_SYNTAX", `unexpected '{' inside the ${what}`);
        throw new Abort();
      }
      const slot = slots.get(name.text);
      const value = toks[pos + 1];
      if (slot === undefined) {
        err(name, "IKE_ERR_POLICY_KEYWORD", `unknown ${what} name '${name.text}'`);
        failed = true;
        pos += value !== undefined && value.text !== "}" && value.text !== "{" ? 2 : 1;
        continue;
      }
      if (value === undefined || value.text === "}" || value.text === "{") {
        err(name, "IKE_ERR_POLICY_SYNTAX", `'${name.text}' needs a value`);
        failed = true;
        pos++;
        continue;
      }
      pos += 2;
      let parsed = valueOf(slot, value);
      // An algorithm's key length may be written apart: `aes (128..256)`.
      if (parsed.ok && (slot === "ah" || slot === "espEncr" || slot === "espAuth") && toks[pos]?.text.startsWith("(") && !value.text.includes("(")) {
        const joined = { ...value, text: value.text + toks[pos]!.text };
        pos++;
        parsed = valueOf(slot, joined);
      }
      const prev = pairs.get(slot);
      if (prev !== undefined) {
        err(name, "IKE_ERR_POLICY_DUPLICATE", `duplicate '${name.text}' (already given as '${prev.name.text}' at ${prev.name.line}:${prev.name.col})`);
        failed = true;
      } else if (!parsed.ok) {
        err(value, parsed.error.code, parsed.error.message);
        failed = true;
      } else {
        pairs.set(slot, { name, value, parsed: parsed.value });
      }
    }
  };

  const expectBrace = (after: Token, what: string): void => {
    const t = toks[pos];
    if (t === undefined) {
      err(eofPos(), "IKE_ERR_POLICY_SYNTAX", `expected '{' to open the ${what} after '${after.text}'`);
      throw new Abort();
    }
    if (t.text !== "{") {
      err(t, "IKE_ERR_POLICY_SYNTAX", `expected '{' to open the ${what}, found '${t.text}'`);
      throw new Abort();
    }
  };

  /**
   * Reads the action word. The manual asks for it on the line of the '}' before it, but its own
   * example 13 puts it on the next line, so only `or` is held to that rule (as ipsecconf does).
   */
  const action = (): { token: Token; type: PolicyActionType } => {
    const t = toks[pos];
    if (t === undefined) {
      err(eofPos(), "IKE_ERR_POLICY_SYNTAX", "expected an action (ipsec, apply, permit, bypass, pass, drop) after the pattern");
      throw new Abort();
    }
    const type = ACTIONS.get(t.text);
    if (type === undefined) {
      err(t, "IKE_ERR_POLICY_KEYWORD", `unknown action '${t.text}' (expected ipsec, apply, permit, bypass, pass or drop)`);
      throw new Abort();
    }
    pos++;
    return { token: t, type };
  };

  const patternValue = (slot: string, v: Token): Parsed<unknown> => {
    switch (slot) {
      case "local":
      case "remote":
      case "srcAddr":
      case "dstAddr":
        return parseAddressValue(v.text);
      case "smask":
      case "dmask":
        return parseMask(v.text);
      case "localPort":
      case "remotePort":
      case "srcPort":
      case "dstPort":
        return parsePort(v.text);
      case "ulp":
        return parseProtocol(v.text);
      case "type":
        return parseIcmpRange(v.text, "type");
      case "code":
        return parseIcmpRange(v.text, "code");
      case "tunnel":
        return parseInterface(v.text);
      case "negotiate":
        return oneOf(v.text, ["tunnel", "transport"], "negotiate");
      default:
        return oneOf(v.text, ["in", "out", "both"], "dir");
    }
  };

  const propertyValue = (slot: string, v: Token): Parsed<unknown> => {
    switch (slot) {
      case "ah":
      case "espAuth":
        return parseAlgorithm(v.text, "auth");
      case "espEncr":
        return parseAlgorithm(v.text, "encr");
      case "sa":
        return oneOf(v.text, ["shared", "unique"], "sa");
      default:
        return oneOf(v.text, ["in", "out", "both"], "dir");
    }
  };

  while (pos < toks.length) {
    const start = toks[pos]!;
    try {
      if (start.text !== "{") {
        err(start, "IKE_ERR_POLICY_SYNTAX", `expected '{' to begin a policy entry, found '${start.text}'`);
        throw new Abort();
      }
      const firstError = errorCount;
      if (start.line === lastEndLine) err(start, "IKE_ERR_POLICY_SYNTAX", "a policy entry must begin on a new line");
      const pattern = block(PATTERN_SLOTS, "pattern", patternValue);
      let close = toks[pos - 1]!;
      const actions: PairSource[] = [];
      for (;;) {
        const act = action();
        expectBrace(act.token, "properties");
        const props = block(PROPERTY_SLOTS, "properties", propertyValue);
        close = toks[pos - 1]!;
        actions.push({ token: act.token, type: act.type, pairs: props });
        const next = toks[pos];
        if (next === undefined || next.text !== "or") break;
        if (next.line !== close.line) {
          err(next, "IKE_ERR_POLICY_SYNTAX", "'or' must be on the same line as the '}' before it");
          throw new Abort();
        }
        pos++;
      }
      lastEndLine = close.line;
      const checked = actions.map((a) => checkAction(a, err));
      const entry = checkEntry(start, pattern, actions, checked, err, { index: entries.length + 1, file });
      if (entry !== null && errorCount === firstError) entries.push(entry);
    } catch (e) {
      if (e instanceof Stop) break;
      if (!(e instanceof Abort)) throw e;
      pos = resume(toks, pos, start);
      lastEndLine = 0;
    }
  }
  return { policy: { file, entries }, errors };
}

/** Index of the next '{' that starts a line after a '}' (the likely next entry), or the end. */
function resume(toks: Token[], pos: number, start: Token): number {
  let i = Math.max(pos, toks.indexOf(start) + 1);
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1];
    if (t.text === "{" && prev !== undefined && prev.line < t.line && prev.text === "}") return i;
  }
  return i;
}

function oneOf<T extends string>(text: string, allowed: readonly T[], what: string): Parsed<T> {
  return (allowed as readonly string[]).includes(text)
    ? { ok: true, value: text as T }
    : { ok: false, error: { code: "IKE_ERR_POLICY_VALUE", message: `${what} must be ${allowed.join(" or ")}, not '${text}'` } };
}
