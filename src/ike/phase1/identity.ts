/**
 * Phase 1 identities (RFC 2409 section 5, RFC 2407 section 4.6.2): the ID payload we present, and
 * whether the peer's is acceptable.
 *
 * ```
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !   ID Type     !  Protocol ID  !             Port              !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                     Identification Data                       ~
 * ```
 *
 * RFC 2407 section 4.6.2: in Phase 1 the protocol and port are zero or UDP/500; we send zero and
 * accept both. IDii_b/IDir_b in the hashes start at the ID Type.
 *
 * Main Mode with pre-shared keys picks the key by address before the (encrypted) ID arrives, so
 * the ID cannot choose the key; HASH_I/HASH_R prove the peer holds it. What we still refuse is an
 * address ID naming a host that is neither the peer nor covered by the key entry's remote identity,
 * which would make logs and policy decisions lie (INVALID-ID-INFORMATION).
 */
import net from "node:net";
import { IdType, PayloadType, type IdPayload } from "../../codec/index.js";
import { addressCovers, formatIp, parseIp } from "../../config/address.js";
import type { PresharedEntry, PresharedId, ResolvedRule } from "../../config/types.js";
import type { Endpoint } from "../transport.js";

const IPPROTO_UDP = 17;

function addressBytes(address: string): Buffer | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const len = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  let v = ip.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The ID type and bytes of each local address presented so far: every negotiation presents one of
 * a gateway's few local addresses, and parsing it (an IPv6 test by regular expression, a BigInt per
 * address) cost more than the rest of building the payload. Bounded: cleared when full.
 */
const addressIds = new Map<string, { readonly idType: number; readonly bytes: Buffer }>();
const ADDRESS_IDS_MAX = 256;

function addressId(address: string): IdPayload {
  let known = addressIds.get(address);
  if (known === undefined) {
    const v6 = net.isIPv6(address);
    known = { idType: v6 ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR, bytes: addressBytes(address) ?? Buffer.alloc(v6 ? 16 : 4) };
    if (addressIds.size >= ADDRESS_IDS_MAX) addressIds.clear();
    addressIds.set(address, known);
  }
  // A copy of its own for each payload, as before: the caller may keep or change it.
  return { type: PayloadType.ID, idType: known.idType, protocolId: 0, port: 0, data: Buffer.from(known.bytes) };
}

/**
 * The ID we present with a pre-shared key for `rule` on `local`: for the address types the local
 * address (of the family actually in use); for ID_FQDN and ID_USER_FQDN the rule's `local_id`, or
 * else the name the matching ike.preshared entry gives as its `localid` (same type). A type with no
 * value to present is refused (a string saying why): sending the address instead would name
 * something the peer does not expect (Libreswan answers INVALID-ID-INFORMATION), and `in.iked -c`
 * refuses such a rule already.
 */
export function localIdPayload(rule: ResolvedRule, local: Endpoint, entry?: PresharedEntry): IdPayload | string {
  const t = rule.localIdType;
  if (t === IdType.ID_IPV4_ADDR || t === IdType.ID_IPV6_ADDR) return addressId(local.address);
  if (t === IdType.ID_FQDN || t === IdType.ID_USER_FQDN) {
    const own = rule.rule.localId;
    if (own !== undefined && own !== "") return { type: PayloadType.ID, idType: t, protocolId: 0, port: 0, data: Buffer.from(own, "utf8") };
    if (entry !== undefined && "name" in entry.localId && entry.localId.type === t) {
      return { type: PayloadType.ID, idType: t, protocolId: 0, port: 0, data: Buffer.from(entry.localId.name, "utf8") };
    }
    return `local_id_type ${t === IdType.ID_FQDN ? "fqdn" : "user_fqdn"}: neither local_id nor the ike.preshared entry's localid gives a name to present`;
  }
  return `local_id_type ${t} cannot be presented with a pre-shared key`;
}

/** The textual form of an ID, for logs and `ikeadm dump` (names and addresses are not secret). */
export function formatId(id: IdPayload): string {
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return ipText(id.data) ?? `<bad address>`;
    case IdType.ID_FQDN:
    case IdType.ID_USER_FQDN:
      return id.data.toString("latin1").replace(/[^\x20-\x7e]/g, "?");
    default:
      return `type ${id.idType} (${id.data.length} bytes)`;
  }
}

function ipText(data: Buffer): string | undefined {
  if (data.length === 4) return [...data].join(".");
  if (data.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(data.readUInt16BE(i).toString(16));
    return parts.join(":");
  }
  return undefined;
}

/** RFC 2407 section 4.6.2: a Phase 1 ID names protocol and port 0, or UDP and 0 or 500. */
export function idProtocolProblem(id: IdPayload): string | null {
  if (!(id.protocolId === 0 && id.port === 0) && !(id.protocolId === IPPROTO_UDP && (id.port === 0 || id.port === 500))) {
    return `Phase 1 ID with protocol ${id.protocolId} port ${id.port}`;
  }
  return null;
}

/**
 * Why a peer's Phase 1 ID is refused with a pre-shared key, or null when it is acceptable. An
 * address ID must name the peer's address, or one its ike.preshared entry covers; a peer that
 * NAT-D showed behind a NAT (`peerBehindNat`) names the address it has before the NAT, which we
 * cannot see: its key was chosen by the NAT's address, and that key is what authenticates it.
 */
export function checkPeerId(id: IdPayload, remote: Endpoint, entry: PresharedEntry | undefined, peerBehindNat = false): string | null {
  const proto = idProtocolProblem(id);
  if (proto !== null) return proto;
  if (id.idType === IdType.ID_IPV4_ADDR || id.idType === IdType.ID_IPV6_ADDR) {
    const text = ipText(id.data);
    const ip = text === undefined ? undefined : parseIp(text);
    if (ip === undefined) return "unreadable address ID";
    const peer = parseIp(remote.address);
    if (peer !== undefined && peer.family === ip.family && peer.value === ip.value) return null;
    if (entry !== undefined && "addr" in entry.remoteId && addressCovers(entry.remoteId.addr, ip)) return null;
    if (peerBehindNat) return null;
    return `address ID ${text} is not the peer ${remote.address}`;
  }
  if (id.idType === IdType.ID_FQDN || id.idType === IdType.ID_USER_FQDN) {
    // An address-bound key authenticates the host; a name-bound one must name this ID.
    if (entry === undefined || "addr" in entry.remoteId) return null;
    const name = id.data.toString("utf8");
    return entry.remoteId.type === id.idType && entry.remoteId.name.toLowerCase() === name.toLowerCase()
      ? null
      : `ID ${formatId(id)} does not match the key's remote identity`;
  }
  return `ID type ${id.idType} not usable with pre-shared keys`;
}

/** The ike.preshared identity an ID payload names (for the key lookup by identity). */
export function presharedIdOf(id: IdPayload): PresharedId | undefined {
  if (id.idType === IdType.ID_IPV4_ADDR || id.idType === IdType.ID_IPV6_ADDR) {
    const text = ipText(id.data);
    const ip = text === undefined ? undefined : parseIp(text);
    if (text === undefined || ip === undefined) return undefined;
    return { type: id.idType, addr: { kind: "single", family: ip.family, addr: formatIp(ip.family, ip.value) } };
  }
  if (id.idType === IdType.ID_FQDN || id.idType === IdType.ID_USER_FQDN) {
    return { type: id.idType, name: id.data.toString("utf8") };
  }
  return undefined;
}
