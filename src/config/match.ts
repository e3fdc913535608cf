/**
 * Looking up rules and pre-shared keys (reference ike-config.md §8.1, ike-preshared.md §5).
 *
 * Precedence, where the references are silent (implementation decision): among the rules or
 * entries that cover both addresses, the one whose covering remote address is narrowest wins,
 * then the narrowest local address, then file order. So a host rule beats a /24 rule, which
 * beats a `0.0.0.0/0` catch-all, whatever their order in the file.
 */
import { addressBounds, addressCovers, addressSpan, parseIp, type IpValue } from "./address.js";
import { IKE_DEFAULTS } from "./defaults.js";
import { IdType } from "../codec/constants.js";
import type { AddressSpec, IkeConfig, IkeMode, IkeRule, PresharedEntry, PresharedId, ResolvedRule } from "./types.js";

/** Span of the narrowest spec in `specs` covering `ip`, or `undefined` when none does. */
function narrowest(specs: readonly AddressSpec[], ip: IpValue): bigint | undefined {
  let best: bigint | undefined;
  for (const s of specs) {
    if (!addressCovers(s, ip)) continue;
    const span = addressSpan(s);
    if (best === undefined || span < best) best = span;
  }
  return best;
}

function toIp(addr: string | IpValue): IpValue | undefined {
  return typeof addr === "string" ? parseIp(addr) : addr;
}

/** Picks the best candidate by (remote span, local span, file order). */
function pickBest<T>(items: readonly T[], score: (item: T) => [bigint, bigint] | undefined): T | undefined {
  let best: T | undefined;
  let bestScore: [bigint, bigint] | undefined;
  for (const item of items) {
    const sc = score(item);
    if (!sc) continue;
    if (!bestScore || sc[0] < bestScore[0] || (sc[0] === bestScore[0] && sc[1] < bestScore[1])) {
      best = item;
      bestScore = sc;
    }
  }
  return best;
}

/**
 * The rule for an IKE address pair (initiator: the ACQUIRE's outer addresses; responder: the
 * packet's addresses), or `undefined`. Addresses are numeric text or parsed values.
 */
export function findRule(config: IkeConfig, local: string | IpValue, remote: string | IpValue): IkeRule | undefined {
  const l = toIp(local);
  const r = toIp(remote);
  if (!l || !r) return undefined;
  return pickBest(config.rules, (rule) => {
    const rs = narrowest(rule.remoteAddr, r);
    const ls = rs === undefined ? undefined : narrowest(rule.localAddr, l);
    return rs === undefined || ls === undefined ? undefined : [rs, ls];
  });
}

/** The rule with this label, or `undefined`. */
export function findRuleByLabel(config: IkeConfig, label: string): IkeRule | undefined {
  return config.rules.find((r) => r.label === label);
}

/** A rule with the file-level and compiled defaults filled in. */
export function resolveRule(config: IkeConfig, rule: IkeRule): ResolvedRule {
  const g = config.globals;
  const out: { -readonly [K in keyof ResolvedRule]: ResolvedRule[K] } = {
    rule,
    localIdType: rule.localIdType ?? g.localIdType ?? IKE_DEFAULTS.localIdType,
    p1Xforms: (rule.p1Xforms.length > 0 ? rule.p1Xforms : config.p1Xforms).map((x) =>
      x.p1LifetimeSecs !== undefined || g.p1LifetimeSecs === undefined ? x : { ...x, p1LifetimeSecs: g.p1LifetimeSecs },
    ),
    p1NonceLen: g.p1NonceLen ?? IKE_DEFAULTS.p1NonceLen,
    p2NonceLen: g.p2NonceLen ?? IKE_DEFAULTS.p2NonceLen,
    p2Pfs: rule.p2Pfs ?? g.p2Pfs ?? IKE_DEFAULTS.p2Pfs,
    remotePort: rule.remotePort ?? IKE_DEFAULTS.ikePort,
    dpdIntervalSecs: rule.dpdIntervalSecs ?? g.dpdIntervalSecs ?? IKE_DEFAULTS.dpdIntervalSecs,
    dpdRetries: rule.dpdRetries ?? g.dpdRetries ?? IKE_DEFAULTS.dpdRetries,
  };
  const idle = rule.p2IdletimeSecs ?? g.p2IdletimeSecs;
  if (idle !== undefined) out.p2IdletimeSecs = idle;
  // A soft lifetime only means something beside a hard one; omitted, it is 90% of the hard one.
  const pairs = [["p2LifetimeSecs", "p2SoftlifeSecs"], ["p2LifetimeKb", "p2SoftlifeKb"]] as const;
  for (const [hardKey, softKey] of pairs) {
    const hard = rule[hardKey] ?? g[hardKey];
    if (hard === undefined) continue;
    out[hardKey] = hard;
    out[softKey] = rule[softKey] ?? g[softKey] ?? Math.floor(hard * 0.9);
  }
  return out;
}

const modeServes = (entry: IkeMode, wanted: "main" | "aggressive"): boolean => entry === "both" || entry === wanted;

/**
 * Main Mode responder/initiator lookup: the pre-shared key entry whose IP identities cover the
 * local and remote addresses and that serves `mode` (default main). Name identities never match
 * here (Main Mode with pre-shared keys authenticates by address).
 */
export function findPresharedByAddress(
  entries: readonly PresharedEntry[],
  local: string | IpValue,
  remote: string | IpValue,
  mode: "main" | "aggressive" = "main",
): PresharedEntry | undefined {
  const l = toIp(local);
  const r = toIp(remote);
  if (!l || !r) return undefined;
  return pickBest(entries, (e) => {
    if (!modeServes(e.ikeMode, mode) || !("addr" in e.localId) || !("addr" in e.remoteId)) return undefined;
    const rs = narrowest([e.remoteId.addr], r);
    const ls = rs === undefined ? undefined : narrowest([e.localId.addr], l);
    return rs === undefined || ls === undefined ? undefined : [rs, ls];
  });
}

/**
 * The entry for a peer address whose local side is a name (`localidtype fqdn` and the like): the key
 * is still bound to the peer's address, and the name is the identity we present (a road warrior
 * known to its gateway by name). Used when no entry has address identities on both sides.
 */
export function findPresharedByRemoteAddress(
  entries: readonly PresharedEntry[],
  remote: string | IpValue,
  mode: "main" | "aggressive" = "main",
): PresharedEntry | undefined {
  const r = toIp(remote);
  if (!r) return undefined;
  return pickBest(entries, (e) => {
    if (!modeServes(e.ikeMode, mode) || !("name" in e.localId) || !("addr" in e.remoteId)) return undefined;
    const rs = narrowest([e.remoteId.addr], r);
    return rs === undefined ? undefined : [rs, 0n];
  });
}

/** Name comparison: DNS names and mailboxes ignore case, DNs and key ids do not. */
function sameName(type: number, a: string, b: string): boolean {
  return type === IdType.ID_FQDN || type === IdType.ID_USER_FQDN ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** How narrowly entry id `e` covers the peer's id `p` (1 = exact), or `undefined` if not at all. */
function idCover(e: PresharedId, p: PresharedId): bigint | undefined {
  if ("name" in e) return "name" in p && e.type === p.type && sameName(e.type, e.name, p.name) ? 1n : undefined;
  if (!("addr" in p)) return undefined;
  const b = addressBounds(p.addr);
  const covered = addressCovers(e.addr, { family: b.family, value: b.lo }) && addressCovers(e.addr, { family: b.family, value: b.hi });
  return covered ? addressSpan(e.addr) : undefined;
}

/**
 * Aggressive Mode responder lookup: the entry whose remote identity matches the peer's ID
 * payload (names exactly, FQDN/mailbox case-insensitively; address ids by coverage) and that
 * serves `mode` (default aggressive). The local side must match `localId` when given, else an
 * address identity must cover `localAddr` when given; otherwise it is not checked.
 */
export function findPresharedByIdentity(
  entries: readonly PresharedEntry[],
  remoteId: PresharedId,
  opts: { readonly localId?: PresharedId; readonly localAddr?: string | IpValue; readonly mode?: "main" | "aggressive" } = {},
): PresharedEntry | undefined {
  const mode = opts.mode ?? "aggressive";
  const la = opts.localAddr === undefined ? undefined : toIp(opts.localAddr);
  return pickBest(entries, (e) => {
    if (!modeServes(e.ikeMode, mode)) return undefined;
    const rs = idCover(e.remoteId, remoteId);
    if (rs === undefined) return undefined;
    let ls: bigint | undefined = 0n;
    if (opts.localId) ls = idCover(e.localId, opts.localId);
    else if (la && "addr" in e.localId) ls = narrowest([e.localId.addr], la);
    return ls === undefined ? undefined : [rs, ls];
  });
}
