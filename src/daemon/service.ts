/**
 * Where the IKE service (the IKE engine of src/ike on its sockets, ike-service.ts) plugs into the
 * daemon.
 *
 * The daemon builds a `ServiceContext` (live configuration, crypto pool, kernel, logging, the UDP
 * ports from the command line) and, when it was given a `ServiceFactory`, creates the service with
 * it; the service binds its own sockets in `start()`. The Phase 1 SA commands of ikeadm and
 * `get stats` are answered by `IkeService.admin()`; without a service the daemon replies that they
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
import type { BackendName } from "./kernel-backend.js";
import type { IkeConfig } from "../config/types.js";
import type { IkeEngine } from "../ike/engine.js";

/** Admin requests the IKE service answers. */
export type ServiceAdminRequest = Extract<AdminRequest, { cmd: "get_stats" | "get_p1" | "del_p1" | "dump_p1" | "flush_p1" | "dump_sadb" | "acquire" }>;

/** Command names of ServiceAdminRequest. */
export const SERVICE_COMMANDS: ReadonlySet<string> = new Set(["get_stats", "get_p1", "del_p1", "dump_p1", "flush_p1", "dump_sadb", "acquire"]);

/** Everything the IKE service is built from. */
export interface ServiceContext {
  readonly config: LiveConfig;
  readonly pool: CryptoPool;
  readonly kernel: Kernel;
  /** Which backend `kernel` is (`ikeadm get stats` and `dump sadb` name it). */
  readonly backend: BackendName;
  readonly logs: LogHub;
  /** IKE UDP port (`--port`, default 500). */
  readonly ikePort: number;
  /** NAT-T UDP port (`--natt-port`, default 4500). */
  readonly nattPort: number;
  /** The IPsec policy file (`ROOT/etc/inet/ipsecinit.conf`), read at start and on SIGHUP. */
  readonly ipsecPolicyFile: string;
  /** `--keys-file` (privilege keymat only): where to append `icookie,Ka` per established SA. */
  readonly keysFile?: string;
  /** An invariant failure seen by the service or its engine: the crash policy's clean stop (exit 70). */
  readonly fatal: (err: unknown) => void;
  /**
   * Open the IKE and NAT-T sockets on `addresses` with the ports above; the service calls it in
   * `start()` (the daemon binds nothing itself) and closes the transport in `stop()`.
   */
  openSockets(addresses: readonly string[]): Promise<UdpTransport>;
}

/** The running IKE service, as the daemon drives it. */
export interface IkeService {
  /** The running IKE engine, once started (the metrics read its counters and events). */
  readonly engine?: IkeEngine | undefined;
  /** Its UDP sockets, once started (the metrics read their counters). */
  readonly transport?: UdpTransport | undefined;
  /** Bind the UDP sockets and start serving. */
  start(): Promise<void>;
  /** Tell the service the configuration changed (after the swap; old SAs keep their rules). */
  reconfigure(next: ConfigSnapshot): void;
  /**
   * Read the IPsec policy file for a SIGHUP reload without applying it: errors, or a `commit`
   * that installs it (in a real kernel's SPD too, with the tunnel endpoints of the new ike.config).
   * In a real kernel, an entry the SPD cannot express (under `config`'s tunnel endpoints) is an
   * error of the file. The daemon commits only when the configuration and keys are valid too, and
   * swaps them in only when the commit succeeded, so the three change together or not at all.
   */
  preparePolicy(config: IkeConfig): Promise<PreparedPolicy>;
  /**
   * Answer a Phase 1 SA or statistics request. `privilege` decides whether KEY: material may be
   * included (2 only).
   */
  admin(req: ServiceAdminRequest, privilege: PrivilegeLevel): Promise<HandlerResult>;
  /** Delete SAs, close sockets. */
  stop(): Promise<void>;
}

/** A policy read by `preparePolicy`, not yet in effect. */
export type PreparedPolicy = { ok: true; commit: (config: IkeConfig) => Promise<void> } | { ok: false; errors: string[] };

/** Builds the IKE service. */
export type ServiceFactory = (ctx: ServiceContext) => IkeService;
