/**
 * The daemon's logger: pino underneath, one `LogHub` per process holding the live debug level,
 * the privilege level and the destination; `Logger`s per subsystem (STYLE §7).
 *
 * Levels: error, warn, info (audit: SA up/down, auth results, reloads), debug and trace. debug and
 * trace lines belong to a debug category (DebugCategory) and are emitted only when that bit is set
 * in the current debug level (`-d`, `debug_level`, `ikeadm set debug`); the check happens before
 * any formatting, so disabled lines cost a bit test.
 */
import fs from "node:fs";
import { pino, type Logger as PinoLogger } from "pino";
import { DebugCategory, type DebugCategoryName, type PrivilegeLevel } from "./categories.js";
import { logProblem } from "./channels.js";
import { journalLine, type LogFormat } from "./journal.js";
import { prettyDirect, prettyLine } from "./pretty.js";
import { Secret, revealSecret, scrubFields, scrubValue } from "./secret.js";

/** Subsystems of STYLE §7, plus `dmn` for the daemon's own lifecycle. */
export type Subsystem = "net" | "enc" | "ike" | "cfg" | "knl" | "wrk" | "ctl" | "dmn";

/** Where log lines go: the terminal (stderr) or a file opened for append, mode 0600. */
export type LogDestination = { kind: "stderr" } | { kind: "file"; path: string };

/** Options for a LogHub. */
export interface LogHubOptions {
  debugLevel: number;
  privilege: PrivilegeLevel;
  destination: LogDestination;
  /** Render lines for people (default), keep pino's JSON, or JSON for the systemd journal (journal.ts). */
  format?: LogFormat;
}

/** Key-value fields of a log line. */
export type Fields = Record<string, unknown>;

/** Owns the pino instance and the live settings every Logger consults. */
export class LogHub {
  #debugLevel: number;
  #privilege: PrivilegeLevel;
  #destination: LogDestination;
  #fd: number | undefined;
  /**
   * Whether stderr is a regular file (the detached daemon's log, detach.ts): its lines are then
   * written to fd 2 with one write(2) each, as process.stderr's SyncWriteStream would, without
   * the stream machinery around it (most of a line's cost at the default level). Same bytes,
   * same order with anything else written to process.stderr, which is synchronous for files.
   */
  readonly #stderrFile: boolean;
  readonly #format: LogFormat;
  readonly #pino: PinoLogger;

  constructor(opts: LogHubOptions) {
    this.#debugLevel = opts.debugLevel >>> 0;
    this.#privilege = opts.privilege;
    this.#format = opts.format ?? "pretty";
    this.#stderrFile = stderrIsFile();
    this.#destination = { kind: "stderr" };
    if (opts.destination.kind === "file") this.setDestination(opts.destination);
    const sink = { write: (line: string) => this.#write(line) };
    this.#pino = pino(
      { level: "trace", base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "msg" },
      sink,
    );
  }

  /** Current debug category bits. */
  get debugLevel(): number {
    return this.#debugLevel;
  }
  /** Replace the debug category bits; returns the previous value. */
  setDebugLevel(level: number): number {
    const old = this.#debugLevel;
    this.#debugLevel = level >>> 0;
    return old;
  }
  /** Privilege level that decides whether `Logger.secret()` reveals bytes. */
  get privilege(): PrivilegeLevel {
    return this.#privilege;
  }
  /** Set by the daemon when `ikeadm set priv` lowers the level. */
  setPrivilege(level: PrivilegeLevel): void {
    this.#privilege = level;
  }
  /** Current destination. */
  get destination(): LogDestination {
    return this.#destination;
  }

  /**
   * Switch destination. A file is opened for append with mode 0600 before the old one is closed,
   * so a bad path leaves logging where it was (the error is thrown to the caller).
   *
   * The path comes from the admin socket too, so it is opened defensively: O_NOFOLLOW (a planted
   * symbolic link cannot redirect debug output into another file), O_NONBLOCK (a FIFO without a
   * reader fails with ENXIO instead of stalling the event loop for good), and anything but a
   * regular file is refused (EINVAL) after the open.
   */
  setDestination(dest: LogDestination): void {
    let fd: number | undefined;
    if (dest.kind === "file") fd = openLogFile(dest.path);
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = fd;
    this.#destination = dest;
  }

  /** A logger for one subsystem. */
  logger(subsystem: Subsystem): Logger {
    return new Logger(this, this.#pino.child({ sub: subsystem }), subsystem);
  }

  /** Close the log file, if any. */
  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    this.#destination = { kind: "stderr" };
  }

  /**
   * Write a line of a logger without bound fields straight from its fields, when the format is
   * "pretty" and prettyDirect can render them; false when the caller must go through pino.
   * `raw` fields are scrubbed value by value on the way (the line `scrubFields(fields)` gives,
   * without that copy); the others are scrubbed already.
   */
  writeDirect(level: number, sub: Subsystem, msg: string, fields: Fields, raw = false): boolean {
    if (this.#format !== "pretty") return false;
    const line = prettyDirect(level, sub, msg, fields, raw ? scrubValue : undefined);
    if (line === undefined) return false;
    this.#output(line);
    return true;
  }

  #write(line: string): void {
    this.#output(this.#format === "pretty" ? prettyLine(line) : this.#format === "journal" && this.#fd === undefined ? journalLine(line) : line);
  }

  #output(text: string): void {
    try {
      if (this.#fd !== undefined) fs.writeSync(this.#fd, text);
      else if (this.#stderrFile) fs.writeSync(2, text);
      else process.stderr.write(text);
    } catch {
      // A full disk or closed terminal must not take the daemon down; the line is lost.
    }
  }
}

function stderrIsFile(): boolean {
  try {
    return fs.fstatSync(2).isFile();
  } catch {
    // fd 2 closed: process.stderr handles that as it always has.
    return false;
  }
}

function openLogFile(file: string): number {
  const c = fs.constants;
  const fd = fs.openSync(file, c.O_WRONLY | c.O_APPEND | c.O_CREAT | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY, 0o600);
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw Object.assign(new Error(`${file}: not a regular file`), { code: "EINVAL" });
  }
  return fd;
}

/** Logger of one subsystem; optionally bound to extra fields (an SA tag, a request id). */
export class Logger {
  readonly #hub: LogHub;
  readonly #pino: PinoLogger;
  readonly subsystem: Subsystem;
  /** Whether pino holds bound fields for this logger (Logger.with): its lines always go through pino. */
  readonly #bound: boolean;

  /** Created by LogHub.logger() and Logger.with(). */
  constructor(hub: LogHub, p: PinoLogger, subsystem: Subsystem, bound = false) {
    this.#hub = hub;
    this.#pino = p;
    this.subsystem = subsystem;
    this.#bound = bound;
  }

  /** A logger whose lines also carry `fields` (scrubbed like any field). */
  with(fields: Fields): Logger {
    return new Logger(this.#hub, this.#pino.child(scrubFields(fields)), this.subsystem, true);
  }

  /**
   * Whether the hub wrote the line itself (pretty format, scalar fields, nothing bound); `raw`:
   * the caller's fields, not yet scrubbed.
   */
  #direct(level: number, msg: string, fields: Fields, raw = false): boolean {
    return !this.#bound && this.#hub.writeDirect(level, this.subsystem, msg, fields, raw);
  }

  /** Whether debug lines of `category` are currently emitted. */
  enabled(category: DebugCategoryName): boolean {
    return (this.#hub.debugLevel & DebugCategory[category]) !== 0;
  }

  error(msg: string, fields: Fields = {}): void {
    if (!this.#direct(50, msg, fields, true)) this.#pino.error(scrubFields(fields), msg);
    logProblem.publish({ level: "error", subsystem: this.subsystem, msg });
  }
  warn(msg: string, fields: Fields = {}): void {
    if (!this.#direct(40, msg, fields, true)) this.#pino.warn(scrubFields(fields), msg);
    logProblem.publish({ level: "warn", subsystem: this.subsystem, msg });
  }
  /** Audit-level events: always logged. */
  info(msg: string, fields: Fields = {}): void {
    if (!this.#direct(30, msg, fields, true)) this.#pino.info(scrubFields(fields), msg);
  }
  /** Control-flow detail of one category. */
  debug(category: DebugCategoryName, msg: string, fields: Fields = {}): void {
    if (!this.enabled(category)) return;
    const f = { cat: category, ...scrubFields(fields) };
    if (!this.#direct(20, msg, f)) this.#pino.debug(f, msg);
  }
  /** Payload-level detail of one category. */
  trace(category: DebugCategoryName, msg: string, fields: Fields = {}): void {
    if (!this.enabled(category)) return;
    const f = { cat: category, ...scrubFields(fields) };
    if (!this.#direct(10, msg, f)) this.#pino.trace(f, msg);
  }

  /**
   * The only way secret bytes reach a log: shown as hex when the daemon runs at privilege
   * level 2 (keymat) and `category` is enabled; below level 2 each secret prints as its length.
   */
  secret(category: DebugCategoryName, msg: string, secrets: Record<string, Secret>, fields: Fields = {}): void {
    if (!this.enabled(category)) return;
    const shown: Fields = {};
    const reveal = this.#hub.privilege >= 2;
    for (const [name, s] of Object.entries(secrets)) {
      shown[name] = reveal ? revealSecret(s).toString("hex") : `[redacted ${s.length} bytes, privilege ${this.#hub.privilege}]`;
    }
    const f = { cat: category, ...scrubFields(fields), ...shown };
    if (!this.#direct(20, msg, f)) this.#pino.debug(f, msg);
  }
}
