/**
 * The daemon's signals, from the first step of start-up to exit (in.iked(8), SIGNALS).
 *
 * Installed before the pid file, an IKE socket or the admin socket exists, so nobody who can see
 * the daemon can reach Node's default action (which ends the process without cleanup):
 * - SIGHUP during start-up is remembered and reloads once start-up has finished. SIGHUPs during a
 *   reload coalesce into one more reload after it, so the last file written is the one that runs.
 * - SIGTERM or SIGINT during start-up makes start-up stop at its next stage boundary and take
 *   down what it built (`checkpoint()` throws {@link StartupInterrupted}). Once running, the
 *   daemon stops: an unfinished reload completes first, queued reloads are dropped.
 * - During the stop, further stop signals change nothing.
 */
import { daemonStage } from "../log/channels.js";
import type { Logger } from "../log/logger.js";

/** Start-up's stage boundaries, in order. */
export const STARTUP_STAGES = ["signals", "pid file", "configuration", "kernel", "engine", "metrics", "admin socket"] as const;
export type StartupStage = (typeof STARTUP_STAGES)[number];

/** Thrown by `checkpoint()` when a stop signal arrived during start-up. */
export class StartupInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal} during start-up`);
  }
}

/** What the signals drive once the daemon runs. */
export interface SignalTarget {
  /** One reload (SIGHUP); never rejects. */
  reload(): Promise<unknown>;
  /** Stop and exit (SIGTERM, SIGINT). */
  stop(signal: NodeJS.Signals): void;
}

type Phase = "starting" | "running" | "stopping";

/** The process's SIGHUP, SIGTERM and SIGINT handlers for one daemon. */
export class DaemonSignals {
  #phase: Phase = "starting";
  #stopSignal: NodeJS.Signals | undefined;
  #reloadQueued = false;
  #reloading: Promise<void> | undefined;
  #target: SignalTarget | undefined;
  readonly #handlers: [NodeJS.Signals, () => void][] = [];

  private constructor(readonly log: Logger) {}

  /** Install the handlers; start-up begins. */
  static install(log: Logger): DaemonSignals {
    const s = new DaemonSignals(log);
    const on = (sig: NodeJS.Signals, h: () => void) => {
      process.on(sig, h);
      s.#handlers.push([sig, h]);
    };
    on("SIGHUP", () => s.#hangup());
    on("SIGTERM", () => s.#terminate("SIGTERM"));
    on("SIGINT", () => s.#terminate("SIGINT"));
    return s;
  }

  /**
   * Start-up has finished `stage` (published on `iked:daemon:stage`); throws StartupInterrupted
   * once a stop signal has arrived.
   */
  checkpoint(stage: StartupStage): void {
    daemonStage.publish({ stage });
    if (this.#stopSignal !== undefined) throw new StartupInterrupted(this.#stopSignal);
  }

  /** Start-up has finished: run the reload a SIGHUP queued meanwhile. */
  running(target: SignalTarget): void {
    if (this.#phase !== "starting") return;
    this.#phase = "running";
    this.#target = target;
    if (this.#reloadQueued) {
      this.log.info("SIGHUP arrived during start-up: reloading now");
      this.#reload();
    }
  }

  /**
   * The daemon stops (by signal or by a direct call): no more reloads; resolves once a reload in
   * progress has finished, so the stop never tears down what a reload is swapping in.
   */
  async stopping(): Promise<void> {
    this.#phase = "stopping";
    this.#reloadQueued = false;
    await this.#reloading;
  }

  /** Remove the handlers (after the stop, or when start-up failed). */
  uninstall(): void {
    for (const [sig, h] of this.#handlers.splice(0)) process.off(sig, h);
  }

  #hangup(): void {
    switch (this.#phase) {
      case "starting":
        if (!this.#reloadQueued) this.log.info("SIGHUP during start-up: the reload waits until start-up has finished");
        this.#reloadQueued = true;
        return;
      case "running":
        if (this.#reloading === undefined) return this.#reload();
        if (!this.#reloadQueued) this.log.info("SIGHUP during a reload: one more reload follows it");
        this.#reloadQueued = true;
        return;
      case "stopping":
        this.log.info("SIGHUP ignored: the daemon is stopping");
        return;
    }
  }

  #reload(): void {
    this.#reloadQueued = false;
    const target = this.#target!;
    this.#reloading = target.reload().then(() => {
      this.#reloading = undefined;
      if (this.#reloadQueued && this.#phase === "running") this.#reload();
    });
  }

  #terminate(sig: NodeJS.Signals): void {
    switch (this.#phase) {
      case "starting":
        if (this.#stopSignal === undefined) this.log.info(`${sig} during start-up: stopping at the next start-up stage`);
        this.#stopSignal ??= sig;
        return;
      case "running":
        this.#phase = "stopping";
        this.#target!.stop(sig);
        return;
      case "stopping":
        return;
    }
  }
}
