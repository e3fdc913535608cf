/**
 * Debug categories and administrative privilege levels of the original in.iked.
 *
 * The category bits, their nicknames and the expression syntax (`phase1+phase2-op`, C numbers)
 * are an interface constant shared by `in.iked -d`, the `debug_level` service property and
 * `ikeadm get|set debug` (reference ikeadm.md §6); the privilege levels gate what the admin
 * socket reveals (ikeadm.md §4).
 */

/** One debug category: its bit, accepted nicknames (first is canonical) and description. */
export interface DebugCategoryInfo {
  readonly bit: number;
  readonly names: readonly string[];
  readonly description: string;
}

/** Debug category bits, named by their canonical nickname. */
export const DebugCategory = {
  cert: 0x0001,
  key: 0x0002,
  op: 0x0004,
  phase1: 0x0008,
  phase2: 0x0010,
  pfkey: 0x0020,
  policy: 0x0040,
  prop: 0x0080,
  door: 0x0100,
  config: 0x0200,
  label: 0x0400,
} as const;

/** A canonical category name. */
export type DebugCategoryName = keyof typeof DebugCategory;

/** Every category bit. */
export const DEBUG_ALL = 0x07ff;
/** Marks an expression that did not parse (the original's D_INVALID). */
export const DEBUG_INVALID = 0x80000000;

/** The table in bit order, as `ikeadm get debug` lists it. */
export const DEBUG_CATEGORIES: readonly DebugCategoryInfo[] = [
  { bit: 0x0001, names: ["cert"], description: "Certificate management" },
  { bit: 0x0002, names: ["key"], description: "Key management" },
  { bit: 0x0004, names: ["op"], description: "Operational" },
  { bit: 0x0008, names: ["phase1", "p1"], description: "Phase 1 SA creation" },
  { bit: 0x0010, names: ["phase2", "p2"], description: "Phase 2 SA creation" },
  { bit: 0x0020, names: ["pfkey"], description: "PF_KEY interface" },
  { bit: 0x0040, names: ["policy", "pol"], description: "Policy management" },
  { bit: 0x0080, names: ["prop"], description: "Proposal construction" },
  { bit: 0x0100, names: ["door"], description: "Door interface" },
  { bit: 0x0200, names: ["config"], description: "Config file processing" },
  { bit: 0x0400, names: ["label"], description: "MAC label processing" },
];

/** Result of parsing a debug or privilege expression. */
export type LevelResult = { ok: true; level: number } | { ok: false; message: string };

/**
 * Parse a C integer literal (decimal, 0x hex, leading-0 octal) as strtol would for a whole word.
 * Returns undefined when the word is not entirely a number.
 */
export function parseCNumber(word: string): number | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(word))) return Number.parseInt(m[1]!, 16);
  if ((m = /^0([0-7]+)$/.exec(word))) return Number.parseInt(m[1]!, 8);
  if (/^(0|[1-9][0-9]*)$/.test(word)) return Number.parseInt(word, 10);
  return undefined;
}

function categoryBits(word: string): number | undefined {
  const w = word.toLowerCase();
  if (w === "all") return DEBUG_ALL;
  if (w === "0") return 0;
  const n = parseCNumber(w);
  if (n !== undefined) return n;
  return DEBUG_CATEGORIES.find((c) => c.names.includes(w))?.bit;
}

/**
 * Parse a debug level: a number first (as the original does), else an expression of nicknames or
 * numbers joined by `+` (add) and `-` (remove), evaluated left to right from 0.
 */
export function parseDebugLevel(text: string): LevelResult {
  const trimmed = text.trim();
  const numeric = parseCNumber(trimmed);
  if (numeric !== undefined && numeric !== 0) {
    if (numeric > 0xffffffff || (numeric & DEBUG_INVALID) !== 0) {
      return { ok: false, message: `bad debug flag '${trimmed}'` };
    }
    return { ok: true, level: numeric };
  }
  if (trimmed === "") return { ok: false, message: "empty debug level" };
  let level = 0;
  const re = /([+-]?)([^+-]+)/g;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(trimmed)) !== null) {
    if (m.index !== consumed) return { ok: false, message: `bad debug flag '${trimmed}'` };
    consumed = m.index + m[0].length;
    const bits = categoryBits(m[2]!.trim());
    if (bits === undefined) return { ok: false, message: `bad debug flag '${m[2]!.trim()}'` };
    level = m[1] === "-" ? level & ~bits : level | bits;
  }
  if (consumed !== trimmed.length) return { ok: false, message: `bad debug flag '${trimmed}'` };
  return { ok: true, level: level >>> 0 };
}

/** Descriptions of the categories set in `level`, in bit order. */
export function describeDebugLevel(level: number): string[] {
  return DEBUG_CATEGORIES.filter((c) => (level & c.bit) !== 0).map((c) => c.description);
}

/** Administrative privilege levels (`-p`, `admin_privilege`, `ikeadm set priv`). */
export const Privilege = { base: 0, modkeys: 1, keymat: 2 } as const;
/** A privilege level value. */
export type PrivilegeLevel = 0 | 1 | 2;

/** What each privilege level allows, as `ikeadm get priv` words it. */
export const PRIVILEGE_DESCRIPTIONS: Readonly<Record<PrivilegeLevel, string>> = {
  0: "base privileges",
  1: "access to preshared key information",
  2: "access to keying material",
};

/** Parse a privilege level: `base`/`modkeys`/`keymat` (any case) or a C number 0..2. */
export function parsePrivilege(text: string): { ok: true; level: PrivilegeLevel } | { ok: false; message: string } {
  const w = text.trim().toLowerCase();
  const named = (Privilege as Record<string, number>)[w];
  const n = named ?? parseCNumber(w);
  if (n === 0 || n === 1 || n === 2) return { ok: true, level: n };
  return { ok: false, message: `bad privilege flag '${text.trim()}'` };
}
