/**
 * Which local addresses get IKE sockets, and keeping that set current while the daemon runs.
 *
 * A rule's `local_addr` names hosts (bound at start, as before) or a subnet, a range, `0.0.0.0/0`,
 * `::/0`: every address of this host that such a spec covers gets sockets too, one pair (IKE and
 * NAT-T) per address, so a reply leaves from the address the peer used. Addresses come and go
 * (DHCP, a VPN interface, an administrator's `ip addr add`): the {@link ListenWatcher} polls the
 * host's addresses (`os.networkInterfaces()`, every 2 s) and opens or closes sockets without a
 * restart; it also binds host addresses a reloaded configuration names (a pass that runs during the
 * reload is followed by one that reads the new configuration). A named address that cannot be bound
 * is tried on every pass but reported once, and once more when it is bound. Sockets close only
 * when their address leaves the host (and no rule names it): a reload that drops a rule closes
 * none, so the SAs made under it can still send their Deletes.
 *
 * IPv6 link-local addresses (fe80::/10) are not bound: a socket on one needs an interface scope
 * that `local_addr` cannot name.
 */
import os from "node:os";
import { addressCovers, parseIp } from "../config/address.js";
import type { IkeConfig } from "../config/types.js";

/** Host addresses named by the rules' `local_addr` (single addresses and full-length prefixes). */
export function localAddresses(config: IkeConfig): string[] {
  const out = new Set<string>();
  for (const r of config.rules) {
    for (const a of r.localAddr) {
      if (a.kind === "single") out.add(a.addr);
      else if (a.kind === "prefix" && a.prefixLen === (a.family === 4 ? 32 : 128)) out.add(a.addr);
    }
  }
  return [...out];
}

/** This host's addresses, without IPv6 link-local ones. */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv6" && /^fe[89ab]/i.test(a.address)) continue;
      out.push(a.address);
    }
  }
  return out;
}

/** The addresses to listen on: named hosts, and each of `host` that a rule's local_addr covers. */
export function listenAddresses(config: IkeConfig, host: readonly string[]): string[] {
  const out = new Set(localAddresses(config));
  const specs = config.rules.flatMap((r) => r.localAddr);
  for (const address of host) {
    const ip = parseIp(address);
    if (ip !== undefined && specs.some((s) => addressCovers(s, ip))) out.add(address);
  }
  return [...out];
}

/** What the watcher drives: the transport's per-address sockets. */
export interface ListenSockets {
  /** Addresses with sockets now. */
  addresses(): string[];
  addAddress(address: string): Promise<void>;
  removeAddress(address: string): Promise<void>;
}

/** Options of a {@link ListenWatcher}. */
export interface ListenWatcherOptions {
  readonly sockets: ListenSockets;
  /** The configuration now (a reload changes it). */
  readonly config: () => IkeConfig;
  /** This host's addresses now (tests substitute a list). */
  readonly host?: () => string[];
  readonly intervalMs?: number;
  readonly onChange?: (change: ListenChange) => void;
}

/** What one pass changed; a pass that changed nothing reports nothing. */
export interface ListenChange {
  /** Addresses bound by this pass. */
  readonly added: string[];
  /** Addresses whose sockets this pass closed. */
  readonly removed: string[];
  /**
   * Addresses that could not be bound, each reported once: on the first pass that fails to bind
   * it, and again only when the error changes or after it was bound or unwanted in between (a
   * gateway whose address comes late, by DHCP or VRRP, or never, is not warned about every pass).
   */
  readonly failed: { address: string; error: string }[];
  /** Those of `added` that had been reported in `failed`: the address is there now. */
  readonly recovered: string[];
}

/** Default polling interval. */
export const LISTEN_POLL_MS = 2000;

/** Keeps the bound addresses equal to {@link listenAddresses} of the host's current addresses. */
export class ListenWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A pass asked for while one runs: it follows that one (see {@link sync}). */
  private queued: Promise<void> | undefined;
  /** The host's addresses at the last pass: an address closes when it leaves this set. */
  private lastHost = new Set<string>();
  /** Wanted addresses that failed to bind, with the error reported: each is reported once. */
  private readonly unbound = new Map<string, string>();
  /** Set by {@link stop}. */
  private stopped = false;

  constructor(private readonly o: ListenWatcherOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.sync(), this.o.intervalMs ?? LISTEN_POLL_MS);
    this.timer.unref();
  }

  /**
   * No more passes (the daemon stops): the timer ends, a pass asked for meanwhile (a reload's)
   * never runs, and the pass under way binds or closes nothing more once its current bind is done.
   * Settles when that pass has ended, so the caller can close the sockets after it.
   */
  stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    return (this.running ?? Promise.resolve()).catch(() => undefined);
  }

  /**
   * One pass (also run after a reload): bind what is wanted and missing, close what is bound and
   * no longer wanted. A pass reads the configuration and the host's addresses when it begins: asked
   * for while one runs (a reload during a pass), it runs once that one is done, so it sees the
   * configuration of now; all callers during the wait share that one pass.
   */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running === undefined) {
      this.running = this.pass().finally(() => (this.running = undefined));
      return this.running;
    }
    // The running pass's failure is its own callers' to hear; the pass after it runs regardless.
    this.queued ??= this.running.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.sync();
    });
    return this.queued;
  }

  private async pass(): Promise<void> {
    const config = this.o.config();
    const host = (this.o.host ?? hostAddresses)();
    const wanted = new Set(listenAddresses(config, host));
    const named = new Set(localAddresses(config));
    const bound = new Set(this.o.sockets.addresses());
    const left = [...this.lastHost].filter((a) => !host.includes(a));
    this.lastHost = new Set(host);
    const added: string[] = [];
    const removed: string[] = [];
    const failed: { address: string; error: string }[] = [];
    const recovered: string[] = [];
    // An address no longer wanted, or bound meanwhile, is reported anew if it fails again later.
    for (const a of this.unbound.keys()) if (!wanted.has(a) || bound.has(a)) this.unbound.delete(a);
    for (const a of wanted) {
      if (this.stopped) break;
      if (bound.has(a)) continue;
      try {
        await this.o.sockets.addAddress(a);
        added.push(a);
        if (this.unbound.delete(a)) recovered.push(a);
      } catch (err) {
        // A named address not on this host yet: tried again on every pass, reported once.
        const error = (err as Error).message;
        if (this.unbound.get(a) !== error) failed.push({ address: a, error });
        this.unbound.set(a, error);
      }
    }
    // Only an address that left the host closes: a named one stays bound (as at start-up), and
    // a rule a reload removed closes nothing (the SAs made under it keep their sockets).
    for (const a of left) {
      if (this.stopped) break;
      if (!bound.has(a) || named.has(a)) continue;
      await this.o.sockets.removeAddress(a);
      removed.push(a);
    }
    if (added.length + removed.length + failed.length > 0) this.o.onChange?.({ added, removed, failed, recovered });
  }
}
