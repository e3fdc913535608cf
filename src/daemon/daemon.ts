/**
 * in.iked startup, reload and shutdown — wiring only (STYLE §1): options → logging → signals →
 * core-dump guard → single-instance lock → crash policy → crypto pool → configuration and
 * certificate store → kernel → metrics, engine → admin socket. Protocol logic lives in the IKE
 * engine (src/ike), plugged in through service.ts.
 *
 * The admin socket comes last: it is the readiness signal (a test, a unit file or ikeadm waits
 * for it), so once it accepts connections the daemon is fully up. Signals come first
 * (signals.ts): a SIGHUP during start-up reloads once start-up has finished, a SIGTERM stops
 * start-up at the next stage and takes down what was built (the kernel's policies and SAs
 * included: the engine's stop removes them).
 *
 * The crash policy (crash-policy.ts) is installed once the pid lock is held, before anything can
 * fail in the background (worker pool, sockets, SA timers): an exception that escapes every SA
 * boundary is logged and the daemon carries on; an invariant failure (the engine's `fatal`, an
 * admin request's, or one that reaches the process) stops the daemon cleanly — once start-up has
 * finished or unwound — and exits 70. A normal stop takes the policy's handlers off the process.
 *
 * Reload (SIGHUP): both files are read and validated completely before anything changes; a bad
 * file leaves the running configuration in place and the log says why. At startup a bad file
 * stops the daemon unless `ignore_errors` is true, in which case it runs with what did parse.
 */
import fs from "node:fs";
import path from "node:path";
import { tryLoadNative } from "../../native/index.js";
import { CryptoPool } from "../crypto/pool.js";
import { UdpTransport } from "../net/udp-transport.js";
import type { Kernel } from "../kernel/kernel.js";
import { ControlServer } from "../control/server.js";
import { daemonReload, daemonStart, daemonStop } from "../log/channels.js";
import { LogHub, type Logger } from "../log/logger.js";
import { createAdminHandler } from "./admin.js";
import { loadAll } from "./config-load.js";
import type { ServiceFactory, IkeService } from "./service.js";
import { LiveConfig } from "./live-config.js";
import { releasePreshared } from "../config/index.js";
import type { DaemonOptions } from "./options.js";
import { CertCache } from "../pki/certcache.js";
import { credentialsFor, PkiKeyGenerations, PkiLive } from "./pki-live.js";
import { acquirePidLock, type PidLock } from "./pidfile.js";
import { CrashPolicy, isInvariantFailure } from "./crash-policy.js";
import type { AdminHandler } from "../control/server.js";
import { openDaemonKernel } from "./kernel-backend.js";
import { DaemonSignals, StartupInterrupted } from "./signals.js";
import { DaemonMetrics } from "../metrics/daemon-metrics.js";
import { MallocTrimmer } from "./malloc-trim.js";
import { HeapReducer } from "./heap-reducer.js";
import { systemClock } from "../clock.js";

/** Exit statuses (in-iked.md §2.1: the SMF helper's classes). */
export const ExitCode = {
  Ok: 0,
  /** Restart-worthy or run from a shell. */
  Error: 1,
  /** Bad configuration: the service should not be restarted until it is fixed. */
  Config: 95,
  /** Permission problem. */
  Perm: 100,
} as const;

/** Why startup failed. */
export class StartupError extends Error {
  constructor(readonly exitCode: number, message: string, readonly details: readonly string[] = []) {
    super(message);
  }
}

export { StartupInterrupted } from "./signals.js";

/** Extra wiring for start(). */
export interface DaemonHooks {
  /** Creates the IKE exchange engine (in.iked passes `ikeServiceFactory`, ike-service.ts). */
  engineFactory?: ServiceFactory;
  /** Ends the process after a stop by signal or by the crash policy (default `process.exit`; tests record the code). */
  exit?: (code: number) => void;
}

/** A running daemon. */
export class Daemon {
  #stopping: Promise<void> | undefined;
  /** The certificate store holder (its generations of private keys in the pool, the cache). */
  #pki: PkiLive | undefined;

  private constructor(
    readonly options: DaemonOptions,
    readonly logs: LogHub,
    readonly live: LiveConfig,
    readonly control: ControlServer,
    readonly kernel: Kernel,
    readonly pool: CryptoPool,
    readonly engine: IkeService | undefined,
    readonly pidLock: PidLock,
    readonly log: Logger,
    readonly signals: DaemonSignals,
    readonly metrics: DaemonMetrics,
    readonly crash: CrashPolicy,
  ) {}

  /**
   * Start everything; throws StartupError with an exit code and printable details, or
   * StartupInterrupted when SIGTERM/SIGINT arrived during start-up (everything built is taken
   * down again, the pid file and the admin socket included).
   */
  static async start(options: DaemonOptions, hooks: DaemonHooks = {}): Promise<Daemon> {
    const logs = new LogHub({
      debugLevel: options.debugLevel,
      privilege: options.privilege,
      destination: !options.foreground && options.debugLogfile ? { kind: "file", path: options.debugLogfile } : { kind: "stderr" },
      format: options.logFormat,
    });
    const log = logs.logger("dmn");
    const cfgLog = logs.logger("cfg");

    const signals = DaemonSignals.install(log);
    const cleanup: (() => Promise<void> | void)[] = [() => signals.uninstall()];
    const unwind = async () => {
      for (const f of cleanup.reverse()) await f();
    };
    // Until start-up has finished (or unwound), a crash-policy stop waits for it.
    let startupDone: (d: Daemon | undefined) => void = () => {};
    const started = new Promise<Daemon | undefined>((resolve) => (startupDone = resolve));
    const crash = new CrashPolicy({
      log,
      stop: async (reason) => (await started)?.stop(`crash: ${reason}`),
      ...(hooks.exit !== undefined ? { exit: hooks.exit } : {}),
    });

    try {
      signals.checkpoint("signals");
      guardCoreDumps(options, log);
      const lock = acquirePidLock(options.paths.pidFile);
      if (!lock.ok) throw new StartupError(ExitCode.Error, lock.message);
      cleanup.push(() => lock.lock.release());
      if (lock.recoveredStalePid !== undefined) log.warn("removed stale pid file", { file: options.paths.pidFile, stalePid: lock.recoveredStalePid });
      signals.checkpoint("pid file");
      crash.install();
      cleanup.push(() => crash.uninstall());

      // The pool first: the store's private keys are registered with it while the store loads.
      const pool = new CryptoPool({ threads: options.workers });
      cleanup.push(() => pool.close());
      const pkiKeys = new PkiKeyGenerations(pool);
      const { rules, keys, pki } = await loadAll(options.configFile, options.presharedFile, { dirs: options.paths, pool, generation: pkiKeys.next() });
      for (const w of [...(pki?.warnings ?? []), ...rules.warnings, ...keys.warnings]) cfgLog.warn(w);
      const errors = [...(pki?.errors ?? []), ...rules.errors, ...keys.errors];
      if (errors.length > 0) {
        if (!options.ignoreErrors) {
          releasePreshared(keys.value);
          throw new StartupError(ExitCode.Config, "bad configuration; fix it (check with 'in.iked -c') or set ignore_errors=true", errors);
        }
        for (const e of errors) cfgLog.error(e);
        cfgLog.warn("ignore_errors is set: running with the parts of the configuration that loaded");
      }
      const certCache = new CertCache();
      const live = new LiveConfig(rules.value, keys.value, pki && { loaded: pki.value, credentials: (c, p) => credentialsFor(c, p, pool, cfgLog, certCache) });
      const pkiLive = new PkiLive(options.paths, pool, live, cfgLog, certCache, pkiKeys);
      if (pki) pkiLive.adopted(pki.value);
      cleanup.push(() => live.releaseKeys());
      const store = pki?.value.snapshot;
      cfgLog.info("configuration loaded", {
        file: options.configFile, rules: rules.value.rules.length, presharedKeys: keys.value.length,
        ...(store ? { certificates: store.certs.length, privateKeys: pki!.value.bindings.length, crls: store.crls.length } : {}),
      });
      signals.checkpoint("configuration");

      const opened = await openDaemonKernel(options.kernel, logs.logger("knl"));
      if (!opened.ok) throw new StartupError(opened.perm ? ExitCode.Perm : ExitCode.Error, opened.message);
      const kernel: Kernel = opened.kernel;
      cleanup.push(() => kernel.close());
      log.info("kernel backend opened", { kernel: opened.name, asked: options.kernel });
      signals.checkpoint("kernel");
      const metrics = new DaemonMetrics({ pool, kernel, backend: opened.name, log, ...(options.metrics !== undefined ? { commandLine: options.metrics } : {}) });
      cleanup.push(() => metrics.close());
      // Free malloc pages go back to the kernel after each full GC (malloc-trim.ts), and V8's
      // unfilled heap once load subsides (heap-reducer.ts); both need the addon.
      const native = tryLoadNative();
      if (native !== undefined) {
        const trimmer = new MallocTrimmer({ clock: systemClock, trim: () => native.mallocTrim() });
        trimmer.start();
        cleanup.push(() => trimmer.stop());
        const reducer = new HeapReducer({
          clock: systemClock,
          reduce: () => native.heapReduce(false),
          onReduce: (heap) => log.debug("op", "load has subsided: memory-reducing GC asked for", { oldGenerationCommittedBytes: heap.committed, oldGenerationUsedBytes: heap.used }),
        });
        reducer.start();
        cleanup.push(() => reducer.stop());
      }

      const netLog = logs.logger("net");
      const engine = hooks.engineFactory?.({
        config: live, pool, kernel, backend: opened.name, logs, ikePort: options.ikePort, nattPort: options.nattPort, ipsecPolicyFile: options.paths.ipsecPolicyFile,
        fatal: (err) => crash.fatal(err),
        ...(options.keysFile !== undefined ? { keysFile: options.keysFile } : {}),
        openSockets: (addresses) => UdpTransport.open({
          addresses, port: options.ikePort, nattPort: options.nattPort,
          ...(opened.openSocket !== undefined ? { openSocket: opened.openSocket } : {}),
          ...(opened.adopted !== undefined ? { adopted: opened.adopted } : {}),
          ...(opened.openPair !== undefined ? { openPair: opened.openPair } : {}),
          ...(opened.batch !== undefined ? { batch: opened.batch } : {}),
          onWarning: (message) => netLog.warn(message),
          onError: (err) => netLog.warn("socket error", { code: err.code, err: err.message }),
        }),
      });
      if (engine) {
        live.onChange((next) => engine.reconfigure(next));
        // Pushed first: a start that fails half-way still closes what it opened.
        cleanup.push(() => engine.stop());
        await engine.start();
        // The IkeEngine exists once start() has made it.
        if (engine.engine !== undefined) metrics.attachEngine(engine.engine);
        if (engine.transport !== undefined) metrics.attachTransport(engine.transport);
      } else {
        log.warn("no IKE exchange engine in this version: no SAs will be negotiated", { ikePort: options.ikePort, nattPort: options.nattPort });
      }
      signals.checkpoint("engine");

      try {
        await metrics.apply(live.current.config.globals.metrics);
      } catch (err) {
        throw new StartupError(ExitCode.Error, (err as Error).message);
      }
      signals.checkpoint("metrics");

      fs.mkdirSync(path.dirname(options.paths.adminSocket), { recursive: true, mode: 0o755 });
      const ctlLog = logs.logger("ctl");
      const control = await ControlServer.listen({
        path: options.paths.adminSocket,
        log: ctlLog,
        handler: invariantsToPolicy(createAdminHandler({
          live, logs, log: ctlLog, configFile: options.configFile, presharedFile: options.presharedFile,
          ikePort: options.ikePort, nattPort: options.nattPort, engine, pki: pkiLive, metrics,
        }), crash),
      });
      cleanup.push(() => control.close());
      // The last stage boundary: from here to running() nothing waits, so no signal can come between.
      signals.checkpoint("admin socket");

      const d = new Daemon(options, logs, live, control, kernel, pool, engine, lock.lock, log, signals, metrics, crash);
      d.#pki = pkiLive;
      startupDone(d);
      log.info("in.iked started", {
        pid: process.pid, socket: options.paths.adminSocket, privilege: options.privilege,
        debugLevel: `0x${options.debugLevel.toString(16)}`, kernel: options.kernel, workers: options.workers,
      });
      daemonStart.publish({ pid: process.pid, socket: options.paths.adminSocket });
      const exit = hooks.exit ?? ((code: number) => process.exit(code));
      signals.running({ reload: () => d.#hangup(), stop: (sig) => void d.stop(sig).then(() => exit(ExitCode.Ok)) });
      return d;
    } catch (err) {
      if (err instanceof StartupInterrupted) {
        daemonStop.publish({ signal: err.signal });
        log.info("in.iked stopping", { signal: err.signal, during: "start-up" });
      }
      await unwind();
      startupDone(undefined);
      if (err instanceof StartupInterrupted) {
        log.info("in.iked stopped");
        logs.close();
        throw err;
      }
      if (err instanceof StartupError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new StartupError(e.code === "EACCES" || e.code === "EPERM" ? ExitCode.Perm : ExitCode.Error, e.message);
    }
  }

  /**
   * Re-read the configuration, the pre-shared keys, the certificate store (its private keys
   * registered in the pool beside the running ones) and the IPsec policy; swap them in only when
   * all four are valid, together. Returns whether it swapped.
   */
  async reload(): Promise<boolean> {
    const log = this.logs.logger("cfg");
    const pki0 = this.#pki!;
    const { rules, keys, pki } = await loadAll(this.options.configFile, this.options.presharedFile, { dirs: this.options.paths, pool: this.pool, generation: pki0.keys.next() });
    // After ike.config: the policy's tunnel names take their endpoints from the new rules.
    const policy = await this.engine?.preparePolicy(rules.value);
    const errors = [...(pki?.errors ?? []), ...rules.errors, ...keys.errors, ...(policy?.ok === false ? policy.errors : [])];
    if (errors.length > 0) {
      for (const e of errors) log.error(e);
      log.error("reload refused: the running configuration stays in effect", { errors: errors.length });
      releasePreshared(keys.value);
      if (pki) pki0.keys.discard(pki.value);
      daemonReload.publish({ ok: false, errors });
      return false;
    }
    for (const w of [...(pki?.warnings ?? []), ...rules.warnings, ...keys.warnings]) log.warn(w);
    if (policy?.ok === true) {
      try {
        await policy.commit(rules.value);
      } catch (err) {
        log.error("reload refused: the kernel refused the new IPsec policy; the running configuration stays in effect", { err: (err as Error).message });
        releasePreshared(keys.value);
        // The refused generation's private keys leave every crypto worker again.
        if (pki) pki0.keys.discard(pki.value);
        daemonReload.publish({ ok: false, errors: [(err as Error).message] });
        return false;
      }
    }
    const snap = this.live.replace({ config: rules.value, preshared: keys.value, ...(pki ? { pki: pki.value } : {}) });
    if (pki) pki0.adopted(pki.value);
    log.info("configuration reloaded", { rules: rules.value.rules.length, presharedKeys: keys.value.length, generation: snap.generation });
    await this.metrics.apply(rules.value.globals.metrics);
    daemonReload.publish({ ok: true, generation: snap.generation });
    return true;
  }

  /**
   * Clean shutdown: a reload in progress finishes first; then socket unlinked, engine stopped
   * (SAs deleted), pool and kernel closed, pid file removed.
   */
  stop(signal?: string): Promise<void> {
    this.#stopping ??= (async () => {
      daemonStop.publish({ signal });
      this.log.info("in.iked stopping", signal ? { signal } : {});
      await this.signals.stopping();
      await this.control.close();
      await this.engine?.stop();
      await this.metrics.close();
      await this.pool.close();
      await this.kernel.close();
      this.live.releaseKeys();
      this.pidLock.release();
      // Last: until here a second SIGTERM finds the handlers (which ignore it), not the default
      // action that would end the process half-way through.
      this.signals.uninstall();
      this.log.info("in.iked stopped");
      this.logs.close();
      // Last: an error while stopping still reaches the policy (which is what exits 70 after a crash stop).
      this.crash.uninstall();
    })();
    return this.#stopping;
  }

  /** SIGHUP: reopen the debug log (so a rotated file is replaced by a fresh one), then reload. */
  async #hangup(): Promise<void> {
    const dest = this.logs.destination;
    if (dest.kind === "file") {
      try {
        this.logs.setDestination(dest);
      } catch (err) {
        this.log.error("cannot reopen the debug log; logging continues to the old file", { file: dest.path, err: (err as Error).message });
      }
    }
    this.log.info("SIGHUP: reloading configuration");
    try {
      await this.reload();
    } catch (err) {
      this.log.error("reload failed", { err: (err as Error).message });
    }
  }
}

/**
 * The control server logs and answers what an admin handler throws; an invariant failure among it
 * goes to the crash policy as well.
 */
function invariantsToPolicy(handler: AdminHandler, crash: CrashPolicy): AdminHandler {
  return async (req) => {
    try {
      return await handler(req);
    } catch (err) {
      if (isInvariantFailure(err)) crash.fatal(err);
      throw err;
    }
  };
}

/**
 * Keying material lives in this process: no core dumps. A real kernel backend refuses to run
 * without the guard; the in-memory SADB (tests, demos) only warns.
 */
function guardCoreDumps(options: DaemonOptions, log: Logger): void {
  const native = tryLoadNative();
  let ok = false;
  try {
    ok = native?.disableCoreDumps() ?? false;
  } catch {
    // A failing addon call counts as "not disabled", handled below.
    ok = false;
  }
  if (ok) return;
  const why = native ? "prctl/setrlimit failed" : "native addon not built (npm run build:native)";
  switch (options.kernel) {
    case "memory":
      log.warn(`core dumps NOT disabled (${why}); continuing because --kernel memory holds no kernel SAs`);
      return;
    case "xfrm":
    case "pfkey":
    case "auto":
      throw new StartupError(ExitCode.Perm, `cannot disable core dumps (${why}); refusing to hold keying material`);
    default: {
      const never: never = options.kernel;
      return never;
    }
  }
}
