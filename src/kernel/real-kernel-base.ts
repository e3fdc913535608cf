/**
 * What the XFRM and PF_KEY backends share as objects: the event emitter, the `knl` logger, the
 * per-SA facts the kernel does not keep (sa-meta.ts), the SPD side (`PolicyTable` through an
 * `SpdManager`), and closing: after `close()` every call fails with ESHUTDOWN.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "../log/logger.js";
import { kernelError } from "./errors.js";
import { SaMetaTable } from "./sa-meta.js";
import type { PolicyTable, SpdEntry, SpdInstallReport, SpdManager, SpdPolicy } from "./spd.js";

/** The common part of a real-kernel backend. */
export abstract class RealKernelBase extends EventEmitter implements PolicyTable {
  protected readonly log: Logger | undefined;
  protected readonly meta = new SaMetaTable();
  /** Warnings given once per backend (idle lifetimes). */
  protected readonly warned = { idle: false };
  protected abstract readonly spd: SpdManager;
  #closed = false;

  constructor(log: Logger | undefined) {
    super();
    this.log = log;
  }

  /** Throws ESHUTDOWN once the backend is closed. */
  protected checkOpen(): void {
    if (this.#closed) throw kernelError("IKE_ERR_KERNEL_ESHUTDOWN", "kernel backend closed");
  }

  async installPolicies(policies: readonly SpdPolicy[]): Promise<SpdInstallReport> {
    this.checkOpen();
    const report = await this.spd.installPolicies(policies);
    this.log?.debug("pfkey", "policies installed", { installed: report.installed, removed: report.removed, conflicts: report.conflicts.length });
    return report;
  }

  removePolicies(): Promise<number> {
    this.checkOpen();
    return this.spd.removePolicies();
  }

  dumpPolicies(): Promise<SpdEntry[]> {
    this.checkOpen();
    return this.spd.dumpPolicies();
  }

  /** Closes the sockets; outstanding requests fail with ESHUTDOWN. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.closeSockets();
    this.meta.clear();
  }

  protected abstract closeSockets(): void;
}
