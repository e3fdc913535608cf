/**
 * Command line and service properties of in.iked (reference in-iked.md §1, §2):
 *
 * ```
 * in.iked [-d] [-f file] [-p level] [extensions]
 * in.iked -c [-f file] [extensions]
 * ```
 *
 * Service properties arrive as environment variables with the original property names
 * (`admin_privilege`, `config_file`, `debug_level`, `debug_logfile`, `ignore_errors`), which the
 * systemd unit loads from /etc/default/in.iked; a command-line option wins over its property.
 * Extensions (not in the original) are long options: --root, --port, --natt-port, --kernel,
 * --workers, --keys-file, --metrics, --foreground, --log-format, --help.
 */
import os from "node:os";
import path from "node:path";
import { DEBUG_ALL, DebugCategory, parseDebugLevel, parsePrivilege, type PrivilegeLevel } from "../log/categories.js";
import { parseMetricsSetting, type MetricsSetting } from "../config/metrics-address.js";
import { journalStreamIsStderr, type LogFormat } from "../log/journal.js";
import { ikedPaths, type IkedPaths } from "./paths.js";

/** Kernel SADB backends this build has. PF_KEY and XFRM are not implemented yet. */
export type KernelBackend = "memory";

/** Everything the daemon needs to start, resolved from argv and the environment. */
export interface DaemonOptions {
  /** `-c`: check the configuration and exit. */
  readonly check: boolean;
  /** `-d` or `--foreground`: stay attached; log lines to stderr (`-d` also turns every debug category on). */
  readonly foreground: boolean;
  readonly paths: IkedPaths;
  readonly configFile: string;
  readonly presharedFile: string;
  readonly privilege: PrivilegeLevel;
  readonly debugLevel: number;
  readonly debugLogfile?: string;
  readonly ignoreErrors: boolean;
  /** IKE UDP port for the engine (default 500). */
  readonly ikePort: number;
  /** NAT-T UDP port for the engine (default 4500). */
  readonly nattPort: number;
  /** Chosen kernel backend; undefined means the real kernel, which this build lacks. */
  readonly kernel?: KernelBackend;
  /** Crypto worker threads. */
  readonly workers: number;
  /** `--keys-file`: append `icookie,Ka` per established Phase 1 SA (privilege keymat only). */
  readonly keysFile?: string;
  /** `--metrics`: where the metrics endpoint listens (wins over the ike.config keyword). */
  readonly metrics?: MetricsSetting;
  /** How log lines are written: `--log-format`, else `journal` when stderr is the journal. */
  readonly logFormat: LogFormat;
}

/** Parse outcome: options, a request for help, or a usage error. */
export type ParseOptionsResult =
  | { kind: "run"; options: DaemonOptions }
  | { kind: "help" }
  | { kind: "error"; message: string };

/** `--help` text. */
export const IN_IKED_USAGE = `Usage: in.iked [-d] [-f file] [-p level] [options]
       in.iked -c [-f file] [options]

  -c            check the syntax of the configuration (and the pre-shared key file), then exit
  -d            stay in the foreground; debug output (all categories) to the terminal
  -f file       configuration file (default <root>/etc/inet/ike/config)
  -p level      admin privilege: 0|base, 1|modkeys, 2|keymat (default base)

Extensions (not in the original in.iked):
  --root DIR    alternate root for every default path: DIR/etc/inet/ike/config,
                DIR/etc/inet/secret/ike.preshared, DIR/etc/inet/secret/ike.privatekeys,
                DIR/etc/inet/ike/publickeys, DIR/etc/inet/ike/crls,
                the admin socket DIR/var/run/ike_door, the pid file DIR/var/run/in.iked.pid
  --port N      IKE UDP port (default 500; 0 = any free port)
  --natt-port N NAT-T UDP port (default 4500; 0 = any free port)
  --kernel memory
                keep SAs in the in-memory SADB (the only backend so far; required)
  --workers N   crypto worker threads (default: CPUs - 1, at least 1; 0 runs crypto
                on the main thread)
  --keys-file FILE
                append "icookie_hex,Ka_hex" for each established Phase 1 SA to FILE
                (mode 0600), for decrypting packet captures; only with -p keymat
  --metrics [ADDR:]PORT | unix:PATH | off
                serve Prometheus metrics at /metrics (default address 127.0.0.1; a
                non-loopback address only when named); wins over ike.config 'metrics'
  --foreground  stay attached (systemd Type=exec) without turning on debug output;
                log lines go to stderr
  --log-format pretty|json|journal
                log lines as text, pino JSON, or JSON with a syslog priority prefix
                (default: journal when stderr is the systemd journal, else pretty)
  -h, --help    this text

Service properties (environment, as loaded from /etc/default/in.iked):
  admin_privilege, config_file, debug_level, debug_logfile, ignore_errors
`;

function parsePort(text: string | undefined, what: string): number | string {
  if (text === undefined || !/^[0-9]+$/.test(text)) return `${what} needs a port number`;
  const n = Number(text);
  // 0 asks the system for a free port (tests running several daemons side by side).
  return n >= 0 && n <= 65535 ? n : `${what} ${text}: port out of range 0..65535`;
}

/** Parse argv (without node and script) and the service properties in `env`. */
export function parseDaemonOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseOptionsResult {
  let check = false;
  let foreground = false;
  let debugAll = false;
  let file: string | undefined;
  let priv: string | undefined;
  let root = "/";
  let ikePort: number = 500;
  let nattPort: number = 4500;
  let kernel: KernelBackend | undefined;
  let workers = Math.max(1, os.availableParallelism() - 1);
  let keysFile: string | undefined;
  let metrics: MetricsSetting | undefined;
  let logFormat: LogFormat | undefined;
  const err = (message: string): ParseOptionsResult => ({ kind: "error", message });

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    if (a === "--help") return { kind: "help" };
    if (a.startsWith("--")) {
      const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
      const value = inline ?? next();
      switch (name) {
        case "--root":
          if (!value) return err("--root needs a directory");
          root = value;
          break;
        case "--port": {
          const p = parsePort(value, "--port");
          if (typeof p === "string") return err(p);
          ikePort = p;
          break;
        }
        case "--natt-port": {
          const p = parsePort(value, "--natt-port");
          if (typeof p === "string") return err(p);
          nattPort = p;
          break;
        }
        case "--kernel":
          if (value !== "memory") return err(`--kernel ${value ?? ""}: only 'memory' is implemented`);
          kernel = value;
          break;
        case "--workers":
          if (!value || !/^[0-9]+$/.test(value) || Number(value) > 64) return err("--workers needs a number 0..64 (0: crypto on the main thread)");
          workers = Number(value);
          break;
        case "--keys-file":
          if (!value) return err("--keys-file needs a file name");
          keysFile = value;
          break;
        case "--metrics": {
          const m = parseMetricsSetting(value ?? "");
          if (!m.ok) return err(`--metrics ${m.message}`);
          metrics = m.value;
          break;
        }
        case "--foreground":
          // A flag: it takes no value (the word after it is the next argument).
          if (inline !== undefined) return err("--foreground takes no value");
          if (value !== undefined) i--;
          foreground = true;
          break;
        case "--log-format":
          if (value !== "pretty" && value !== "json" && value !== "journal") return err("--log-format needs pretty, json or journal");
          logFormat = value;
          break;
        default:
          return err(`unknown option ${name}`);
      }
      continue;
    }
    if (!a.startsWith("-") || a === "-") return err(`unexpected argument '${a}'`);
    // Short options may be grouped (-dc) and take their value attached or as the next word (getopt).
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      switch (c) {
        case "c": check = true; break;
        case "d": foreground = true; debugAll = true; break;
        case "h": return { kind: "help" };
        case "f":
        case "p": {
          const value = j + 1 < a.length ? a.slice(j + 1) : next();
          if (value === undefined) return err(`-${c} needs a value`);
          if (c === "f") file = value;
          else priv = value;
          j = a.length;
          break;
        }
        default:
          return err(`unknown option -${c}`);
      }
    }
  }

  const paths = ikedPaths(root);
  const privText = priv ?? env.admin_privilege ?? "base";
  const p = parsePrivilege(privText);
  if (!p.ok) return err(`${priv !== undefined ? "-p" : "admin_privilege"}: ${p.message}`);
  if (keysFile !== undefined && p.level < 2) {
    return err("--keys-file writes Phase 1 encryption keys and is allowed only at privilege keymat: add -p keymat (or admin_privilege=keymat)");
  }

  let debugLevel: number = DebugCategory.op;
  if (env.debug_level !== undefined && env.debug_level !== "") {
    const d = parseDebugLevel(env.debug_level);
    if (!d.ok) return err(`debug_level: ${d.message}`);
    debugLevel = d.level;
  }
  if (debugAll) debugLevel = DEBUG_ALL;

  const ignore = (env.ignore_errors ?? "false").toLowerCase();
  if (!["true", "false", ""].includes(ignore)) return err(`ignore_errors: '${env.ignore_errors}' is not true or false`);

  const configFile = file ?? (env.config_file || paths.configFile);
  const logfile = env.debug_logfile || undefined;
  const options: DaemonOptions = {
    check, foreground, paths, configFile, presharedFile: paths.presharedFile,
    privilege: p.level, debugLevel, ignoreErrors: ignore === "true",
    ikePort, nattPort, workers,
    logFormat: logFormat ?? (journalStreamIsStderr(env) ? "journal" : "pretty"),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(logfile ? { debugLogfile: logfile } : {}),
    ...(kernel ? { kernel } : {}),
    ...(keysFile !== undefined ? { keysFile: path.resolve(keysFile) } : {}),
  };
  return { kind: "run", options };
}
