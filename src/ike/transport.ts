/**
 * The datagram transport the IKE engine is handed. `ike/` never opens sockets: the daemon gives it a
 * UDP transport (src/net/udp-transport.ts) and tests give it an in-memory one
 * (src/net/memory-transport.ts), so two engines can talk inside one process.
 *
 * Datagrams crossing this interface are bare ISAKMP messages: the transport adds and strips the
 * RFC 3948 non-ESP marker and swallows NAT keepalives, so the engine never sees either.
 */

/** A UDP endpoint: an IPv4 or IPv6 literal and a port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Called for every ISAKMP datagram received; `local` is the address and port it arrived on. */
export type DatagramHandler = (datagram: Buffer, local: Endpoint, remote: Endpoint) => void;

/** What the engine needs from the network. */
export interface Transport {
  /**
   * Queue `datagram` from `local` to `remote`. Returns false when it was dropped at once (no socket
   * bound to `local`, or the send queue is full); a later network failure is not reported (UDP).
   */
  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean;
  /**
   * Send an RFC 3948 NAT keepalive (the one byte 0xFF, no marker) from `local` to `remote`; absent
   * on transports without NAT-T sockets.
   */
  keepalive?(local: Endpoint, remote: Endpoint): boolean;
  /** Install the receive handler (one per transport; a second call replaces the first). */
  onDatagram(handler: DatagramHandler): void;
}

/** `address:port`, with IPv6 addresses bracketed; used as a map key and in log lines. */
export function endpointKey(e: Endpoint): string {
  return e.address.includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
