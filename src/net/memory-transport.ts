/**
 * An in-memory datagram network for tests and load runs: engines attach transports with local
 * endpoints and exchange datagrams without sockets. Impairments (loss, duplication, reordering,
 * delay) come from a seeded generator, so a lossy-relay test that fails can be replayed exactly.
 *
 * Delivery is always asynchronous (never inside `send()`), as with a real socket, so an engine is
 * never re-entered from its own send.
 */
import { refClock, type Clock, type TimerHandle } from "../clock.js";
import type { DatagramHandler, Endpoint, Transport } from "../ike/transport.js";
import { endpointKey } from "../ike/transport.js";

/** What happens to datagrams on the network. Probabilities are in [0, 1]. */
export interface Impairment {
  readonly loss?: number;
  readonly duplicate?: number;
  /** Probability that a datagram is held back and delivered after the next one. */
  readonly reorder?: number;
  /** Fixed delay in ms (on the network's clock). */
  readonly delayMs?: number;
  /** Extra uniformly random delay in [0, jitterMs). */
  readonly jitterMs?: number;
  /** Decide per datagram, after the random impairments (e.g. drop exactly the second MM3). */
  readonly filter?: (datagram: Buffer, from: Endpoint, to: Endpoint) => "pass" | "drop";
}

/** Options of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  readonly impair?: Impairment;
  /** Seed of the impairment generator (default 1). */
  readonly seed?: number;
  readonly clock?: Clock;
}

/** One observed datagram, for assertions. */
export interface TapRecord {
  readonly datagram: Buffer;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly fate: "delivered" | "lost" | "undeliverable";
}

/** Counters of a {@link MemoryNetwork}. */
export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  undeliverable: number;
}


/** mulberry32: small, fast, good enough to pick impairments reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Held {
  readonly datagram: Buffer;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly timer: TimerHandle;
}

/** The network all {@link MemoryTransport}s of a test share. */
export class MemoryNetwork {
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, undeliverable: 0 };
  private impair: Impairment;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly endpoints = new Map<string, MemoryTransport>();
  private readonly taps = new Set<(r: TapRecord) => void>();
  private held: Held | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: MemoryNetworkOptions = {}) {
    this.impair = opts.impair ?? {};
    this.random = rng(opts.seed ?? 1);
    this.clock = opts.clock ?? refClock;
  }

  /** Replace the impairments (e.g. start losing packets half-way through a test). */
  setImpairment(impair: Impairment): void {
    this.impair = impair;
  }

  /** Observe every datagram and its fate; returns an unsubscribe function. */
  tap(fn: (r: TapRecord) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Create a transport owning `locals`; throws if an endpoint is already taken (a test bug). */
  attach(locals: readonly Endpoint[]): MemoryTransport {
    const t = new MemoryTransport(this, locals);
    for (const l of locals) {
      const k = endpointKey(l);
      if (this.endpoints.has(k)) throw new Error(`memory network: ${k} already attached`);
      this.endpoints.set(k, t);
    }
    return t;
  }

  /** Remove a transport's endpoints; datagrams to them become undeliverable. */
  detach(t: MemoryTransport): void {
    for (const [k, v] of this.endpoints) if (v === t) this.endpoints.delete(k);
  }

  /** Resolves once no datagram is in flight or held back (on the system clock: after delays run). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.held === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called by {@link MemoryTransport.send}. */
  submit(datagram: Buffer, from: Endpoint, to: Endpoint): void {
    this.stats.sent++;
    // Copy: the sender may reuse its buffer, and a real network would not share memory.
    const copy = Buffer.from(datagram);
    const im = this.impair;
    if (im.loss !== undefined && this.random() < im.loss) {
      this.stats.lost++;
      this.emit({ datagram: copy, from, to, fate: "lost" });
      return;
    }
    if (im.filter !== undefined && im.filter(copy, from, to) === "drop") {
      this.stats.lost++;
      this.emit({ datagram: copy, from, to, fate: "lost" });
      return;
    }
    const copies = im.duplicate !== undefined && this.random() < im.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.held === undefined && im.reorder !== undefined && this.random() < im.reorder) {
        this.stats.reordered++;
        this.inFlight++;
        // Released after the next datagram, or after a short hold if none comes.
        const timer = this.clock.setTimer(() => this.releaseHeld(), 5 + (im.delayMs ?? 0));
        this.held = { datagram: copy, from, to, timer };
        continue;
      }
      // A held datagram rides behind this one: delivered right after it.
      let behind: Held | undefined;
      if (this.held !== undefined && this.held.datagram !== copy) {
        behind = this.held;
        this.clock.clearTimer(behind.timer);
        this.held = undefined;
        this.inFlight--;
      }
      this.schedule(copy, from, to, behind);
    }
  }

  private releaseHeld(): void {
    const h = this.held;
    if (h === undefined) return;
    this.held = undefined;
    this.inFlight--;
    this.schedule(h.datagram, h.from, h.to);
  }

  private schedule(datagram: Buffer, from: Endpoint, to: Endpoint, behind?: Held): void {
    const im = this.impair;
    const delay = (im.delayMs ?? 0) + (im.jitterMs !== undefined ? this.random() * im.jitterMs : 0);
    this.inFlight++;
    const run = (): void => {
      this.inFlight--;
      this.deliver(datagram, from, to);
      if (behind !== undefined) this.deliver(behind.datagram, behind.from, behind.to);
      this.checkIdle();
    };
    if (delay > 0) this.clock.setTimer(run, delay);
    else setImmediate(run);
  }

  private deliver(datagram: Buffer, from: Endpoint, to: Endpoint): void {
    const t = this.endpoints.get(endpointKey(to));
    if (t === undefined) {
      this.stats.undeliverable++;
      this.emit({ datagram, from, to, fate: "undeliverable" });
      return;
    }
    this.stats.delivered++;
    this.emit({ datagram, from, to, fate: "delivered" });
    t.receive(datagram, to, from);
  }

  private checkIdle(): void {
    if (this.inFlight !== 0 || this.held !== undefined) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of w) fn();
  }

  private emit(r: TapRecord): void {
    for (const fn of this.taps) fn(r);
  }
}

/** A {@link Transport} on a {@link MemoryNetwork}. */
export class MemoryTransport implements Transport {
  private handler: DatagramHandler = () => {};
  private readonly owned: Set<string>;

  constructor(
    private readonly network: MemoryNetwork,
    readonly locals: readonly Endpoint[],
  ) {
    this.owned = new Set(locals.map(endpointKey));
  }

  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean {
    if (!this.owned.has(endpointKey(local))) return false;
    this.network.submit(datagram, local, remote);
    return true;
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  /** Called by the network. */
  receive(datagram: Buffer, local: Endpoint, remote: Endpoint): void {
    this.handler(datagram, local, remote);
  }
}

/** Two transports, one endpoint each, on a fresh network. */
export function memoryTransportPair(
  a: Endpoint,
  b: Endpoint,
  opts: MemoryNetworkOptions = {},
): { network: MemoryNetwork; a: MemoryTransport; b: MemoryTransport } {
  const network = new MemoryNetwork(opts);
  return { network, a: network.attach([a]), b: network.attach([b]) };
}
