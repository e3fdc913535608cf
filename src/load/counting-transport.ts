/**
 * The load run's UDP transport, counting the datagrams it accepted, so the run can wait for them
 * to leave before it closes the sockets: `UdpTransport.close()` drops what is still queued, and
 * the last thing a run sends is its Deletes.
 */
import { performance } from "node:perf_hooks";
import { refClock } from "../clock.js";
import type { DatagramHandler, Endpoint, Transport } from "../ike/transport.js";
import type { UdpTransport } from "../net/udp-transport.js";

/** A {@link Transport} over a {@link UdpTransport} that knows what it still has to send. */
export class CountingTransport implements Transport {
  #accepted = 0;

  constructor(readonly udp: UdpTransport) {}

  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean {
    const ok = this.udp.send(datagram, local, remote);
    if (ok) this.#accepted++;
    return ok;
  }

  onDatagram(handler: DatagramHandler): void {
    this.udp.onDatagram(handler);
  }

  /** Resolves when every accepted datagram was sent (or failed), or after `maxMs`. */
  async flushed(maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    while (performance.now() < until) {
      const s = this.udp.stats();
      if (s.sent + s.sendErrors >= this.#accepted) return;
      await new Promise<void>((r) => refClock.setTimer(r, 5));
    }
  }
}
