/**
 * IPsec policy selection, what the IKE code asks, as pure functions over a parsed `ipsecinit.conf`:
 *
 *   initiator  ACQUIRE (addresses, ports, ulp)  → matching entry → Phase 2 proposals to offer
 *              (RFC 2409 §5.5: one proposal per `or` alternative, ESP and/or AH, transforms in
 *              preference order, tunnel or transport) and the client IDs (IDci/IDcr) to send
 *   responder  peer's client IDs + offered proposals → matching inbound entry → the first offered
 *              proposal (in the peer's order) that one of the entry's alternatives accepts, and the
 *              transform chosen for each protocol
 *
 * Entry order (ipsecconf(8) `-l`): bypass entries first, then drop, then entries with AH and ESP,
 * ESP only, AH only; file order within each class; the first match wins. An entry's strength class is
 * that of its first alternative. PFS and lifetimes come from ike.config, not from here.
 */
import { formatPrefix, makePrefix, parseAddress, parsePrefix, prefixContains, prefixCovers, type AddressBytes, type Prefix } from "../kernel/address.js";
import type { AcquireCombination, Endpoint, SaMode } from "../kernel/kernel.js";
import type { IpsecPolicy, PolicyAction, PolicyEntry } from "./ipsecinit/types.js";
import { DEFAULT_TABLES, actionProtocols, transformAccepted, type AlgorithmTables, type Phase2Proposal, type Phase2Transform } from "./proposals.js";

/** A Quick Mode client identity (RFC 2407 §4.6.2 ID payload): prefix text, protocol and port (0 = any). */
export interface ClientId {
  prefix: string;
  ulp: number;
  port: number;
}

/** What the initiator learns from an ACQUIRE. */
export type AcquireSelection =
  | { kind: "ipsec"; entry: PolicyEntry; mode: SaMode; proposals: Phase2Proposal[]; localId: ClientId; remoteId: ClientId }
  | { kind: "bypass" | "drop"; entry: PolicyEntry }
  /** An entry asks for IPsec but no algorithm it names is supported by the kernel. */
  | { kind: "no-algorithms"; entry: PolicyEntry }
  | { kind: "none" };

/** The traffic of an ACQUIRE (kernel `AcquireEvent` fits). */
export interface AcquireTraffic {
  src: Endpoint;
  dst: Endpoint;
  ulp: number;
  /** ICMP type/code of the packet, when ulp is ICMP. */
  icmpType?: number;
  icmpCode?: number;
  /** The SPD entry the kernel named (`AcquireEvent.policy.index`); 0 or absent to match by traffic. */
  policy?: { index: number };
  /** Tunnel interface the traffic leaves by, when known. */
  tunnel?: string;
}

/** A responder's question: the peer's client IDs, the mode and the proposals it offers, in its order. */
export interface ResponderRequest {
  /** IDci: the peer's side of the traffic. */
  remote: ClientId;
  /** IDcr: this host's side. */
  local: ClientId;
  mode: SaMode;
  proposals: Phase2Proposal[];
  /** Tunnel interface the traffic arrives by, when known. */
  tunnel?: string;
}

/** The responder's answer. `chosen` holds one transform per protocol, with its index in the offer. */
export type ResponderSelection =
  | {
      kind: "accept";
      entry: PolicyEntry;
      alternative: number;
      proposal: number;
      chosen: Array<{ proto: "esp" | "ah"; index: number; transform: Phase2Transform }>;
    }
  | { kind: "reject"; reason: "no-policy" | "bypass" | "drop" | "bad-id" | "mode" | "no-proposal-chosen"; entry?: PolicyEntry };

const isIpsec = (a: PolicyAction): boolean => a.type === "ipsec" || a.type === "apply" || a.type === "permit";

function strength(e: PolicyEntry): number {
  const a = e.actions[0]!;
  if (a.type === "bypass") return 0;
  if (a.type === "drop") return 1;
  const esp = a.espEncr !== null || a.espAuth !== null;
  return esp && a.ah !== null ? 2 : esp ? 3 : 4;
}

/** Entries in the order the kernel checks them. Cached per policy object. */
const ORDER = new WeakMap<IpsecPolicy, PolicyEntry[]>();
export function spdOrder(policy: IpsecPolicy): PolicyEntry[] {
  let order = ORDER.get(policy);
  if (order === undefined) {
    order = policy.entries.map((e, i) => ({ e, i, s: strength(e) })).sort((x, y) => x.s - y.s || x.i - y.i).map((x) => x.e);
    ORDER.set(policy, order);
  }
  return order;
}

/** Expected SA mode of an entry: `negotiate`, else tunnel for tunnel entries with addresses. */
export function entryMode(e: PolicyEntry): SaMode {
  const p = e.pattern;
  if (p.negotiate !== null) return p.negotiate;
  return p.tunnel !== null && (p.local !== null || p.remote !== null) ? "tunnel" : "transport";
}

interface Traffic {
  dir: "in" | "out";
  local: AddressBytes;
  remote: AddressBytes;
  ulp: number;
  localPort: number;
  remotePort: number;
  icmpType?: number;
  icmpCode?: number;
  tunnel?: string;
}

/**
 * Whether an entry covers the traffic. Tunnel entries: with inner addresses (`negotiate tunnel`)
 * they match by address, as Linux tunnel-mode policies do; without (`negotiate transport`, the
 * Solaris 9 style) they describe the whole interface and match only traffic known to use it.
 */
function matches(e: PolicyEntry, t: Traffic): boolean {
  const p = e.pattern;
  if (e.dir !== "both" && e.dir !== t.dir) return false;
  if (t.tunnel !== undefined ? p.tunnel !== t.tunnel : p.tunnel !== null && entryMode(e) === "transport") return false;
  if (p.local !== null && !prefixContains(p.local, t.local)) return false;
  if (p.remote !== null && !prefixContains(p.remote, t.remote)) return false;
  if (p.ulp !== null && p.ulp !== t.ulp) return false;
  if (p.localPort !== 0 && p.localPort !== t.localPort) return false;
  if (p.remotePort !== 0 && p.remotePort !== t.remotePort) return false;
  if (p.icmpType !== null && (t.icmpType === undefined || t.icmpType < p.icmpType.min || t.icmpType > p.icmpType.max)) return false;
  if (p.icmpCode !== null && (t.icmpCode === undefined || t.icmpCode < p.icmpCode.min || t.icmpCode > p.icmpCode.max)) return false;
  return true;
}

function hostPrefix(bytes: AddressBytes): Prefix {
  return makePrefix(bytes, bytes.length * 8)!;
}

/** The first entry (in SPD order) that covers the traffic, or undefined. */
export function findEntry(policy: IpsecPolicy, t: Traffic): PolicyEntry | undefined {
  return spdOrder(policy).find((e) => matches(e, t));
}

/** Algorithm combinations of an entry for an ACQUIRE (what `MemoryKernel.acquire` carries). */
export function combinationsFor(entry: PolicyEntry, tables: AlgorithmTables = DEFAULT_TABLES): AcquireCombination[] {
  const out: AcquireCombination[] = [];
  for (const a of entry.actions.filter(isIpsec)) {
    for (const p of actionProtocols(a, tables)) {
      for (const t of p.transforms) {
        out.push({ proto: p.proto, encAlg: t.encAlg, encMinBits: t.encKeyBits, encMaxBits: t.encKeyBits, authAlg: t.authAlg, authMinBits: 0, authMaxBits: 0 });
      }
    }
  }
  return out;
}

/** Initiator: the entry and Phase 2 proposals for an ACQUIRE. */
export function selectForAcquire(policy: IpsecPolicy, acq: AcquireTraffic, tables: AlgorithmTables = DEFAULT_TABLES): AcquireSelection {
  const local = parseAddress(acq.src.address);
  const remote = parseAddress(acq.dst.address);
  if (local === null || remote === null) return { kind: "none" };
  const traffic: Traffic = { dir: "out", local, remote, ulp: acq.ulp, localPort: acq.src.port, remotePort: acq.dst.port };
  if (acq.icmpType !== undefined) traffic.icmpType = acq.icmpType;
  if (acq.icmpCode !== undefined) traffic.icmpCode = acq.icmpCode;
  if (acq.tunnel !== undefined) traffic.tunnel = acq.tunnel;
  const named = acq.policy !== undefined && acq.policy.index > 0 ? policy.entries.find((e) => e.index === acq.policy!.index) : undefined;
  const entry = named ?? findEntry(policy, traffic);
  if (entry === undefined) return { kind: "none" };
  const first = entry.actions[0]!;
  if (first.type === "bypass" || first.type === "drop") return { kind: first.type, entry };
  const mode = entryMode(entry);
  const proposals: Phase2Proposal[] = [];
  for (const a of entry.actions.filter(isIpsec)) {
    const protocols = actionProtocols(a, tables);
    if (protocols.length > 0 && protocols.every((p) => p.transforms.length > 0)) proposals.push({ mode, protocols });
  }
  if (proposals.length === 0) return { kind: "no-algorithms", entry };
  const p = entry.pattern;
  // Tunnel mode protects the entry's inner networks; transport mode the two hosts themselves.
  const side = (prefix: Prefix | null, host: AddressBytes): string =>
    formatPrefix(mode === "tunnel" ? (prefix ?? makePrefix(host, 0)!) : hostPrefix(host));
  return {
    kind: "ipsec",
    entry,
    mode,
    proposals,
    localId: { prefix: side(p.local, local), ulp: p.ulp ?? 0, port: p.localPort },
    remoteId: { prefix: side(p.remote, remote), ulp: p.ulp ?? 0, port: p.remotePort },
  };
}

/** Whether the entry's selector covers everything a peer's client ID names (IKEv1 cannot narrow). */
function idCovered(prefix: Prefix | null, port: number, ulp: number | null, id: { prefix: Prefix; port: number; ulp: number }): boolean {
  if (prefix !== null && !prefixCovers(prefix, id.prefix)) return false;
  if (port !== 0 && id.port !== port) return false;
  return ulp === null || id.ulp === ulp;
}

/** Responder: whether the peer's IDs and one of its proposals are acceptable, and what to answer. */
export function selectForResponder(policy: IpsecPolicy, req: ResponderRequest, tables: AlgorithmTables = DEFAULT_TABLES): ResponderSelection {
  const local = parsePrefix(req.local.prefix);
  const remote = parsePrefix(req.remote.prefix);
  if (local === null || remote === null || local.family !== remote.family) return { kind: "reject", reason: "bad-id" };
  const ulp = req.local.ulp !== 0 ? req.local.ulp : req.remote.ulp;
  // Find the inbound entry for the traffic the IDs name, then check it covers the IDs whole.
  const traffic: Traffic = { dir: "in", local: local.bytes, remote: remote.bytes, ulp, localPort: req.local.port, remotePort: req.remote.port };
  if (req.tunnel !== undefined) traffic.tunnel = req.tunnel;
  const entry = findEntry(policy, traffic);
  if (entry === undefined) return { kind: "reject", reason: "no-policy" };
  const first = entry.actions[0]!;
  if (first.type === "bypass" || first.type === "drop") return { kind: "reject", reason: first.type, entry };
  const p = entry.pattern;
  if (!idCovered(p.local, p.localPort, p.ulp, { prefix: local, port: req.local.port, ulp }) || !idCovered(p.remote, p.remotePort, p.ulp, { prefix: remote, port: req.remote.port, ulp })) {
    return { kind: "reject", reason: "bad-id", entry };
  }
  if (req.mode !== entryMode(entry)) return { kind: "reject", reason: "mode", entry };
  for (let pi = 0; pi < req.proposals.length; pi++) {
    const offer = req.proposals[pi]!;
    if (offer.mode !== req.mode) continue;
    for (let ai = 0; ai < entry.actions.length; ai++) {
      const action = entry.actions[ai]!;
      if (!isIpsec(action)) continue;
      const wantEsp = action.espEncr !== null || action.espAuth !== null;
      const wantAh = action.ah !== null;
      const protos = offer.protocols.map((x) => x.proto);
      if (protos.includes("esp") !== wantEsp || protos.includes("ah") !== wantAh || new Set(protos).size !== protos.length) continue;
      const chosen: Array<{ proto: "esp" | "ah"; index: number; transform: Phase2Transform }> = [];
      for (const proto of offer.protocols) {
        const index = proto.transforms.findIndex((t) => transformAccepted(action, proto.proto, t, tables));
        if (index < 0) break;
        chosen.push({ proto: proto.proto, index, transform: proto.transforms[index]! });
      }
      if (chosen.length === offer.protocols.length) return { kind: "accept", entry, alternative: ai, proposal: pi, chosen };
    }
  }
  return { kind: "reject", reason: "no-proposal-chosen", entry };
}
