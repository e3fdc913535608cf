/**
 * UDP sockets for IKE (RFC 2408 section 4: port 500) and NAT-T (RFC 3947 / RFC 3948: port 4500),
 * bound per local address.
 *
 * Why per address: other IKE daemons on the same host (Libreswan binds 127.0.0.4:500) must be able
 * to coexist with us on other addresses, so we never bind the wildcard address unless told to.
 * Binding each configured address also tells us, for every datagram, which local address it
 * reached, which the engine needs to pick rules and to answer from the same address.
 *
 * SO_REUSEADDR only on privileged ports: on Linux a second UDP socket may bind the very same
 * address and port when both have SO_REUSEADDR, with no check of who owns it, and the newest
 * socket takes the unicast datagrams. On an unprivileged port (4500, anything at or above
 * `net.ipv4.ip_unprivileged_port_start`) any local user could so take IKE on the NAT-T port away
 * from us: there our sockets go without it, and another socket on the same address and port, or
 * on the wildcard address and the same port, fails with EADDRINUSE. On a privileged port (500)
 * only root can bind, and SO_REUSEADDR lets another IKE daemon's wildcard bind succeed beside our
 * per-address sockets (Libreswan's pluto binds 0.0.0.0:500 at start-up and stops if it cannot).
 * libuv sets SO_REUSEADDR on every descriptor dgram adopts; `adopted` clears it again.
 *
 * Where IPsec is real, the daemon hands in `openSocket`, which makes each socket in the kernel with
 * a per-socket IPsec bypass (so no policy ever catches IKE itself) and, on the NAT-T port, ESP-in-UDP
 * decapsulation (RFC 3948: the kernel takes the ESP, we get the IKE); dgram then wraps that
 * descriptor. Without it (the in-memory SADB) dgram makes plain sockets.
 *
 * The IKE port's pair (issue 11): where `openPair` is given, each address's IKE port gets two
 * sockets in one SO_REUSEPORT group whose BPF program sends datagrams with a non-zero responder
 * cookie (a peer that has our cookie: MM3 on, Quick Mode, Informational) to the second, so an MM1
 * flood that overflows the first socket's receive buffer cannot make the kernel drop them (see
 * native/src/udp-bypass.c for the program and who may join the group). Both sockets feed the same
 * handler; sends leave from the first; they close together. If the pair cannot be made (a kernel
 * without SO_ATTACH_REUSEPORT_CBPF, EPERM), the address gets the single socket and one warning.
 * Where `batch` is given too (the native addon), the pair is not handed to dgram: the addon reads
 * both sockets with recvmmsg and this side sends with sendmmsg (src/net/udp-batch.ts), one call
 * into JS per batch instead of per datagram; if the addon refuses the descriptors, dgram takes them.
 * The NAT-T port keeps one socket: its IKE datagrams start with the 4-byte non-ESP marker (the
 * program would read other offsets) and ESP-in-UDP shares it, taken by the UDP_ENCAP hook of
 * whichever socket the kernel's lookup picks, so every socket of a group there would need the
 * encapsulation too; and a peer reaches port 4500 only after MM2, so the MM1 flood aims at port 500.
 *
 * This layer never parses payloads: it strips the non-ESP marker, drops keepalives and ESP, and hands
 * bare ISAKMP datagrams to the engine.
 */
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { SocketError } from "../errors.js";
import type { DatagramHandler, Endpoint, Transport } from "../ike/transport.js";
import { endpointKey } from "../ike/transport.js";
import { addMarker, classify, markerExpected } from "./marker.js";
import { DEFAULT_SEND_LIMITS, SendQueue, type SendQueueLimits, type SendQueueStats } from "./send-queue.js";
import { BatchBuffers, BatchPort, type BatchIo } from "./udp-batch.js";

/** Close a descriptor dgram never adopted (the pair's second when adopting the first failed). */
function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed.
  }
}

/** An error's message, with the errno's name (EADDRINUSE) where the addon gave only its text. */
function describe(err: unknown): string {
  const e = err as { message?: string; errno?: unknown };
  const text = String(e.message ?? err);
  if (typeof e.errno !== "number") return text;
  const name = Object.entries(os.constants.errno).find(([, n]) => n === Math.abs(e.errno as number))?.[0];
  return name !== undefined && !text.includes(name) ? `${text} (${name})` : text;
}

/** The first port an unprivileged process may bind (`net.ipv4.ip_unprivileged_port_start`, also for IPv6). */
function unprivilegedPortStart(): number {
  try {
    const n = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    return Number.isInteger(n) && n >= 0 ? n : 1024;
  } catch {
    return 1024; // no such sysctl (an older kernel): the classic limit
  }
}

/** Whether a socket on `port` takes SO_REUSEADDR: only on a privileged port (see above); never on 0 (a free port). */
export function sharesPort(port: number): boolean {
  return port !== 0 && port < unprivilegedPortStart();
}

/** Options of a {@link UdpTransport}. */
export interface UdpTransportOptions {
  /** Local addresses to bind (IPv4 or IPv6 literals). `0.0.0.0` / `::` bind the wildcard, shared. */
  readonly addresses: readonly string[];
  /** IKE port (`--port`), default 500; 0 picks a free port per address (tests). */
  readonly port?: number;
  /** NAT-T port (`--natt-port`), default 4500; 0 picks a free port; null binds no NAT-T socket. */
  readonly nattPort?: number | null;
  readonly sendLimits?: SendQueueLimits;
  /** Operational socket errors after start-up (send failures); never peer input. */
  readonly onError?: (err: SocketError) => void;
  /**
   * Makes the bound socket for `address`:`port` (`natt`: the NAT-T one) and returns its descriptor,
   * or throws; absent, dgram binds its own sockets.
   */
  readonly openSocket?: (address: string, port: number, natt: boolean, reuseAddr: boolean) => number;
  /**
   * Called with a descriptor from `openSocket` that must not share its port (`reuseAddr` false)
   * once dgram has adopted it: libuv set SO_REUSEADDR on it then, this clears it. A throw fails
   * the bind.
   */
  readonly adopted?: (fd: number) => void;
  /**
   * Makes the IKE (not NAT-T) port's steered pair for `address`:`port` (see the file comment):
   * `[first, verified]`; absent, or if it throws, the address gets one socket as above.
   */
  readonly openPair?: (address: string, port: number, reuseAddr: boolean) => readonly [number, number];
  /**
   * Reads and writes the pair in batches (recvmmsg/sendmmsg, src/net/udp-batch.ts); absent, or if
   * it refuses the descriptors, dgram adopts them.
   */
  readonly batch?: BatchIo;
  /** One line when the pair cannot be made and the single socket is used instead. */
  readonly onWarning?: (message: string) => void;
}

/** Counters of a {@link UdpTransport}. */
export interface UdpTransportStats {
  received: number;
  keepalives: number;
  espDropped: number;
  runts: number;
  /** Datagrams read from the IKE port's second socket (responder cookie set; the pair only). */
  verifiedReceived: number;
  sent: number;
  sendDropped: number;
  sendErrors: number;
}

/** The send side of a bound endpoint: dgram's queue, or the batch port's. */
interface Sender {
  readonly stats: SendQueueStats;
  push(datagram: Buffer, port: number, address: string): boolean;
  close(): void;
}

interface Bound {
  readonly local: Endpoint;
  readonly natt: boolean;
  readonly queue: Sender;
  /** Closes the endpoint's sockets (both of a pair), once `queue` is closed. */
  readonly close: () => Promise<void>;
}

/** Close one socket. */
function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      // Already closed (bind failed half-way): nothing left to release.
      resolve();
    }
  });
}

/** Close the sockets of one endpoint (both of a pair) and its queue. */
async function closeBound(b: Bound): Promise<void> {
  b.queue.close();
  await b.close();
}

/** The daemon's transport: one IKE and one NAT-T socket per configured local address. */
export class UdpTransport implements Transport {
  private readonly bound = new Map<string, Bound>();
  private handler: DatagramHandler = () => {};
  private readonly counters = { received: 0, keepalives: 0, espDropped: 0, runts: 0, verifiedReceived: 0 };
  private pairWarned = false;
  private batchWarned = false;
  private sendDroppedNoSocket = 0;
  /** Sends of endpoints already closed (an address that left, a reload), so the counters never go back. */
  private readonly closedSends = { sent: 0, dropped: 0, errors: 0 };
  private buffers: BatchBuffers | undefined;

  private constructor(private readonly opts: UdpTransportOptions) {}

  /** Bind every socket; rejects with a {@link SocketError} (and closes what was bound) on failure. */
  static async open(opts: UdpTransportOptions): Promise<UdpTransport> {
    const t = new UdpTransport(opts);
    try {
      for (const address of opts.addresses) {
        if (net.isIP(address) === 0) {
          throw new SocketError("IKE_ERR_BAD_ADDRESS", `not an IP address: ${address}`);
        }
        await t.bindOne(address, opts.port ?? 500, false);
        const natt = opts.nattPort === undefined ? 4500 : opts.nattPort;
        if (natt !== null) await t.bindOne(address, natt, true);
      }
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** The endpoints actually bound (ports resolved when 0 was asked for). */
  endpoints(): { local: Endpoint; natt: boolean }[] {
    return [...this.bound.values()].map((b) => ({ local: b.local, natt: b.natt }));
  }

  /** The addresses with sockets now. */
  addresses(): string[] {
    return [...new Set([...this.bound.values()].map((b) => b.local.address))];
  }

  /** Bind the IKE and NAT-T sockets of one more address (an address that appeared; a reload). */
  async addAddress(address: string): Promise<void> {
    if (net.isIP(address) === 0) throw new SocketError("IKE_ERR_BAD_ADDRESS", `not an IP address: ${address}`);
    if (this.addresses().includes(address)) return;
    try {
      await this.bindOne(address, this.opts.port ?? 500, false);
      const natt = this.opts.nattPort === undefined ? 4500 : this.opts.nattPort;
      if (natt !== null) await this.bindOne(address, natt, true);
    } catch (err) {
      await this.removeAddress(address);
      throw err;
    }
  }

  /** Close the sockets of an address (it left the host); pending sends are dropped. */
  async removeAddress(address: string): Promise<void> {
    const gone = [...this.bound.entries()].filter(([, b]) => b.local.address === address);
    for (const [k] of gone) this.bound.delete(k);
    await Promise.all(gone.map(([, b]) => this.retire(b)));
  }

  /** The IKE (non-NAT-T) endpoint bound on `address`, if any. */
  ikeEndpoint(address: string): Endpoint | undefined {
    return [...this.bound.values()].find((b) => !b.natt && b.local.address === address)?.local;
  }

  /** The NAT-T endpoint bound on `address`, if any. */
  nattEndpoint(address: string): Endpoint | undefined {
    return [...this.bound.values()].find((b) => b.natt && b.local.address === address)?.local;
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean {
    const b = this.lookup(local);
    if (!b) {
      this.sendDroppedNoSocket++;
      return false;
    }
    const out = markerExpected(b.local.port, remote.port, b.natt) ? addMarker(datagram) : datagram;
    return b.queue.push(out, remote.port, remote.address);
  }

  /** RFC 3948 section 2.3: one 0xFF byte, no marker, from the NAT-T socket on `local`. */
  keepalive(local: Endpoint, remote: Endpoint): boolean {
    const b = this.lookup(local);
    if (!b) {
      this.sendDroppedNoSocket++;
      return false;
    }
    return b.queue.push(Buffer.from([0xff]), remote.port, remote.address);
  }

  stats(): UdpTransportStats {
    let sent = this.closedSends.sent;
    let dropped = this.sendDroppedNoSocket + this.closedSends.dropped;
    let errors = this.closedSends.errors;
    for (const b of this.bound.values()) {
      sent += b.queue.stats.sent;
      dropped += b.queue.stats.dropped;
      errors += b.queue.stats.errors;
    }
    return { ...this.counters, sent, sendDropped: dropped, sendErrors: errors };
  }

  /** Close every socket; pending sends are dropped. */
  async close(): Promise<void> {
    const all = [...this.bound.values()];
    this.bound.clear();
    await Promise.all(all.map((b) => this.retire(b)));
  }

  /** Close an endpoint taken out of `bound`, its send counts kept in the totals. */
  private async retire(b: Bound): Promise<void> {
    const closing = closeBound(b);
    // Read once closeBound has closed the queue (its pending sends counted as dropped) and before
    // it settles, so the totals never dip while the sockets close (a send still in flight then is
    // not counted).
    const c = this.closedSends;
    c.sent += b.queue.stats.sent;
    c.dropped += b.queue.stats.dropped;
    c.errors += b.queue.stats.errors;
    await closing;
  }

  private lookup(local: Endpoint): Bound | undefined {
    const exact = this.bound.get(endpointKey(local));
    if (exact) return exact;
    const wildcard = local.address.includes(":") ? "::" : "0.0.0.0";
    return this.bound.get(endpointKey({ address: wildcard, port: local.port }));
  }

  /**
   * The pair for the IKE port, or undefined (no `openPair`, the NAT-T port, or the kernel refused
   * the group or its program: one warning); a failed bind throws, as it would for one socket.
   */
  private openPair(address: string, port: number, natt: boolean, reuseAddr: boolean): readonly [number, number] | undefined {
    if (natt || this.opts.openPair === undefined) return undefined;
    try {
      return this.opts.openPair(address, port, reuseAddr);
    } catch (err) {
      // bind itself failed (address not on the host, port taken): one socket would fail alike.
      if ((err as { syscall?: string }).syscall === "bind") {
        throw new SocketError("IKE_ERR_BIND", `cannot bind ${address}:${port}: ${describe(err)}`, { cause: err });
      }
      if (!this.pairWarned) {
        this.pairWarned = true;
        this.opts.onWarning?.(`cannot steer datagrams with a responder cookie to a socket of their own on ${address}:${port} (${describe(err)}): one socket per address, an MM1 flood may crowd out established peers`);
      }
      return undefined;
    }
  }

  /** The pair served by the addon's batch reader, or undefined (no `batch`, or it refused: one warning). */
  private batchPort(address: string, pair: readonly [number, number], natt: boolean): Bound | undefined {
    const io = this.opts.batch;
    if (io === undefined) return undefined;
    let port: BatchPort;
    let local: Endpoint = { address, port: 0 };
    const onError = (err: Error): void => this.opts.onError?.(new SocketError("IKE_ERR_SOCKET", `socket ${endpointKey(local)}: ${err.message}`, { cause: err }));
    try {
      this.buffers ??= new BatchBuffers();
      port = new BatchPort(io, pair, this.buffers, {
        datagram: (msg, from, fromPort, verified) => this.receive(b, msg, from, fromPort, verified),
        unusable: (verified) => {
          if (verified) this.counters.verifiedReceived++;
          this.counters.runts++;
        },
        error: onError,
      }, this.opts.sendLimits ?? DEFAULT_SEND_LIMITS, (err) =>
        this.opts.onError?.(new SocketError("IKE_ERR_SEND", `send from ${endpointKey(local)} failed`, { cause: err })));
    } catch (err) {
      if (!this.batchWarned) {
        this.batchWarned = true;
        this.opts.onWarning?.(`cannot read ${address}'s IKE port in batches (${describe(err)}): datagrams are read one at a time`);
      }
      return undefined;
    }
    local = { address, port: port.port };
    const b: Bound = { local, natt, queue: port.queue, close: async () => port.close() };
    return b;
  }

  private async bindOne(address: string, port: number, natt: boolean): Promise<void> {
    const reuseAddr = sharesPort(port);
    const pair = this.openPair(address, port, natt, reuseAddr);
    const batched = pair !== undefined ? this.batchPort(address, pair, natt) : undefined;
    if (batched !== undefined) {
      this.bound.set(endpointKey(batched.local), batched);
      return;
    }
    let fd: number | undefined = pair?.[0];
    try {
      if (pair === undefined) fd = this.opts.openSocket?.(address, port, natt, reuseAddr);
    } catch (err) {
      throw new SocketError("IKE_ERR_BIND", `cannot bind ${address}:${port}: ${describe(err)}`, { cause: err });
    }
    let socket: dgram.Socket | undefined;
    let verified: dgram.Socket | undefined;
    try {
      socket = await this.adopt(address, port, fd, reuseAddr);
      if (pair !== undefined) verified = await this.adopt(address, port, pair[1], reuseAddr);
    } catch (err) {
      // A socket whose adoption failed was closed with it; the pair's other half may be left.
      if (socket) await closeSocket(socket);
      else if (pair !== undefined) closeFd(pair[1]);
      throw err;
    }
    const s = socket;
    const local: Endpoint = { address, port: s.address().port };
    const queue = new SendQueue(
      (d, p, a, done) => s.send(d, p, a, done),
      this.opts.sendLimits ?? DEFAULT_SEND_LIMITS,
      (err) => this.opts.onError?.(new SocketError("IKE_ERR_SEND", `send from ${endpointKey(local)} failed`, { cause: err })),
    );
    const b: Bound = { local, natt, queue, close: async () => void (await Promise.all([closeSocket(s), ...(verified ? [closeSocket(verified)] : [])])) };
    for (const sock of verified ? [s, verified] : [s]) {
      const isVerified = sock === verified;
      sock.on("message", (msg, rinfo) => this.receive(b, msg, rinfo.address, rinfo.port, isVerified));
      sock.on("error", (err) =>
        this.opts.onError?.(new SocketError("IKE_ERR_SOCKET", `socket ${endpointKey(local)}: ${err.message}`, { cause: err })),
      );
    }
    this.bound.set(endpointKey(local), b);
  }

  /** A dgram socket on `fd` (from `openSocket`/`openPair`), or bound by dgram itself when undefined. */
  private adopt(address: string, port: number, fd: number | undefined, reuseAddr: boolean): Promise<dgram.Socket> {
    const v6 = net.isIPv6(address);
    const socket = dgram.createSocket({ type: v6 ? "udp6" : "udp4", reuseAddr, ipv6Only: v6 });
    return new Promise<dgram.Socket>((resolve, reject) => {
      const onBindError = (err: Error): void => {
        socket.close();
        reject(new SocketError("IKE_ERR_BIND", `cannot bind ${address}:${port}: ${err.message}`, { cause: err }));
      };
      socket.once("error", onBindError);
      socket.bind(fd !== undefined ? { fd } : { address, port, exclusive: false }, () => {
        socket.off("error", onBindError);
        try {
          if (fd !== undefined && !reuseAddr) this.opts.adopted?.(fd);
        } catch (err) {
          onBindError(err as Error);
          return;
        }
        resolve(socket);
      });
    });
  }

  private receive(b: Bound, msg: Buffer, address: string, port: number, verified: boolean): void {
    const r = classify(msg, markerExpected(b.local.port, port, b.natt));
    if (verified) this.counters.verifiedReceived++;
    switch (r.kind) {
      case "ike":
        this.counters.received++;
        this.handler(r.datagram, b.local, { address, port });
        return;
      case "keepalive":
        this.counters.keepalives++;
        return;
      case "esp":
        this.counters.espDropped++;
        return;
      case "runt":
        this.counters.runts++;
        return;
      default: {
        const never: never = r;
        throw new Error(`unhandled ${String(never)}`);
      }
    }
  }
}
