/**
 * Where the IKE exchange engine plugs into the daemon.
 *
 * The daemon builds an `EngineContext` (live configuration, crypto pool, kernel, logging, the
 * UDP ports from the command line) and, when it was given an `EngineFactory`, creates the engine
 * with it; the engine binds its own sockets in `start()`. The Phase 1 SA commands of ikeadm and
 * `get stats` are answered by `DaemonEngine.admin()`; without an engine the daemon replies that they
 * are not available in this version.
 */
import type { CryptoPool } from "../crypto/pool.js";
import type { UdpTransport } from "../net/udp-transport.js";
import type { Kernel } from "../kernel/kernel.js";
import type { AdminRequest } from "../control/messages.js";
import type { HandlerResult } from "../control/server.js";
import type { LogHub } from "../log/logger.js";
import type { PrivilegeLevel } from "../log/categories.js";
import type { ConfigSnapshot, LiveConfig } from "./live-config.js";

/** Admin requests the engine answers. */
export type EngineAdminRequest = Extract<AdminRequest, { cmd: "get_stats" | "get_p1" | "del_p1" | "dump_p1" | "flush_p1" | "dump_sadb" | "acquire" }>;

/** Command names of EngineAdminRequest. */
export const ENGINE_COMMANDS: ReadonlySet<string> = new Set(["get_stats", "get_p1", "del_p1", "dump_p1", "flush_p1", "dump_sadb", "acquire"]);

/** Everything an engine is built from. */
export interface EngineContext {
  readonly config: LiveConfig;
  readonly pool: CryptoPool;
  readonly kernel: Kernel;
  readonly logs: LogHub;
  /** IKE UDP port (`--port`, default 500). */
  readonly ikePort: number;
  /** NAT-T UDP port (`--natt-port`, default 4500). */
  readonly nattPort: number;
  /** The IPsec policy file (`ROOT/etc/inet/ipsecinit.conf`), read at start and on SIGHUP. */
  readonly ipsecPolicyFile: string;
  /** `--keys-file` (privilege keymat only): where to append `icookie,Ka` per established SA. */
  readonly keysFile?: string;
  /**
   * Open the IKE and NAT-T sockets on `addresses` with the ports above; the engine calls it in
   * `start()` (the daemon binds nothing itself) and closes the transport in `stop()`.
   */
  openSockets(addresses: readonly string[]): Promise<UdpTransport>;
}

/** The running exchange engine, as the daemon drives it. */
export interface DaemonEngine {
  /** Bind the UDP sockets and start serving. */
  start(): Promise<void>;
  /** Tell the engine the configuration changed (after the swap; old SAs keep their rules). */
  reconfigure(next: ConfigSnapshot): void;
  /**
   * Read the IPsec policy file for a SIGHUP reload without applying it: errors, or a `commit`
   * that installs it. The daemon commits only when the configuration and keys are valid too, so
   * the three change together or not at all.
   */
  preparePolicy(): Promise<PreparedPolicy>;
  /**
   * Answer a Phase 1 SA or statistics request. `privilege` decides whether KEY: material may be
   * included (2 only).
   */
  admin(req: EngineAdminRequest, privilege: PrivilegeLevel): Promise<HandlerResult>;
  /** Delete SAs, close sockets. */
  stop(): Promise<void>;
}

/** A policy read by `preparePolicy`, not yet in effect. */
export type PreparedPolicy = { ok: true; commit: () => void } | { ok: false; errors: string[] };

/** Builds the engine. */
export type EngineFactory = (ctx: EngineContext) => DaemonEngine;
