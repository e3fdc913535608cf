/**
 * What the daemon does with an exception nothing else caught (issue 11 item 9).
 *
 * The policy:
 * - An exception inside one exchange ends that exchange, with a log line, never the daemon. That
 *   is the engine's SA boundary (it catches, logs, tears the exchange down); it asks
 *   `isInvariantFailure()` first and hands such errors to `fatal()` instead of swallowing them.
 * - An exception that escapes every boundary (a throw in a timer, a promise nobody awaited)
 *   reaches `uncaughtException`/`unhandledRejection` here. It is logged and counted and the
 *   daemon carries on: the SA it came from is stuck at worst, and its own timers reap it, while
 *   stopping would tear down every SA of every peer. Many of them in a short time
 *   (`maxEscapes` within `windowMs`) mean something systemic is broken: clean stop.
 * - An `InvariantError` or a failed `assert` anywhere means a state the daemon relies on can no
 *   longer be trusted: clean stop at once.
 * - A clean stop runs the daemon's own stop (SAs deleted with Delete payloads, kernel SAs and
 *   policies removed, pool and sockets closed, pid file removed) within `stopTimeoutMs`, then
 *   exits with `exitCode` (70, EX_SOFTWARE: not one of the codes the systemd unit's
 *   RestartPreventExitStatus lists, so Restart=on-failure restarts the daemon). If the stop
 *   fails or hangs, the process exits with the same code anyway. Further errors while stopping
 *   are logged only.
 *
 * Nothing here prints error text to a peer or an admin reply; log lines carry the error's name,
 * code, message and stack, which never hold key material (STYLE §5).
 */
import { AssertionError } from "node:assert";
import diagnostics from "node:diagnostics_channel";
import { refClock, type TimerHandle } from "../clock.js";
import { InvariantError } from "../errors.js";

/** `iked:daemon:crash`: `{ origin, decision, code, escapes }` for every error the policy sees. */
export const daemonCrash = diagnostics.channel("iked:daemon:crash");

/** Where an error reached the policy from. */
export type CrashOrigin = "uncaughtException" | "unhandledRejection" | "fatal";

/** What the policy decided: carry on, or stop cleanly and exit non-zero. */
export type CrashDecision = "continue" | "stop";

/** The log methods the policy uses (a `Logger` fits). */
export interface CrashLog {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Construction options; everything but `log` and `stop` has a default. */
export interface CrashPolicyOptions {
  readonly log: CrashLog;
  /** The daemon's clean stop: SAs deleted, kernel state removed, sockets and pid file gone. */
  readonly stop: (reason: string) => Promise<void>;
  /** Ends the process (default `process.exit`). */
  readonly exit?: (code: number) => void;
  /** Exit status after a clean stop (default 70, EX_SOFTWARE). */
  readonly exitCode?: number;
  /** Escaped errors tolerated within `windowMs` before the policy stops (default 5 in 60 s). */
  readonly maxEscapes?: number;
  readonly windowMs?: number;
  /** Longest wait for `stop` before exiting anyway (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Milliseconds now (tests move time by hand). */
  readonly now?: () => number;
}

/** Counters since the policy was made. */
export interface CrashStats {
  readonly uncaughtExceptions: number;
  readonly unhandledRejections: number;
  readonly invariantFailures: number;
  /** Set once a clean stop has begun. */
  readonly stopping: boolean;
}

/** True for errors that mean the daemon's state can no longer be trusted. */
export function isInvariantFailure(err: unknown): boolean {
  return err instanceof InvariantError || err instanceof AssertionError;
}

function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { err: typeof err === "string" ? err : `non-Error value (${typeof err})` };
  const code = (err as { code?: unknown }).code;
  return { err: err.message, name: err.name, ...(typeof code === "string" ? { code } : {}), stack: err.stack };
}

/** The policy; `install()` puts its handlers on the process. */
export class CrashPolicy {
  readonly #log: CrashLog;
  readonly #stop: (reason: string) => Promise<void>;
  readonly #exit: (code: number) => void;
  readonly #exitCode: number;
  readonly #maxEscapes: number;
  readonly #windowMs: number;
  readonly #stopTimeoutMs: number;
  readonly #now: () => number;
  /** Times of recent escaped errors, oldest first (at most `maxEscapes + 1` kept). */
  readonly #recent: number[] = [];
  #uncaught = 0;
  #rejections = 0;
  #invariants = 0;
  #stopping: Promise<void> | undefined;
  #installed: { proc: NodeJS.Process; onException: (e: unknown) => void; onRejection: (e: unknown) => void } | undefined;

  constructor(opts: CrashPolicyOptions) {
    this.#log = opts.log;
    this.#stop = opts.stop;
    this.#exit = opts.exit ?? ((code) => process.exit(code));
    this.#exitCode = opts.exitCode ?? 70;
    this.#maxEscapes = opts.maxEscapes ?? 5;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Counters, for `ikeadm get stats` and tests. */
  stats(): CrashStats {
    return { uncaughtExceptions: this.#uncaught, unhandledRejections: this.#rejections, invariantFailures: this.#invariants, stopping: this.#stopping !== undefined };
  }

  /** Handles an error that reached the process level; returns what was decided. */
  handle(err: unknown, origin: CrashOrigin): CrashDecision {
    if (origin === "uncaughtException") this.#uncaught++;
    else if (origin === "unhandledRejection") this.#rejections++;
    const invariant = isInvariantFailure(err) || origin === "fatal";
    if (invariant) this.#invariants++;
    const escapes = this.#noteEscape(invariant);
    const decision: CrashDecision = this.#stopping !== undefined || invariant || escapes > this.#maxEscapes ? "stop" : "continue";
    const code = (err as { code?: unknown } | null)?.code;
    daemonCrash.publish({ origin, decision, code: typeof code === "string" ? code : undefined, escapes });
    if (this.#stopping !== undefined) {
      this.#log.error("error while stopping after a fatal error", { origin, ...describeError(err) });
      return "stop";
    }
    if (decision === "continue") {
      this.#log.error("error escaped every SA boundary; the daemon carries on", { origin, escapes, window: `${this.#windowMs / 1000} s`, ...describeError(err) });
      return "continue";
    }
    const reason = invariant
      ? "an invariant no longer holds"
      : `${escapes} errors escaped within ${this.#windowMs / 1000} s (limit ${this.#maxEscapes})`;
    this.#log.error(`stopping cleanly: ${reason}`, { origin, exitCode: this.#exitCode, ...describeError(err) });
    void this.#cleanStop(reason);
    return "stop";
  }

  /** For SA boundaries: an error `isInvariantFailure` says they must not swallow. */
  fatal(err: unknown): void {
    this.handle(err, "fatal");
  }

  /** Puts the handlers on `proc` (the daemon's process); idempotent. */
  install(proc: NodeJS.Process = process): void {
    if (this.#installed !== undefined) return;
    const onException = (e: unknown): void => void this.handle(e, "uncaughtException");
    const onRejection = (e: unknown): void => void this.handle(e, "unhandledRejection");
    proc.on("uncaughtException", onException);
    proc.on("unhandledRejection", onRejection);
    this.#installed = { proc, onException, onRejection };
  }

  /** Takes the handlers off again (tests; a daemon stopping normally). */
  uninstall(): void {
    const i = this.#installed;
    if (i === undefined) return;
    i.proc.off("uncaughtException", i.onException);
    i.proc.off("unhandledRejection", i.onRejection);
    this.#installed = undefined;
  }

  /** Records one escape (invariant failures do not use up the budget) and returns the count in the window. */
  #noteEscape(invariant: boolean): number {
    const now = this.#now();
    while (this.#recent.length > 0 && now - this.#recent[0]! > this.#windowMs) this.#recent.shift();
    if (!invariant) {
      this.#recent.push(now);
      if (this.#recent.length > this.#maxEscapes + 1) this.#recent.shift();
    }
    return this.#recent.length;
  }

  #cleanStop(reason: string): Promise<void> {
    // Any way the daemon's process ends from here on reports failure.
    if (this.#installed !== undefined) this.#installed.proc.exitCode = this.#exitCode;
    this.#stopping ??= (async () => {
      let timer: TimerHandle | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = refClock.setTimer(() => resolve("timeout"), this.#stopTimeoutMs);
      });
      try {
        const r = await Promise.race([this.#stop(reason).then(() => "stopped" as const), deadline]);
        if (r === "timeout") this.#log.error("clean stop did not finish in time; exiting anyway", { timeoutMs: this.#stopTimeoutMs });
      } catch (err) {
        this.#log.error("clean stop failed; exiting anyway", describeError(err));
      } finally {
        if (timer !== undefined) refClock.clearTimer(timer);
        this.#exit(this.#exitCode);
      }
    })();
    return this.#stopping;
  }
}
