/**
 * RFC 3948 section 2.2 non-ESP marker and section 2.3 NAT keepalive.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Source Port            |      Destination Port         |
 * |           Length              |           Checksum            |
 * |                   Non-ESP Marker (4 zero bytes)               |
 * |                   IKE header ...                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * On the NAT-T port an IKE message is preceded by four zero bytes so it cannot be mistaken for ESP
 * (whose first four bytes are a non-zero SPI). A keepalive is the single byte 0xFF.
 *
 * Which datagrams carry the marker: strongSwan adds it whenever *neither* UDP port is 500 and, on
 * receive in that case, expects it (anything else is ESP). Libreswan ties it to its local NAT-T
 * socket. So we add and expect it on our NAT-T socket, and on any socket when neither our port nor
 * the peer's port is 500 (see shared/interop/README.md, "The non-ESP marker rule").
 */

/** The IKE port the marker rule is keyed on (the literal 500, not our configured `--port`). */
export const IKE_PORT = 500;

const MARKER_LEN = 4;
const KEEPALIVE = 0xff;

/** True when a datagram between these ports carries the non-ESP marker. */
export function markerExpected(localPort: number, remotePort: number, onNattSocket: boolean): boolean {
  return onNattSocket || (localPort !== IKE_PORT && remotePort !== IKE_PORT);
}

/** Prefix the marker: returns a new buffer. */
export function addMarker(datagram: Buffer): Buffer {
  const out = Buffer.allocUnsafe(datagram.length + MARKER_LEN);
  out.writeUInt32BE(0, 0);
  datagram.copy(out, MARKER_LEN);
  return out;
}

/** What a received datagram turned out to be. */
export type Received =
  | { readonly kind: "ike"; readonly datagram: Buffer }
  | { readonly kind: "keepalive" }
  | { readonly kind: "esp" }
  | { readonly kind: "runt" };

/**
 * Classify a received datagram. With `expectMarker`, a datagram starting with four zero bytes is IKE
 * (the marker is stripped, the result is a view), a lone 0xFF is a keepalive, and anything else of at
 * least 8 bytes is ESP, which this daemon has no data plane for. Without it, a lone 0xFF is still a
 * keepalive (some NATs send them to 500) and everything else is passed on as ISAKMP.
 */
export function classify(datagram: Buffer, expectMarker: boolean): Received {
  if (datagram.length === 1 && datagram[0] === KEEPALIVE) return { kind: "keepalive" };
  if (!expectMarker) return datagram.length === 0 ? { kind: "runt" } : { kind: "ike", datagram };
  if (datagram.length < MARKER_LEN) return { kind: "runt" };
  if (datagram.readUInt32BE(0) === 0) {
    return datagram.length === MARKER_LEN ? { kind: "runt" } : { kind: "ike", datagram: datagram.subarray(MARKER_LEN) };
  }
  return datagram.length >= 8 ? { kind: "esp" } : { kind: "runt" };
}
