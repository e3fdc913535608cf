/**
 * A NAT on the in-memory network (src/net/memory-transport.ts), for NAT-T tests without
 * namespaces: the engine behind it sends from private endpoints, the network sees each one as a
 * mapped port of the NAT's public address, and answers to a mapped port come back to the private
 * endpoint. Like a real NAT it maps on the first datagram out (nothing reaches an unmapped port),
 * and `rebind()` forgets every mapping (what a NAT reboot or a conntrack flush does; given an
 * address, the NAT comes back on that public address, as a carrier-grade NAT's pool may).
 */
import type { DatagramHandler, Endpoint, Transport } from "../../src/ike/transport.js";
import { endpointKey } from "../../src/ike/transport.js";
import type { MemoryNetwork, MemoryTransport } from "../../src/net/memory-transport.js";

/** The engine's transport behind a NAT. */
export class MemoryNat implements Transport {
  private handler: DatagramHandler = () => {};
  private readonly mappings = new Map<string, { readonly pub: Endpoint; readonly t: MemoryTransport }>();
  private nextPort: number;
  /** RFC 3948 keepalives the engine sent: `private -> remote` strings. */
  readonly keepalives: string[] = [];

  constructor(
    private readonly network: MemoryNetwork,
    public publicAddress: string,
    firstPort = 40000,
  ) {
    this.nextPort = firstPort;
  }

  /** The public endpoint a private endpoint is mapped to now, if any. */
  mappingOf(local: Endpoint): Endpoint | undefined {
    return this.mappings.get(endpointKey(local))?.pub;
  }

  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean {
    return this.map(local).t.send(datagram, this.map(local).pub, remote);
  }

  keepalive(local: Endpoint, remote: Endpoint): boolean {
    this.map(local);
    this.keepalives.push(`${endpointKey(local)} -> ${endpointKey(remote)}`);
    return true;
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  /**
   * Forget every mapping: the next datagram out of each private endpoint gets a new public port
   * (of `publicAddress` from now on, where one is given).
   */
  rebind(publicAddress?: string): void {
    if (publicAddress !== undefined) this.publicAddress = publicAddress;
    for (const m of this.mappings.values()) this.network.detach(m.t);
    this.mappings.clear();
  }

  private map(local: Endpoint): { readonly pub: Endpoint; readonly t: MemoryTransport } {
    const key = endpointKey(local);
    let m = this.mappings.get(key);
    if (m === undefined) {
      const pub = { address: this.publicAddress, port: this.nextPort++ };
      const t = this.network.attach([pub]);
      t.onDatagram((d, _to, from) => this.handler(d, local, from));
      m = { pub, t };
      this.mappings.set(key, m);
    }
    return m;
  }
}
