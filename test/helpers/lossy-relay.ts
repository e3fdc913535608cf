/**
 * A lossy UDP relay for interop tests: it sits between two fixed endpoints and forwards datagrams
 * byte for byte, dropping some and sending others twice, per a seeded plan, in both directions.
 *
 *   side A (us)  <->  [front: bound where A sends]  relay  [back: bound where B sends]  <->  side B (peer)
 *
 * The relay never parses IKE: a non-ESP marker, if the sides use one, passes through untouched, so
 * the port rule of the README (marker unless one side is on 500) is the two sides' business. Since
 * both sides see the relay's addresses, not each other's, a peer that sends NAT-D would float to
 * NAT-T; our engine sends no NAT-T vendor ID, so no NAT-D is exchanged.
 *
 * The plan is deterministic per direction and datagram index: the first datagram of each direction
 * is dropped and the second duplicated (so every run exercises both), the rest follow a seeded
 * PRNG (mulberry32) with the given fractions. Duplicates go out a few milliseconds after the
 * original, so they can arrive while the receiver is still working on the first copy.
 */
import dgram from "node:dgram";
import type { Endpoint } from "../../src/ike/transport.js";

/** Options of {@link LossyRelay.open}. */
export interface LossyRelayOptions {
  /** Where side A sends (the relay's front socket). */
  readonly front: Endpoint;
  /** Where side B sends (the relay's back socket). */
  readonly back: Endpoint;
  /** Side A's own endpoint: B's datagrams go there. */
  readonly a: Endpoint;
  /** Side B's own endpoint: A's datagrams go there. */
  readonly b: Endpoint;
  /** PRNG seed. */
  readonly seed: number;
  /** Fraction of datagrams dropped (after the first of each direction). */
  readonly drop: number;
  /** Fraction of the remaining datagrams sent twice. */
  readonly duplicate: number;
  /** Delay of a duplicate, ms (default 5). */
  readonly duplicateDelayMs?: number;
}

/** What the relay did in one direction. */
export interface RelayCounts {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
}

type Direction = "aToB" | "bToA";

/** mulberry32: a small seeded PRNG, good enough to spread drops over a run. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bind(ep: Endpoint): Promise<dgram.Socket> {
  const sock = dgram.createSocket(ep.address.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(ep.port, ep.address, () => {
      sock.off("error", reject);
      resolve(sock);
    });
  });
}

/** The relay. Always {@link close} it. */
export class LossyRelay {
  readonly counts: Record<Direction, RelayCounts> = {
    aToB: { received: 0, forwarded: 0, dropped: 0, duplicated: 0 },
    bToA: { received: 0, forwarded: 0, dropped: 0, duplicated: 0 },
  };
  private readonly rand: Record<Direction, () => number>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private lastActivity = performance.now();

  private constructor(
    private readonly o: LossyRelayOptions,
    private readonly front: dgram.Socket,
    private readonly back: dgram.Socket,
  ) {
    this.rand = { aToB: mulberry32(o.seed), bToA: mulberry32(o.seed ^ 0x5bd1e995) };
    // Datagrams from anyone but the configured side are ignored: other tests share the addresses.
    front.on("message", (msg, from) => {
      if (from.address === o.a.address && from.port === o.a.port) this.relay("aToB", msg, back, o.b);
    });
    back.on("message", (msg, from) => {
      if (from.address === o.b.address && from.port === o.b.port) this.relay("bToA", msg, front, o.a);
    });
    // A send error (peer gone at the end of a test) must not crash the test process.
    front.on("error", () => undefined);
    back.on("error", () => undefined);
  }

  /** Bind both sockets. */
  static async open(o: LossyRelayOptions): Promise<LossyRelay> {
    const front = await bind(o.front);
    try {
      return new LossyRelay(o, front, await bind(o.back));
    } catch (e) {
      front.close();
      throw e;
    }
  }

  /** Whether traffic has stopped: no duplicate waiting to go out, nothing relayed for `ms`. */
  quietFor(ms: number): boolean {
    return this.timers.size === 0 && performance.now() - this.lastActivity >= ms;
  }

  private relay(dir: Direction, msg: Buffer, out: dgram.Socket, to: Endpoint): void {
    this.lastActivity = performance.now();
    const c = this.counts[dir];
    const n = c.received++;
    const r = this.rand[dir]();
    const fate = n === 0 ? "drop" : n === 1 ? "dup" : r < this.o.drop ? "drop" : r < this.o.drop + this.o.duplicate ? "dup" : "pass";
    if (fate === "drop") {
      c.dropped++;
      return;
    }
    const send = (): void => {
      if (this.closed) return;
      c.forwarded++;
      out.send(msg, to.port, to.address);
    };
    send();
    if (fate === "dup") {
      c.duplicated++;
      const copy = Buffer.from(msg);
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.closed) return;
        this.lastActivity = performance.now();
        c.forwarded++;
        out.send(copy, to.port, to.address);
      }, this.o.duplicateDelayMs ?? 5);
      this.timers.add(t);
    }
  }

  /** Stop relaying and release both sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
