/**
 * Quick Mode client identities (RFC 2409 section 5.5, RFC 2407 section 4.6.2): the IDci/IDcr
 * payloads and the IPsec policy's {@link ClientId} (`prefix` text, upper-layer protocol, port).
 *
 * A host prefix travels as ID_IPV4_ADDR / ID_IPV6_ADDR, anything wider as *_ADDR_SUBNET (address
 * then mask), as strongSwan and Libreswan send them. Ranges are not produced. A received range is
 * accepted when it is exactly one prefix (10.0.0.0-10.0.0.255 is 10.0.0.0/24); any other range is
 * refused, because kernel selectors (PF_KEY, XFRM) and the IPsec policy work in prefixes, and
 * widening a range to the prefix that covers it would protect traffic the peer did not ask for.
 */
import { IdType, PayloadType, type IdPayload } from "../../codec/index.js";
import { formatAddress, makePrefix, parsePrefix } from "../../kernel/address.js";
import type { ClientId } from "../../policy/index.js";

/** The ID payload for a client identity. */
export function clientIdPayload(c: ClientId): IdPayload | undefined {
  const p = parsePrefix(c.prefix);
  if (p === null) return undefined;
  const bits = p.bytes.length * 8;
  const v6 = p.bytes.length === 16;
  if (p.length === bits) {
    return { type: PayloadType.ID, idType: v6 ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR, protocolId: c.ulp, port: c.port, data: Buffer.from(p.bytes) };
  }
  const mask = Buffer.alloc(p.bytes.length);
  for (let i = 0; i < p.length; i++) mask[i >> 3] = mask[i >> 3]! | (0x80 >> (i & 7));
  return {
    type: PayloadType.ID,
    idType: v6 ? IdType.ID_IPV6_ADDR_SUBNET : IdType.ID_IPV4_ADDR_SUBNET,
    protocolId: c.ulp,
    port: c.port,
    data: Buffer.concat([Buffer.from(p.bytes), mask]),
  };
}

function maskLength(mask: Buffer): number | undefined {
  let n = 0;
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) return undefined;
      if (set) n++;
      else ended = true;
    }
  }
  return n;
}

/**
 * The prefix length `n` for which [start, end] is exactly start/n (host bits of start all zero,
 * of end all one), or undefined when the range is not one prefix.
 */
function rangePrefixLength(start: Buffer, end: Buffer): number | undefined {
  let n = 0;
  // Leading bits equal in both ends form the prefix; after the first difference start must be
  // all zeros and end all ones.
  let diverged = false;
  for (let i = 0; i < start.length; i++) {
    for (let bit = 7; bit >= 0; bit--) {
      const a = (start[i]! >> bit) & 1;
      const b = (end[i]! >> bit) & 1;
      if (!diverged && a === b) {
        n++;
        continue;
      }
      diverged = true;
      if (a !== 0 || b !== 1) return undefined;
    }
  }
  return n;
}

/** The client identity an ID payload names, or undefined for types Quick Mode cannot use. */
export function clientIdOf(id: IdPayload): ClientId | undefined {
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR: {
      const p = makePrefix(new Uint8Array(id.data), id.data.length * 8);
      return p === null ? undefined : { prefix: `${formatAddress(p.bytes)}/${p.length}`, ulp: id.protocolId, port: id.port };
    }
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_SUBNET: {
      const half = id.data.length / 2;
      const len = maskLength(id.data.subarray(half));
      if (len === undefined) return undefined;
      const p = makePrefix(new Uint8Array(id.data.subarray(0, half)), len);
      return p === null ? undefined : { prefix: `${formatAddress(p.bytes)}/${p.length}`, ulp: id.protocolId, port: id.port };
    }
    case IdType.ID_IPV4_ADDR_RANGE:
    case IdType.ID_IPV6_ADDR_RANGE: {
      const half = id.data.length / 2;
      const len = rangePrefixLength(id.data.subarray(0, half), id.data.subarray(half));
      if (len === undefined) return undefined;
      const p = makePrefix(new Uint8Array(id.data.subarray(0, half)), len);
      return p === null ? undefined : { prefix: `${formatAddress(p.bytes)}/${p.length}`, ulp: id.protocolId, port: id.port };
    }
    default:
      return undefined;
  }
}

/** The host identity of an address (what a Quick Mode without IDs stands for). */
export function hostClientId(address: string): ClientId {
  const p = parsePrefix(address);
  return { prefix: p === null ? address : `${formatAddress(p.bytes)}/${p.bytes.length * 8}`, ulp: 0, port: 0 };
}
