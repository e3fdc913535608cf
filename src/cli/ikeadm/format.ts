/**
 * Text output of ikeadm in the original's layout (reference ikeadm.md §3): the line prefixes
 * (GLOBL:, LOCIP:, PSKEY: ...), table headings and column widths are interface constants that
 * scripts parse; prose is ours.
 */
import { AuthMethod } from "../../codec/attributes-constants.js";
import { formatAddressSpec } from "../../config/address.js";
import { authMethodWord, configIdTypeWord, idTypeName } from "../../config/names.js";
import type { AddressSpec, P1Xform, PresharedId } from "../../config/types.js";
import { cipherById, groupById, hashById } from "../../crypto/algorithms.js";
import { describeDebugLevel, PRIVILEGE_DESCRIPTIONS, type PrivilegeLevel } from "../../log/categories.js";
import type {
  AuthAlgView, CertCacheView, DebugResult, DefaultsResult, EncrAlgView, GroupView, PresharedView, PrivResult, RuleView, StatsResult,
} from "../../control/results.js";

/** Output switches of ikeadm. */
export interface FormatOptions {
  /** `-p`: print every key byte as XX. */
  paranoid: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** `get debug` / `set debug` category list. */
export function formatDebugCategories(level: number): string[] {
  if (level === 0) return ["No debug categories enabled."];
  return ["Debug categories enabled:", ...describeDebugLevel(level).map((d) => `\t${d}`)];
}

/** `get debug`. */
export function formatGetDebug(r: DebugResult): string[] {
  return [`Current debug level is ${hex(r.level)}`, ...formatDebugCategories(r.level)];
}

/** `set debug`. */
export function formatSetDebug(r: DebugResult): string[] {
  return [
    `Successfully changed debug level from ${hex(r.previous ?? 0)} to ${hex(r.level)}`,
    ...formatDebugCategories(r.level),
    ...(r.destination !== "stderr" ? [`Debug output goes to ${r.destination}`] : []),
  ];
}

function privText(level: number): string {
  return PRIVILEGE_DESCRIPTIONS[level as PrivilegeLevel] ?? "unknown privilege level";
}

/** `get priv`. */
export function formatGetPriv(r: PrivResult): string[] {
  return [`Current privilege level is ${hex(r.level)}, ${privText(r.level)}`];
}

/** `set priv`. */
export function formatSetPriv(r: PrivResult): string[] {
  return [`Successfully changed privilege level from ${hex(r.previous ?? 0)} to ${hex(r.level)}`, `The daemon now allows ${privText(r.level)}`];
}

/** `get defaults`: columns Token 18, Source 10, Value 11 right + space, Unit 10, Description 26. */
export function formatDefaults(r: DefaultsResult): string[] {
  const row = (t: string, s: string, v: string, u: string, d: string) => `${t.padEnd(18)}${s.padEnd(10)}${v.padStart(11)} ${u.padEnd(10)}${d.padEnd(26)}`.trimEnd();
  return [
    "Global defaults. Some values can be overridden on a per-rule basis.",
    "System defaults are time delayed.",
    "",
    row("Token:", "Source:", "Value:", "Unit:", "Description:"),
    ...r.rows.map((x) => row(x.token, x.current !== x.compiled ? "config" : "default", String(x.current), x.unit, x.description)),
  ];
}

/** ` (1 hour 30 minutes)` for a duration in seconds, or "" for 0, as the original prints lifetimes. */
export function human(secs: number): string {
  if (secs === 0) return "";
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const parts: string[] = [];
  let rest = secs;
  for (const [n, name] of units) {
    const q = Math.floor(rest / n);
    if (q > 0) parts.push(`${q} ${name}${q === 1 ? "" : "s"}`);
    rest -= q * n;
  }
  return ` (${parts.join(" ")})`;
}

const AUTH_METHOD_TEXT: Record<number, string> = {
  [AuthMethod.PreSharedKey]: "pre-shared key", [AuthMethod.DssSignatures]: "DSS signatures", [AuthMethod.RsaSignatures]: "RSA signatures",
  [AuthMethod.RsaEncryption]: "RSA Encryption", [AuthMethod.RsaRevisedEncryption]: "Revised RSA Encryption",
};

/** One transform as the XFORM/XF lines show it. */
export function formatXform(x: P1Xform): string {
  const c = cipherById(x.encrAlg);
  const enc = `${c?.display ?? `encryption ${x.encrAlg}`}${x.encrKeyLen ? `(${x.encrKeyLen.low}..${x.encrKeyLen.high})` : ""}`;
  const h = hashById(x.authAlg)?.display ?? `hash ${x.authAlg}`;
  const g = groupById(x.oakleyGroup)?.display ?? `group ${x.oakleyGroup}`;
  const life = x.p1LifetimeSecs !== undefined ? `; Lifetime ${x.p1LifetimeSecs} seconds${human(x.p1LifetimeSecs)}` : "";
  return `Auth method: ${AUTH_METHOD_TEXT[x.authMethod] ?? authMethodWord(x.authMethod) ?? x.authMethod}; Encryption alg: ${enc}; Authentication alg: ${h}; Oakley Group: ${g}${life}`;
}

function idTypeText(t: number): string {
  return configIdTypeWord(t) ?? idTypeName(t);
}

function addrLines(prefix: string, heading: string, specs: readonly AddressSpec[]): string[] {
  return [`${prefix} ${heading}`, ...specs.map((s) => `${prefix}     ${s.kind === "range" ? `${s.start} - ${s.end}` : formatAddressSpec(s)}`)];
}

function lifetimeLine(name: string, v: number | undefined, unit: "secs" | "kb"): string {
  if (v === undefined) return `GLOBL: ${name}=(kernel default)`;
  return unit === "secs" ? `GLOBL: ${name}=${v} seconds${human(v)}` : `GLOBL: ${name}=${v} kilobytes`;
}

/** One rule record (`get rule`, `dump rule`). */
export function formatRule(r: RuleView): string[] {
  const out = [
    `GLOBL: Label '${r.label}', key manager cookie ${r.kmcookie}`,
    `GLOBL: local_idtype=${idTypeText(r.localIdType)}, ike_mode=main`,
    `GLOBL: p1_nonce_len=${r.p1NonceLen}, p2_nonce_len=${r.p2NonceLen}, p2_pfs=${r.p2Pfs !== 0} (group ${r.p2Pfs})`,
    lifetimeLine("p2_lifetime", r.p2LifetimeSecs, "secs"),
    lifetimeLine("p2_softlife", r.p2SoftlifeSecs, "secs"),
    lifetimeLine("p2_idletime", r.p2IdletimeSecs, "secs"),
    lifetimeLine("p2_lifetime_kb", r.p2LifetimeKb, "kb"),
    lifetimeLine("p2_softlife_kb", r.p2SoftlifeKb, "kb"),
    ...addrLines("LOCIP:", "Local IP address range(s):", r.localAddr),
    ...addrLines("REMIP:", "Remote IP address range(s):", r.remoteAddr),
  ];
  if (r.localId !== undefined) out.push("LOCID: Identity descriptors:", `LOCID:     Includes: "${r.localId}"`);
  if (r.remoteId.length > 0) {
    const inc = r.remoteId.filter((s) => !s.startsWith("!"));
    const exc = r.remoteId.filter((s) => s.startsWith("!")).map((s) => s.slice(1));
    out.push("REMID: Identity descriptors:");
    for (const s of inc) out.push(`REMID:     Includes: "${s}"`);
    for (const s of exc) out.push(`REMID:     Excludes: "${s}"`);
  }
  out.push(`XFRMS: Available Transforms${r.globalXforms ? " (from the global list)" : ""}:`);
  r.p1Xforms.forEach((x, i) => out.push(`XF ${String(i).padStart(2)}: ${formatXform(x)}`));
  return out;
}

function keyText(v: PresharedView, opts: FormatOptions): string | undefined {
  if (v.keyHex === undefined) return undefined;
  const shown = opts.paranoid ? "XX".repeat(v.keyHex.length / 2) : v.keyHex;
  return `PSKEY: Pre-shared key (${v.keyHex.length / 2} bytes): ${shown}/${v.keyBits}`;
}

function idLines(side: "LOC" | "REM", id: PresharedId): string[] {
  const who = side === "LOC" ? "Local" : "Remote";
  if ("addr" in id) {
    const a = id.addr;
    const text = a.kind === "range" ? `${a.start} - ${a.end}` : formatAddressSpec(a);
    return [`${side}IP: ${who} IP address: ${text}`];
  }
  return [`${side}ID: ${who} identity, type ${idTypeName(id.type)}`, `${side}ID:     ${id.name}`];
}

const MODE_TEXT: Record<string, string> = { main: "main mode", aggressive: "aggressive mode", both: "main and aggressive mode" };

/** One pre-shared key record. */
export function formatPreshared(v: PresharedView, opts: FormatOptions): string[] {
  const key = keyText(v, opts);
  return [
    `PSKEY: For ${MODE_TEXT[v.ikeMode] ?? v.ikeMode} exchanges`,
    ...(key ? [key] : []),
    ...idLines("LOC", v.localId),
    ...idLines("REM", v.remoteId),
  ];
}

/** `dump groups`: Value 6, Strength 9, Description 50. */
export function formatGroups(items: readonly GroupView[]): string[] {
  return [
    "List of Diffie-Hellman groups supported (IANA group numbers):",
    `${"Value".padEnd(6)}${"Strength".padEnd(9)}${"Description"}`,
    ...items.map((g) => `${String(g.value).padEnd(6)}${String(g.strength).padEnd(9)}${g.description}`),
  ];
}

/** `dump encralgs`: Value 6, Name 20, Keylen range 15. */
export function formatEncrAlgs(items: readonly EncrAlgView[]): string[] {
  return [
    "List of IKE encryption algorithms supported (IANA attribute values):",
    `${"Value".padEnd(6)}${"Name".padEnd(20)}${"Keylen range"}`,
    ...items.map((e) => `${String(e.value).padEnd(6)}${e.name.padEnd(20)}${e.keyMin === 0 ? "N/A" : `${e.keyMin}-${e.keyMax}`}`),
  ];
}

/** `dump authalgs`: Value 6, Name 20. */
export function formatAuthAlgs(items: readonly AuthAlgView[]): string[] {
  return [
    "List of IKE authentication algorithms supported (IANA attribute values):",
    `${"Value".padEnd(6)}${"Name"}`,
    ...items.map((a) => `${String(a.value).padEnd(6)}${a.name}`),
  ];
}

/** Wrap records of a dump: each preceded by a blank line, then the completion line. */
export function formatDump(records: readonly string[][], what: string): string[] {
  const out: string[] = [];
  for (const r of records) out.push("", ...r);
  out.push("", `Completed dump of ${what}`);
  return out;
}

/** `get stats`: counters right-aligned in 10-character fields. */
export function formatStats(r: StatsResult): string[] {
  const n = (v: number) => String(v).padStart(10);
  const p = r.p1;
  return [
    "Phase 1 SA counts:",
    `Current:   initiator: ${n(p.init_p1_current)}   responder: ${n(p.resp_p1_current)}`,
    `Total:     initiator: ${n(p.init_p1_total)}   responder: ${n(p.resp_p1_total)}`,
    `Attempted: initiator: ${n(p.init_p1_attempts)}   responder: ${n(p.resp_p1_attempts)}`,
    `Failed:    initiator: ${n(p.init_p1_noresp + p.init_p1_respfail)}   responder: ${n(p.resp_p1_fail)}`,
    `           initiator fails include ${p.init_p1_noresp} time-out(s)`,
    ...(r.pkcs11Lib ? [`PKCS#11 library linked in from ${r.pkcs11Lib}`] : []),
  ];
}

const LINKAGE: Readonly<Record<CertCacheView["linkage"], string[]>> = {
  [-1]: ["\t\t[Public certificate only]", "\t\t[Obtained via certificate payload]"],
  0: ["\t\t[Public certificate only]"],
  1: ["\t\t[Private key linked but locked]"],
  2: ["\t\t[Private key available]"],
};

/** One `dump certcache` record (ikeadm.md §3.9 layout; the slot and token lines are extensions). */
export function formatCertCache(c: CertCacheView): string[] {
  return [
    `CERTIFICATE CACHE ID: ${c.id}`,
    `\tSubject Name: <${c.subject ?? "Name unavailable"}>`,
    `\t Issuer Name: <${c.issuer ?? "Name unavailable"}>`,
    ...(c.trusted ? ["\t\t[trusted certificate]"] : []),
    ...LINKAGE[c.linkage],
    ...(c.slot !== undefined ? [`\t\t[Store slot ${c.slot}${c.token !== undefined ? `, private key on PKCS#11 token "${c.token}"` : ""}]`] : []),
  ];
}
