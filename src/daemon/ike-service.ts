/**
 * The IKE engine (src/ike/engine.ts) plugged into the daemon — wiring only: sockets on the host
 * addresses the rules name, the crypto pool for Diffie-Hellman, the kernel, ike.config and
 * ike.preshared from the live configuration, ipsecinit.conf for Phase 2, kernel ACQUIREs, logging
 * through the daemon's LogHub, and the ikeadm requests about SAs.
 *
 * Decisions an operator sees (in.iked(8)):
 * - Sockets: one IKE and one NAT-T socket per host address in any rule's `local_addr`, and per
 *   address of this host that a rule's subnet, range, 0.0.0.0/0 or ::/0 covers (never the
 *   wildcard, so another IKE daemon may own port 500 on another address, and a reply leaves from
 *   the address the peer used). Addresses that appear or go, and those a reload adds, get sockets
 *   opened or closed within 2 s (src/daemon/listen.ts).
 * - NAT-T (RFC 3947) is on wherever a NAT-T socket is bound (`--natt-port`).
 * - ipsecinit.conf absent, unreadable or invalid: no IPsec policy, so Quick Mode is refused in both
 *   roles (an IPsec SA without a policy saying what it protects would be an open door); Phase 1
 *   still runs. The file is re-read on every reload; an unreadable or invalid one leaves the
 *   running policy in effect (the reload is refused), an absent one removes it. In a real kernel the policy is also the kernel's SPD (kernel-spd.ts), and an entry the
 *   SPD cannot express makes the file invalid (all or nothing, as ipsecconf); kernel events reach
 *   the engine through kernel-events.ts.
 * - Reload: new rules, keys and policy apply to new negotiations; established SAs keep theirs.
 * - Stop: every established ISAKMP SA is deleted politely (Delete payloads for its IPsec SAs and
 *   itself), then the send queues get a moment to drain before the sockets close.
 * - Aggressive Mode responders compute DH before the peer has returned our cookie: at most
 *   `unverified_dh_share` percent (default 50) of the pool's threads do that at once (re-read on
 *   reload); the rest serve verified peers.
 * - `--keys-file` (privilege keymat only): each established Phase 1 SA appends `icookie,Ka` to the
 *   file (keys-file.ts); once `ikeadm set priv` lowers the level, no further line is written.
 */
import { hostAddresses, listenAddresses, ListenWatcher } from "./listen.js";
import net from "node:net";
import { refClock } from "../clock.js";
import { DEFAULT_UNVERIFIED_DH_SHARE, unverifiedDhSlots } from "../ike/dh-budget.js";
import { configPolicy } from "../ike/ports.js";
import { IkeEngine, type AcquireResult as EngineAcquireResult } from "../ike/engine.js";
import type { IkeLog } from "../ike/log.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { Endpoint } from "../ike/transport.js";
import type { AcquireEvent } from "../kernel/kernel.js";
import type { UdpTransport } from "../net/udp-transport.js";
import { loadIpsecPolicy, formatPolicyError, formatPolicyWarning, weakPolicyAlgorithms, type IpsecPolicy } from "../policy/index.js";
import type { IkeConfig } from "../config/types.js";
import { AdminError } from "../control/messages.js";
import type { AcquireResult, ListResult, P1View, SadbResult, SadbView, StatsResult } from "../control/results.js";
import type { HandlerResult } from "../control/server.js";
import type { PrivilegeLevel } from "../log/categories.js";
import type { Logger } from "../log/logger.js";
import type { IkeService, ServiceAdminRequest, ServiceContext, ServiceFactory, PreparedPolicy } from "./service.js";
import { rejectAcquire, wireKernelEvents } from "./kernel-events.js";
import { KernelSpd, tunnelEndpoints } from "./kernel-spd.js";
import { spdErrors } from "../policy/spd.js";
import type { ConfigSnapshot } from "./live-config.js";
import { isInvariantFailure } from "../errors.js";
import { KeysFile } from "./keys-file.js";
import { P1Book } from "./p1-book.js";

/** How long stop() lets the Deletes leave before closing the sockets. */
const DRAIN_MS = 300;

const fail = (code: number, message: string): HandlerResult => ({ ok: false, error: { code, message } });
const done = (result: unknown): HandlerResult => ({ ok: true, result });

export { localAddresses } from "./listen.js";

/**
 * The engine's log calls mapped onto the daemon's categories: Quick Mode and IPsec SA lines are
 * `phase2`, dropped datagrams `op`, everything else `phase1` (the original's split).
 */
export function engineLog(log: Logger): IkeLog {
  const category = (msg: string, fields: Record<string, unknown>) =>
    /Quick Mode|IPsec|Phase 2/i.test(msg) || fields.mid !== undefined ? "phase2" : /dropped/.test(msg) ? "op" : "phase1";
  // The engine's debug calls come several per negotiation; with none of their categories on (the
  // default) they end here, before the message is matched against the category patterns.
  const anyOn = (): boolean => log.enabled("phase1") || log.enabled("phase2") || log.enabled("op");
  return {
    debug: (fields, msg) => {
      if (anyOn()) log.debug(category(msg, fields), msg, fields);
    },
    info: (fields, msg) => log.info(msg, fields),
    warn: (fields, msg) => log.warn(msg, fields),
    error: (fields, msg) => log.error(msg, fields),
    debugEnabled: anyOn,
  };
}

/** The daemon's IKE service: an {@link IkeEngine} on UDP sockets. */
export class UdpIkeService implements IkeService {
  readonly #ctx: ServiceContext;
  readonly #log: Logger;
  #engine: IkeEngine | undefined;
  #book: P1Book | undefined;
  #transport: UdpTransport | undefined;
  #listen: ListenWatcher | undefined;
  #ipsec: IpsecPolicy | undefined;
  #keysFile: KeysFile | undefined;
  /** Set only for the duration of a synchronous `kernel.acquire()` call made by `ikeadm acquire`. */
  #acquirePeer: Partial<Endpoint> | undefined;
  #lastAcquire: EngineAcquireResult | undefined;
  readonly #spd: KernelSpd;
  #unwire: (() => void) | undefined;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
    this.#log = ctx.logs.logger("ike");
    this.#spd = new KernelSpd(ctx.kernel, ctx.logs.logger("knl"));
  }

  /** The running IkeEngine (tests and tools look inside). */
  get engine(): IkeEngine | undefined {
    return this.#engine;
  }

  /** The UDP sockets of every address, once started (the metrics read their counters). */
  get transport(): UdpTransport | undefined {
    return this.#transport;
  }

  async start(): Promise<void> {
    const ctx = this.#ctx;
    await this.#loadIpsec();
    if (ctx.keysFile !== undefined) this.#keysFile = KeysFile.open(ctx.keysFile);
    const addresses = listenAddresses(ctx.config.current.config, hostAddresses());
    if (addresses.length === 0) this.#log.warn("no address of this host is in a rule's local_addr: no IKE socket is bound yet");
    const transport = await ctx.openSockets(addresses);
    this.#transport = transport;
    this.#listen = new ListenWatcher({
      sockets: transport,
      config: () => ctx.config.current.config,
      onChange: (c) => {
        if (c.added.length + c.removed.length > 0) this.#log.info("local addresses changed: IKE sockets opened and closed", { opened: c.added, closed: c.removed });
        // Each once per address (listen.ts): a gateway whose address comes late, or never, is not flooded.
        for (const f of c.failed) this.#log.warn("cannot listen on a local address yet; tried again every pass, reported when bound", f);
        for (const address of c.recovered) this.#log.info("local address bound at last: IKE sockets opened", { address });
      },
    });
    this.#listen.start();
    for (const proto of ["esp", "ah"] as const) await ctx.kernel.register(proto);
    const g = ctx.config.current.config.globals;
    // NAT-T (RFC 3947) is on from the start: its port (`--natt-port`) is where SAs float, and the
    // ListenWatcher binds it on every address that appears, including addresses that were not there
    // yet at start (DHCP). Port 0 (tests: a free port) can only be known once a socket has it.
    const nattPort = ctx.nattPort !== 0 ? ctx.nattPort : transport.endpoints().find((e) => e.natt)?.local.port;
    const engine = new IkeEngine({
      transport,
      dh: ctx.pool,
      pubkey: ctx.pool,
      policy: configPolicy(() => ctx.config.current),
      kernel: ctx.kernel,
      ipsecPolicy: () => this.#ipsec,
      localPort: ctx.ikePort,
      ...(nattPort !== undefined ? { nattPort } : {}),
      log: engineLog(this.#log),
      fatal: ctx.fatal,
      unverifiedDh: this.#unverifiedDh(g.unverifiedDhShare),
      ...(g.p1LifetimeSecs !== undefined ? { p1LifetimeSecs: g.p1LifetimeSecs } : {}),
      ...(g.expireTimer !== undefined ? { expireMs: g.expireTimer * 1000 } : {}),
      ...(g.retryLimit !== undefined || g.retryTimerInit !== undefined || g.retryTimerMax !== undefined
        ? { retransmit: { initMs: (g.retryTimerInit ?? 0.5) * 1000, maxMs: (g.retryTimerMax ?? 30) * 1000, limit: g.retryLimit ?? 5 } }
        : {}),
    });
    this.#engine = engine;
    this.#book = new P1Book(engine, (label) => {
      const rule = label === undefined ? undefined : configPolicy(() => ctx.config.current).ruleByLabel(label);
      return rule?.p2Pfs ?? 0;
    });
    if (this.#keysFile !== undefined) engine.on("phase1-up", (sa) => this.#writeKeys(sa));
    engine.on("phase2-failed", (sa, reason) => this.#log.info("Quick Mode failed", { sa: sa.tag, reason }));
    this.#unwire = wireKernelEvents(ctx.kernel, engine, ctx.logs.logger("knl"), (ev) => this.#acquire(ev));
    await this.#spd.start(this.#ipsec, ctx.config.current.config);
    this.#log.info("IKE engine started", {
      sockets: transport.endpoints().map((e) => `${e.local.address}:${e.local.port}${e.natt ? " (NAT-T)" : ""}`),
      ipsecPolicy: this.#ipsec === undefined ? "none: Quick Mode refused" : `${this.#ipsec.entries.length} entries`,
      kernel: ctx.backend,
    });
  }

  reconfigure(next: ConfigSnapshot): void {
    this.#engine?.unverifiedDh.resize(this.#unverifiedDh(next.config.globals.unverifiedDhShare));
    // The live configuration already holds `next`: a pass binds the addresses it adds (after the
    // pass under way, if any, which read the old configuration: listen.ts).
    void this.#listen?.sync();
  }

  async preparePolicy(config: IkeConfig): Promise<PreparedPolicy> {
    const file = this.#ctx.ipsecPolicyFile;
    const r = await loadIpsecPolicy(file);
    // A real kernel takes the file whole or not at all: an entry its SPD cannot express fails it.
    if (r.errors.length === 0 && this.#spd.active) r.errors.push(...spdErrors(r.policy, tunnelEndpoints(config)));
    const cfg = this.#ctx.logs.logger("cfg");
    // Only a file that does not exist means "no policy". One that exists but cannot be read (a
    // directory, a symlink loop, EACCES) is an error like a syntax error: emptying the SPD on a
    // reload for it would let traffic the running policy protects go in the clear.
    if (r.missing) {
      return {
        ok: true,
        commit: async (config) => {
          // No file, no policy: IPsec SAs with nothing saying what they protect are refused.
          if (this.#engine !== undefined) await this.#spd.replace(undefined, config);
          if (this.#ipsec !== undefined) cfg.warn("IPsec policy file gone: Quick Mode is refused from now on", { file });
          this.#ipsec = undefined;
        },
      };
    }
    if (r.errors.length > 0) return { ok: false, errors: r.errors.map(formatPolicyError) };
    const weak = weakPolicyAlgorithms(r.policy).map(formatPolicyWarning);
    return {
      ok: true,
      commit: async (config) => {
        // Before start() the kernel gets the policy from start(); after, the new set replaces the old.
        if (this.#engine !== undefined) await this.#spd.replace(r.policy, config);
        this.#ipsec = r.policy;
        // Weak algorithms stay accepted (old peers); the operator hears of them each time they load.
        for (const w of weak) cfg.warn(w);
        cfg.info("IPsec policy loaded", { file, entries: r.policy.entries.length, ...(weak.length > 0 ? { weakEntries: weak.length } : {}) });
      },
    };
  }

  async stop(): Promise<void> {
    this.#unwire?.();
    // No pass after this one (a reload's would bind sockets the transport then never closes).
    await this.#listen?.stop();
    const engine = this.#engine;
    if (engine !== undefined) {
      try {
        await engine.shutdown();
      } catch (err) {
        this.#log.warn("shutdown Deletes failed; SAs torn down without them", { err: (err as Error).message });
        engine.close();
      }
    }
    // UdpTransport.close() drops queued datagrams; the Deletes just sent deserve a moment.
    await this.#drain();
    if (engine !== undefined) {
      await this.#spd.stop().catch((err: Error) => this.#log.warn("cannot remove the IPsec policy and SAs from the kernel", { err: err.message }));
    }
    await this.#transport?.close();
    this.#keysFile?.close();
  }

  /**
   * DH computations unverified peers (Aggressive Mode responders) may have in flight:
   * `unverified_dh_share` percent (default half) of the pool's threads, at least one.
   */
  #unverifiedDh(share: number | undefined): number {
    return unverifiedDhSlots(this.#ctx.pool.threads, share ?? DEFAULT_UNVERIFIED_DH_SHARE);
  }

  /** One `icookie,Ka` line for a new SA, while the daemon still runs at keymat. */
  #writeKeys(sa: IsakmpSa): void {
    const file = this.#keysFile;
    const km = sa.keymat;
    if (file === undefined || km === undefined || !km.derived) return;
    if (this.#ctx.logs.privilege < 2) {
      this.#log.info("privilege lowered below keymat: no more lines in the keys file", { file: file.path });
      file.close();
      this.#keysFile = undefined;
      return;
    }
    const k = km.exportForKeymatPrivilege();
    try {
      file.append(sa.icookie, k.ka);
      this.#log.debug("phase1", "Phase 1 key written to the keys file", { sa: sa.tag, file: file.path });
    } catch (err) {
      this.#log.warn("cannot write the keys file", { file: file.path, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    } finally {
      for (const b of Object.values(k)) b.fill(0);
    }
  }

  async admin(req: ServiceAdminRequest, privilege: PrivilegeLevel): Promise<HandlerResult> {
    const engine = this.#engine;
    const book = this.#book;
    if (engine === undefined || book === undefined) return fail(AdminError.IN_PROGRESS, "the IKE engine is not running");
    switch (req.cmd) {
      case "get_stats": {
        const s = engine.stats;
        const transport = this.#transport?.stats();
        return done({ p1: { ...s.p1 }, engine: { ...s.engine }, kernelBackend: this.#ctx.backend, ...(transport ? { transport: { ...transport } } : {}) } satisfies StatsResult);
      }
      case "dump_p1":
      case "get_p1": {
        const found = req.cmd === "dump_p1" ? engine.sas.all().filter((sa) => !sa.isDead()) : book.find(req.id);
        if (req.cmd === "get_p1" && found.length === 0) return fail(AdminError.NO_OBJ, "could not find requested phase 1 SA");
        // KEY: material only at keymat (reference ikeadm.md section 4); at 0 and 1 it never leaves.
        const keys = privilege >= 2;
        if (keys && found.length > 0) this.#log.info("Phase 1 keying material sent to ikeadm", { cmd: req.cmd, sas: found.map((sa) => sa.tag) });
        return done({ items: found.map((sa) => book.view(sa, keys)) } satisfies ListResult<P1View>);
      }
      case "del_p1": {
        const found = book.find(req.id);
        if (found.length === 0) return fail(AdminError.NO_OBJ, "could not find requested phase 1 SA");
        for (const sa of found) await engine.deleteSa(sa, "deleted by ikeadm");
        this.#log.info("phase 1 SA deleted by administrator", { count: found.length, sas: found.map((sa) => sa.tag) });
        return done({ count: found.length });
      }
      case "flush_p1": {
        const all = engine.sas.all();
        for (const sa of all) await engine.deleteSa(sa, "flushed by ikeadm");
        this.#log.info("phase 1 SAs flushed by administrator", { count: all.length });
        return done({ count: all.length });
      }
      case "dump_sadb":
        return this.#dumpSadb(privilege);
      case "acquire":
        return this.#adminAcquire(req);
      default: {
        const never: never = req;
        return never;
      }
    }
  }

  async #dumpSadb(privilege: PrivilegeLevel): Promise<HandlerResult> {
    const keys = privilege >= 2;
    const sas = await this.#ctx.kernel.dump(undefined, { includeKeys: keys });
    const items = sas.map((s): SadbView => ({
      src: s.src, dst: s.dst, proto: s.proto, spi: s.spi.toString(16).padStart(8, "0"), mode: s.mode, state: s.state, reqid: s.reqid,
      encAlg: s.encAlg, encKeyBits: s.encKeyBits, authAlg: s.authAlg, authKeyBits: s.authKeyBits, label: s.label,
      ...(keys && s.keys?.enc ? { encKeyHex: s.keys.enc.toString("hex") } : {}),
      ...(keys && s.keys?.auth ? { authKeyHex: s.keys.auth.toString("hex") } : {}),
      ...(s.encap !== null ? { encap: { ...s.encap } } : {}),
    }));
    // The copies the kernel handed out are ours to wipe once they are hex in the reply.
    for (const s of sas) {
      s.keys?.enc?.fill(0);
      s.keys?.auth?.fill(0);
    }
    return done({ items, kernel: this.#ctx.backend } satisfies SadbResult);
  }

  #adminAcquire(req: Extract<ServiceAdminRequest, { cmd: "acquire" }>): HandlerResult {
    const kernel = this.#ctx.kernel;
    if (kernel.acquire === undefined) return fail(AdminError.CMD_NOTSUP, "acquire needs the in-memory kernel (--kernel memory)");
    for (const [what, a] of [["source", req.src], ["destination", req.dst], ["peer", req.peer]] as const) {
      if (a !== undefined && net.isIP(a) === 0) return fail(AdminError.DATA_INVALID, `acquire: ${what} '${a}' is not an IP address`);
    }
    if (net.isIP(req.src) !== net.isIP(req.dst)) return fail(AdminError.DATA_INVALID, "acquire: source and destination differ in address family");
    this.#lastAcquire = undefined;
    this.#acquirePeer = { ...(req.peer !== undefined ? { address: req.peer } : {}), ...(req.peerPort !== undefined ? { port: req.peerPort } : {}) };
    let seq: number | null;
    try {
      seq = kernel.acquire({ src: { address: req.src, port: req.sport ?? 0 }, dst: { address: req.dst, port: req.dport ?? 0 }, ulp: req.ulp ?? 0 });
    } catch (err) {
      return fail(AdminError.DATA_INVALID, `acquire: ${(err as Error).message}`);
    } finally {
      this.#acquirePeer = undefined;
    }
    const r = this.#lastAcquire as EngineAcquireResult | undefined;
    const result: AcquireResult =
      seq === null ? { seq: 0, outcome: "not-registered" }
      : r === undefined ? { seq, outcome: "pending" }
      : { seq, outcome: r.outcome, ...(r.peer !== undefined ? { peer: { address: r.peer.address, port: r.peer.port } } : {}) };
    return done(result);
  }

  /**
   * A kernel ACQUIRE, handed to the engine's one ACQUIRE path; during `ikeadm acquire` with a peer
   * override, the override goes with it.
   */
  #acquire(ev: AcquireEvent): void {
    const engine = this.#engine;
    if (engine === undefined) return;
    let r: EngineAcquireResult;
    try {
      r = engine.acquire(ev, this.#acquirePeer);
    } catch (err) {
      // The kernel's event, not an exchange yet: this ACQUIRE goes unanswered, the daemon carries on.
      if (isInvariantFailure(err)) this.#ctx.fatal(err);
      else this.#log.error("ACQUIRE failed", { seq: ev.seq, err: (err as Error).message, stack: (err as Error).stack });
      return;
    }
    this.#lastAcquire = r;
    if (r.outcome !== "started" && r.outcome !== "in-progress") rejectAcquire(this.#ctx.kernel, this.#ctx.logs.logger("knl"), ev.seq, r.outcome);
    const peer = r.peer;
    const fields = { seq: ev.seq, src: ev.src.address, dst: ev.dst.address, ulp: ev.ulp, outcome: r.outcome, ...(peer ? { peer: `${peer.address}:${peer.port}` } : {}) };
    if (r.outcome === "started") this.#log.info("ACQUIRE: negotiating", fields);
    else if (r.outcome === "in-progress") this.#log.debug("phase2", "ACQUIRE: a Quick Mode for this traffic is under way", fields);
    else this.#log.debug("phase2", "ACQUIRE not answered", fields);
  }

  /** At start: a bad, unreadable or missing policy file leaves Quick Mode refused (the daemon still runs). */
  async #loadIpsec(): Promise<void> {
    const file = this.#ctx.ipsecPolicyFile;
    const cfg = this.#ctx.logs.logger("cfg");
    const p = await this.preparePolicy(this.#ctx.config.current.config);
    if (!p.ok) {
      for (const e of p.errors) cfg.error(e);
      cfg.error("IPsec policy refused: Quick Mode is refused", { file, errors: p.errors.length });
      return;
    }
    await p.commit(this.#ctx.config.current.config);
    if (this.#ipsec === undefined) cfg.info("no IPsec policy file: Quick Mode is refused", { file });
  }

  async #drain(): Promise<void> {
    const t = this.#transport;
    if (t === undefined) return;
    const until = Date.now() + DRAIN_MS;
    let last = -1;
    while (Date.now() < until) {
      const s = t.stats();
      if (s.sent === last) return;
      last = s.sent;
      await new Promise<void>((r) => refClock.setTimer(r, 20));
    }
  }
}

/** The factory in.iked passes to `Daemon.start`. */
export const ikeServiceFactory: ServiceFactory = (ctx) => new UdpIkeService(ctx);
