/**
 * UDP encapsulation in Quick Mode (RFC 3947 section 5): when a NAT is between the two ends of the
 * ISAKMP SA, ESP goes in UDP (RFC 3948) between the SA's NAT-T endpoints, the encapsulation mode
 * attribute says so (natt.ts: RFC or draft values), and in transport mode each side sends the
 * original addresses it knows (NAT-OA, section 5.2), which the peer's kernel needs to fix up the
 * TCP/UDP checksums of decapsulated packets.
 *
 * ```
 *  QM1  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] [, NAT-OAi, NAT-OAr]  -->
 *  QM2                <--  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, NAT-OAi, NAT-OAr]
 * ```
 *
 * NAT-OAi is the initiator's address, NAT-OAr the responder's, each as the sender knows it. The
 * drafts send one NAT-OA: the sender's own address.
 */
import { IdType, PayloadType, type NatOaPayload, type Payload } from "../../codec/index.js";
import { formatAddress } from "../../kernel/address.js";
import type { UdpEncap } from "../../kernel/kernel.js";
import type { IsakmpSa } from "../isakmp-sa.js";
import { addressBytes, natBetween, natOaType, type NattVersion } from "../natt.js";

/** The NAT-T version of `sa` when its IPsec SAs go in UDP, else undefined. */
export function udpVersion(sa: IsakmpSa): NattVersion | undefined {
  return natBetween(sa.natt) ? sa.natt!.version : undefined;
}

function oa(type: NatOaPayload["type"], address: string): NatOaPayload {
  const bytes = addressBytes(address);
  return { type, idType: bytes.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, address: bytes };
}

/** The NAT-OA payloads we send in QM1 (initiator) or QM2 (responder) of a transport-mode SA. */
export function natOaPayloads(sa: IsakmpSa): NatOaPayload[] {
  const v = udpVersion(sa);
  if (v === undefined) return [];
  const type = natOaType(v);
  if (v !== "rfc3947") return [oa(type, sa.local.address)];
  const initiator = sa.role === "initiator" ? sa.local.address : sa.remote.address;
  const responder = sa.role === "initiator" ? sa.remote.address : sa.local.address;
  return [oa(type, initiator), oa(type, responder)];
}

/** The peer's original address from its NAT-OA payloads, if it sent one. */
export function peerOriginalAddress(sa: IsakmpSa, payloads: readonly Payload[]): string | undefined {
  const oas = payloads.filter((p): p is NatOaPayload => p.type === PayloadType.NATOA || p.type === PayloadType.NATOADraft);
  if (oas.length === 0) return undefined;
  // RFC: [NAT-OAi, NAT-OAr]; drafts: the sender's own address alone.
  const peer = oas.length === 1 ? oas[0]! : sa.role === "initiator" ? oas[1]! : oas[0]!;
  return formatAddress(peer.address);
}

/** The UDP encapsulation of the IPsec SAs of `sa` (ports of its NAT-T endpoints), or undefined. */
export function encapOf(
  sa: IsakmpSa,
  peerOriginal: string | undefined,
  ports: { readonly local: number; readonly remote: number } = { local: sa.local.port, remote: sa.remote.port },
): { readonly local: number; readonly remote: number; readonly peerOriginal?: string } | undefined {
  if (udpVersion(sa) === undefined) return undefined;
  return { local: ports.local, remote: ports.remote, ...(peerOriginal !== undefined ? { peerOriginal } : {}) };
}

/** The kernel's encapsulation of one SA of the pair (`in`: the peer sends with it). */
export function kernelEncap(e: { readonly local: number; readonly remote: number; readonly peerOriginal?: string }, dir: "in" | "out"): UdpEncap {
  return dir === "in"
    ? { sport: e.remote, dport: e.local, ...(e.peerOriginal !== undefined ? { originalSrc: e.peerOriginal } : {}) }
    : { sport: e.local, dport: e.remote, ...(e.peerOriginal !== undefined ? { originalDst: e.peerOriginal } : {}) };
}
