/**
 * NAT traversal in Phase 1 (RFC 3947 section 3, and the draft-ietf-ipsec-nat-t-ike-02/02n/03 vendor
 * IDs that peers still send):
 *
 * ```
 *  MM1  HDR, SA, VID(NAT-T)...                 -->   (both: the vendor ID says "I do NAT-T")
 *  MM2                                         <--   HDR, SA, VID(the one version chosen)
 *  MM3  HDR, KE, Ni, NAT-D, NAT-D              -->
 *  MM4                                         <--   HDR, KE, Nr, NAT-D, NAT-D
 *  MM5  (from port 4500, with the non-ESP marker, when a NAT is between us)
 *
 *  AM1  HDR, SA, KE, Ni, IDii, VID(NAT-T)...   -->
 *  AM2                                         <--   HDR, SA, KE, Nr, IDir, AUTH, VID, NAT-D, NAT-D
 *  AM3  HDR*, AUTH, NAT-D, NAT-D (from port 4500 when a NAT is between us)   -->
 * ```
 *
 * NAT-D = HASH(CKY-I | CKY-R | IP | Port) with the negotiated Phase 1 hash; the first NAT-D names
 * the receiver's address and port as the sender sees them, the others the sender's own. A receiver
 * whose own address and port do not hash to the first is behind a NAT; a sender whose address and
 * port (as the receiver sees them) hash to none of the others is behind one.
 *
 * The version changes the numbers only: NAT-D/NAT-OA payload types 20/21 (RFC) or 130/131
 * (drafts), UDP-encapsulated modes 3/4 (RFC) or 61443/61444 (drafts).
 */
import { createHash } from "node:crypto";
import { EncapsulationMode, PayloadType, type NatDPayload, type Payload, type VendorIdPayload } from "../codec/index.js";
import type { HashInfo } from "../crypto/algorithms.js";
import { hash } from "../crypto/prf.js";
import { parseAddress } from "../kernel/address.js";
import type { Endpoint } from "./transport.js";

/** The NAT-T versions we speak, most preferred first. */
export type NattVersion = "rfc3947" | "draft-03" | "draft-02n" | "draft-02";

const VID_TEXT: Readonly<Record<NattVersion, string>> = {
  rfc3947: "RFC 3947",
  "draft-03": "draft-ietf-ipsec-nat-t-ike-03",
  "draft-02n": "draft-ietf-ipsec-nat-t-ike-02\n",
  "draft-02": "draft-ietf-ipsec-nat-t-ike-02",
};

/** The versions in order of preference. */
export const NATT_VERSIONS: readonly NattVersion[] = ["rfc3947", "draft-03", "draft-02n", "draft-02"];

/** The vendor ID of a version: MD5 of its name, as every implementation sends it. */
export function nattVid(v: NattVersion): Buffer {
  return createHash("md5").update(VID_TEXT[v], "latin1").digest();
}

const VIDS = new Map(NATT_VERSIONS.map((v) => [nattVid(v).toString("hex"), v] as const));

/** The NAT-T vendor ID payloads an initiator offers (MM1, AM1). */
export function offeredVids(): VendorIdPayload[] {
  return NATT_VERSIONS.map((v) => ({ type: PayloadType.VID, data: nattVid(v) }));
}

/** The vendor ID payload of the version chosen (MM2, AM2). */
export function chosenVid(v: NattVersion): VendorIdPayload {
  return { type: PayloadType.VID, data: nattVid(v) };
}

/** The most preferred NAT-T version among the vendor IDs of `payloads`, if any. */
export function nattVersionOf(payloads: readonly Payload[]): NattVersion | undefined {
  let best: number | undefined;
  for (const p of payloads) {
    if (p.type !== PayloadType.VID) continue;
    const v = VIDS.get(p.data.toString("hex"));
    if (v === undefined) continue;
    const i = NATT_VERSIONS.indexOf(v);
    if (best === undefined || i < best) best = i;
  }
  return best === undefined ? undefined : NATT_VERSIONS[best];
}

/** The NAT-D payload type of a version. */
export function natDType(v: NattVersion): typeof PayloadType.NATD | typeof PayloadType.NATDDraft {
  return v === "rfc3947" ? PayloadType.NATD : PayloadType.NATDDraft;
}

/** The NAT-OA payload type of a version. */
export function natOaType(v: NattVersion): typeof PayloadType.NATOA | typeof PayloadType.NATOADraft {
  return v === "rfc3947" ? PayloadType.NATOA : PayloadType.NATOADraft;
}

/** The encapsulation mode attribute value for a UDP-encapsulated SA of a version. */
export function udpEncapMode(v: NattVersion, mode: "tunnel" | "transport"): number {
  if (v === "rfc3947") return mode === "tunnel" ? EncapsulationMode.UdpEncapsulatedTunnel : EncapsulationMode.UdpEncapsulatedTransport;
  return mode === "tunnel" ? EncapsulationMode.UdpEncapsulatedTunnelDraft : EncapsulationMode.UdpEncapsulatedTransportDraft;
}

/** An address as its 4 or 16 bytes (an address we could not parse hashes as nothing). */
export function addressBytes(address: string): Buffer {
  const b = parseAddress(address);
  return b === null ? Buffer.alloc(0) : Buffer.from(b);
}

/** HASH(CKY-I | CKY-R | IP | Port) (RFC 3947 section 3.2). */
export function natDHash(h: HashInfo, icookie: Buffer, rcookie: Buffer, e: Endpoint): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(e.port);
  return hash(h, icookie, rcookie, addressBytes(e.address), port);
}

/** The two NAT-D payloads of a message from `local` to `remote`: the receiver's first. */
export function natDPayloads(v: NattVersion, h: HashInfo, icookie: Buffer, rcookie: Buffer, local: Endpoint, remote: Endpoint): NatDPayload[] {
  const type = natDType(v);
  return [
    { type, hash: natDHash(h, icookie, rcookie, remote) },
    { type, hash: natDHash(h, icookie, rcookie, local) },
  ];
}

/** Who is behind a NAT, as the NAT-D payloads of one received message say. */
export interface NatDetection {
  /** Our address or port was translated: we are behind a NAT (we send keepalives). */
  readonly localBehindNat: boolean;
  /** The peer's address or port was translated. */
  readonly peerBehindNat: boolean;
}

/** The two ends of a path a message travelled: ours and the peer's, as we see them. */
export interface NatPath {
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/**
 * Read the NAT-D payloads of a message that arrived on `local` from `remote`; undefined when it
 * carries fewer than two (the peer does not do NAT-D after all). `earlier` are paths of the same
 * exchange before a float that the peer may have hashed instead (AM3: natt-phase1.ts); a side
 * whose hash matches on any path is not behind a NAT.
 */
export function detectNat(
  h: HashInfo,
  icookie: Buffer,
  rcookie: Buffer,
  payloads: readonly Payload[],
  local: Endpoint,
  remote: Endpoint,
  earlier: readonly NatPath[] = [],
): NatDetection | undefined {
  const natd = payloads.filter((p): p is NatDPayload => p.type === PayloadType.NATD || p.type === PayloadType.NATDDraft);
  if (natd.length < 2) return undefined;
  const paths = [{ local, remote }, ...earlier];
  const ours = paths.map((p) => natDHash(h, icookie, rcookie, p.local));
  const theirs = paths.map((p) => natDHash(h, icookie, rcookie, p.remote));
  return {
    localBehindNat: !ours.some((x) => natd[0]!.hash.equals(x)),
    peerBehindNat: !natd.slice(1).some((p) => theirs.some((x) => p.hash.equals(x))),
  };
}

/** What an ISAKMP SA knows of NAT traversal (`ikeadm dump p1` shows it). */
export interface NattState {
  /** The version both sides announced. */
  readonly version: NattVersion;
  /** Set once NAT-D payloads were read. */
  detection: NatDetection | undefined;
  /** The SA moved to the NAT-T port (RFC 3947 section 4). */
  floated: boolean;
}

/** Whether a NAT is between the two ends of `n` (then ESP goes in UDP). */
export function natBetween(n: NattState | undefined): boolean {
  return n?.detection !== undefined && (n.detection.localBehindNat || n.detection.peerBehindNat);
}

/** RFC 3948 section 2.3: a keepalive every 20 s keeps the NAT's mapping. */
export const KEEPALIVE_MS = 20_000;

/** The NAT-T destination port of RFC 3947 section 4. */
export const NATT_PORT = 4500;
