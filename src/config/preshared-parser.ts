/**
 * ike.preshared parser (reference ike-preshared.md). A file is a list of entries
 *
 *   { localidtype T localid ID remoteidtype T remoteid ID [ike_mode main|aggressive|both] key KEY }
 *
 * with fields in any order, names and type words case-insensitive. Keys are hex (optional `0x`,
 * optional `/bits`) or a quoted ASCII string. No message ever quotes a token of this file, since
 * a misplaced token may be key material: errors only point at positions.
 *
 * Secrets: each accepted key is copied into the secure slab (preshared-keys.ts) and the decoding
 * buffer is wiped; a duplicate's key is released at once. The owner of the returned set calls
 * `releasePreshared` when it is replaced or the process ends. What cannot be wiped: the file
 * text and every token the lexer cuts from it are JS strings (immutable, copied and freed by the
 * garbage collector when it likes), and so is the hex-digit string handed to `Buffer.from`.
 * `loadPreshared` at least reads the file into a Buffer and zeroes that Buffer after decoding.
 */
import { wipe } from "../crypto/secure.js";
import { secureKey } from "./preshared-keys.js";
import { parseAddressSpec } from "./address.js";
import { Diagnostics, MAX_FILE_CHARS, type Pos } from "./diagnostics.js";
import { PRESHARED_LEX, Lexer, TokenStream, type Token } from "./lexer.js";
import { IdType } from "../codec/constants.js";
import { PRESHARED_ID_TYPE_WORDS } from "./names.js";
import { parseCInteger } from "./numbers.js";
import type { IkeMode, ParseResult, PresharedEntry, PresharedId } from "./types.js";

/** Longest key accepted, in hex digits (1024 bytes). */
const MAX_KEY_HEX = 2048;
/** Longest name identity (FQDN, DN ...) accepted, in characters. */
const MAX_NAME = 1024;

const FIELDS = ["localidtype", "localid", "remoteidtype", "remoteid", "ike_mode", "key"] as const;
type Field = (typeof FIELDS)[number];
const FIELD_LIST = FIELDS.join(", ");

/** A raw id value: its text (address words glued) and position. */
interface RawValue extends Pos {
  readonly text: string;
  readonly quoted: boolean;
}

function tokenDesc(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "end of file";
    case "string":
      return "a quoted string";
    case "word":
      return "a word";
    default:
      return `'${t.kind}'`;
  }
}

/**
 * Parses a key value: hex digits (`0x` optional, `/bits` optional) or an ASCII string. The key
 * comes back in a normal Buffer: the caller moves it to secure memory (`secureKey`) or wipes it.
 */
export function parseKey(raw: RawValue): { key: Buffer; keyBits: number } | { code: string; message: string } {
  if (raw.quoted) {
    if (raw.text.length === 0) return { code: "IKE_ERR_PSK_EMPTY_KEY", message: "the key is empty" };
    if (!/^[\x20-\x7e\t]*$/.test(raw.text)) return { code: "IKE_ERR_PSK_BAD_KEY", message: "a quoted key must be printable ASCII" };
    if (raw.text.length > MAX_KEY_HEX / 2) return { code: "IKE_ERR_PSK_BAD_KEY", message: `the key is longer than ${MAX_KEY_HEX / 2} bytes` };
    const key = Buffer.from(raw.text, "latin1");
    return { key, keyBits: key.length * 8 };
  }
  const m = /^(?:0[xX])?([0-9a-fA-F]*)(?:\/([^/]*))?$/.exec(raw.text);
  if (!m) return { code: "IKE_ERR_PSK_BAD_KEY", message: "the key is neither hex digits (optionally 0x..., /bits) nor a quoted string" };
  let digits = m[1]!;
  if (digits.length === 0) return { code: "IKE_ERR_PSK_EMPTY_KEY", message: "the key has no hex digits" };
  if (digits.length > MAX_KEY_HEX) return { code: "IKE_ERR_PSK_BAD_KEY", message: `the key is longer than ${MAX_KEY_HEX} hex digits` };
  let bits: number;
  if (m[2] !== undefined) {
    const n = parseCInteger(m[2]);
    if (n === undefined || n === 0) return { code: "IKE_ERR_PSK_KEY_BITS", message: "the key's /bits is not a positive number" };
    if (n > digits.length * 4) return { code: "IKE_ERR_PSK_KEY_BITS", message: `the key's /bits (${n}) needs more than the ${digits.length} hex digits given` };
    bits = n;
    digits = digits.slice(0, Math.ceil(n / 4));
  } else {
    bits = Math.ceil(digits.length / 2) * 8;
  }
  if (digits.length % 2 === 1) digits += "0";
  const key = Buffer.from(digits, "hex");
  if (bits % 8 !== 0) key[key.length - 1] = key[key.length - 1]! & ((0xff << (8 - (bits % 8))) & 0xff);
  return { key, keyBits: bits };
}

/** Interprets an id value under its type word (`ip` when the type was omitted). */
function parseId(typeWord: string, raw: RawValue): PresharedId | { code: string; message: string } {
  const type = PRESHARED_ID_TYPE_WORDS.get(typeWord);
  if (!type) return { code: "IKE_ERR_PSK_BAD_ID_TYPE", message: "unknown identity type" };
  if (type.kind === "name") {
    if (raw.text.length === 0 || raw.text.length > MAX_NAME) return { code: "IKE_ERR_PSK_BAD_ID", message: `a name identity must be 1 to ${MAX_NAME} characters` };
    return { type: type.nameType ?? IdType.ID_FQDN, name: raw.text };
  }
  const r = parseAddressSpec(raw.text);
  if (!r.ok) return { code: "IKE_ERR_PSK_BAD_ID", message: "expected a numeric IP address (host names are not allowed here)" };
  const spec = r.spec;
  if (type.family !== null && type.family !== spec.family) {
    return { code: "IKE_ERR_PSK_BAD_ID", message: `the identity type '${typeWord}' needs an IPv${type.family} address` };
  }
  const v6 = spec.family === 6;
  if (type.kind === "addr" && spec.kind === "single") return { type: v6 ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR, addr: spec };
  if ((type.kind === "addr" || type.kind === "prefix") && spec.kind === "prefix") {
    return { type: v6 ? IdType.ID_IPV6_ADDR_SUBNET : IdType.ID_IPV4_ADDR_SUBNET, addr: spec };
  }
  if (type.kind === "range" && spec.kind === "range") return { type: v6 ? IdType.ID_IPV6_ADDR_RANGE : IdType.ID_IPV4_ADDR_RANGE, addr: spec };
  const want = type.kind === "range" ? "an address range a-b" : type.kind === "prefix" ? "an address/prefix" : "an address or address/prefix";
  return { code: "IKE_ERR_PSK_BAD_ID", message: `the identity type '${typeWord}' needs ${want}` };
}

/** A key that is equal for two identities exactly when they are the same identity. */
function idKey(id: PresharedId): string {
  // DNS names and mailboxes compare without case (as the lookups in match.ts do), so
  // `A.example` after `a.example` is the same identity, reported as a duplicate.
  if ("name" in id) return `${id.type} n ${id.type === IdType.ID_FQDN || id.type === IdType.ID_USER_FQDN ? id.name.toLowerCase() : id.name}`;
  const a = id.addr;
  return `${id.type} a ${a.kind === "range" ? `${a.start}-${a.end}` : a.kind === "prefix" ? `${a.addr}/${a.prefixLen}` : a.addr}`;
}

const modesOverlap = (a: IkeMode, b: IkeMode): boolean => a === b || a === "both" || b === "both";

/** Parser state for one file. */
class PresharedParser {
  readonly d: Diagnostics;
  private readonly s: TokenStream;
  readonly entries: PresharedEntry[] = [];
  /** Entries seen per identity pair, to spot duplicates without a quadratic scan. */
  private readonly seen = new Map<string, { mode: IkeMode; at: Pos }[]>();

  constructor(text: string, file: string) {
    this.d = new Diagnostics(file);
    this.s = new TokenStream(new Lexer(text, PRESHARED_LEX, this.d));
  }

  run(): void {
    while (!this.s.atEnd && !this.d.exhausted) {
      const t = this.s.next();
      if (t.kind === "{") this.entry(t);
      else {
        this.d.error(t.kind === "}" ? "IKE_ERR_CFG_UNBALANCED" : "IKE_ERR_CFG_UNEXPECTED_TOKEN", t, `expected '{' starting an entry, found ${tokenDesc(t)}`);
        while (!this.s.atEnd && this.s.peek().kind !== "{") this.s.next();
      }
    }
  }

  /** Reads an id value, gluing `a / n` and `a - b` written with spaces. */
  private readId(): RawValue {
    const first = this.s.next();
    let text = first.text;
    if (first.kind === "word") {
      for (let parts = 1; parts < 8; parts++) {
        const nx = this.s.peek();
        if (nx.kind !== "word" || !(/[/-]$/.test(text) || /^[/-]/.test(nx.text))) break;
        text += this.s.next().text;
      }
    }
    return { text, quoted: first.kind === "string", line: first.line, col: first.col };
  }

  private entry(open: Token): void {
    const { s, d } = this;
    const errorsBefore = d.errorCount;
    const got = new Map<Field, RawValue>();
    for (;;) {
      const t = s.peek();
      if (t.kind === "}") {
        s.next();
        break;
      }
      if (t.kind === "eof") {
        d.error("IKE_ERR_CFG_UNBALANCED", t, `expected '}' to close the entry opened at ${open.line}:${open.col}, found end of file`);
        return;
      }
      if (d.exhausted) return;
      s.next();
      const name = t.kind === "word" ? (t.text.toLowerCase() as Field) : undefined;
      if (name === undefined || !FIELDS.includes(name)) {
        d.error("IKE_ERR_PSK_UNKNOWN_FIELD", t, `expected '}' or a field name (${FIELD_LIST}), found ${tokenDesc(t)}`);
        // Skip the value a misspelt field name would have had.
        if (s.peek().kind === "word" || s.peek().kind === "string") s.next();
        continue;
      }
      const v = s.peek();
      if (v.kind !== "word" && v.kind !== "string") {
        d.error("IKE_ERR_CFG_MISSING_VALUE", v, `expected a value after '${name}', found ${tokenDesc(v)}`);
        continue;
      }
      if (name !== "key" && v.kind === "word" && FIELDS.includes(v.text.toLowerCase() as Field)) {
        d.error("IKE_ERR_CFG_MISSING_VALUE", v, `expected a value after '${name}', found the field name '${v.text.toLowerCase()}'`);
        continue;
      }
      const raw = name === "localid" || name === "remoteid" ? this.readId() : ((): RawValue => {
        const x = s.next();
        return { text: x.text, quoted: x.kind === "string", line: x.line, col: x.col };
      })();
      const prev = got.get(name);
      if (prev) {
        d.error("IKE_ERR_PSK_DUPLICATE_FIELD", t, `'${name}' appears twice in one entry (first value at ${prev.line}:${prev.col})`);
        continue;
      }
      got.set(name, raw);
    }
    const absent = (["localid", "remoteid", "key"] as const).filter((f) => !got.has(f));
    if (absent.length > 0) {
      d.error("IKE_ERR_PSK_MISSING", open, `entry lacks ${absent.join(", ")}`);
      return;
    }
    const ids: PresharedId[] = [];
    for (const side of ["local", "remote"] as const) {
      const typeRaw = got.get(`${side}idtype`);
      const typeWord = typeRaw ? typeRaw.text.toLowerCase() : "ip";
      if (typeRaw && !PRESHARED_ID_TYPE_WORDS.has(typeWord)) {
        d.error("IKE_ERR_PSK_BAD_ID_TYPE", typeRaw, `unknown ${side}idtype; expected one of ${[...PRESHARED_ID_TYPE_WORDS.keys()].join(", ")}`);
        continue;
      }
      const raw = got.get(`${side}id`)!;
      const id = parseId(typeWord, raw);
      if ("code" in id) d.error(id.code, raw, `bad ${side}id: ${id.message}`);
      else ids.push(id);
    }
    let ikeMode: IkeMode = "main";
    const modeRaw = got.get("ike_mode");
    if (modeRaw) {
      const m = modeRaw.text.toLowerCase();
      if (m === "main" || m === "aggressive" || m === "both") ikeMode = m;
      else d.error("IKE_ERR_PSK_BAD_MODE", modeRaw, "ike_mode must be main, aggressive or both");
    }
    const keyRaw = got.get("key")!;
    const key = parseKey(keyRaw);
    if ("code" in key) d.error(key.code, keyRaw, key.message);
    if (d.errorCount !== errorsBefore || "code" in key || ids.length !== 2) {
      if (!("code" in key)) wipe(key.key);
      return;
    }
    const pairKey = `${idKey(ids[0]!)}\n${idKey(ids[1]!)}`;
    const same = this.seen.get(pairKey) ?? [];
    const first = same.find((x) => modesOverlap(x.mode, ikeMode));
    if (first) {
      d.warn("IKE_ERR_PSK_DUPLICATE", open, `duplicate entry ignored: the entry at ${first.at.line}:${first.at.col} has the same identities`);
      wipe(key.key);
      return;
    }
    const entry: PresharedEntry = { localId: ids[0]!, remoteId: ids[1]!, ikeMode, key: secureKey(key.key), keyBits: key.keyBits };
    same.push({ mode: entry.ikeMode, at: open });
    this.seen.set(pairKey, same);
    this.entries.push(entry);
  }
}

/**
 * Parses the text of an ike.preshared file. Never throws; messages carry positions but never
 * key material. `value` holds the valid entries (duplicates after the first are dropped with a
 * warning, as the original reports "duplicate entries ignored").
 */
export function parsePreshared(text: string, file: string): ParseResult<PresharedEntry[]> {
  if (text.length > MAX_FILE_CHARS) {
    const d = new Diagnostics(file);
    d.error("IKE_ERR_CFG_TOO_LARGE", { line: 1, col: 1 }, `file is larger than ${MAX_FILE_CHARS} characters`);
    return { ok: false, value: [], diagnostics: d.list };
  }
  const p = new PresharedParser(text, file);
  p.run();
  return { ok: p.d.errorCount === 0, value: p.entries, diagnostics: p.d.sorted() };
}
