/**
 * Typed wrapper over the interop harness in `shared/interop/` (real strongSwan 5.9.8 and
 * Libreswan 4.10 IKEv1 peers on loopback, dumpcap captures, the tshark check).
 *
 * Every script prints `key=value` output; each call here returns it parsed. Scripts are run
 * with `execFile("bash", [script, ...])` and a timeout, never through a shell string, so an
 * option value cannot be re-interpreted and a lost execute bit on a read-only `shared/` copy
 * does not matter.
 *
 * Resource rules for tests in this repo (other sessions run peers at the same time): use
 * 127.0.1.0/24 and UDP ports 11000-11999, give every strongSwan instance its own
 * `localPort`/`nattPort` (charon binds the wildcard address without SO_REUSEADDR), name
 * instances with {@link uniqueName}, and stop them in `finally`/`after`.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { skipUnless } from "./skip.js";

/** Parsed `key=value` output of a harness script (later keys win). */
export type Kv = Record<string, string>;

/** Exit status and output of one harness script run. */
export interface ScriptResult {
  /** Exit status; `null` when the script was killed (timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** `key=value` pairs found in stdout. */
  kv: Kv;
}

/** A harness script failed (non-zero exit or timeout); carries its output for the test log. */
export class InteropError extends Error {
  readonly code = "IKE_ERR_INTEROP";
  constructor(
    message: string,
    readonly result: ScriptResult,
  ) {
    super(`${message} (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    this.name = "InteropError";
  }
}

/**
 * Repository root: this file lives in test/helpers/ (source) or dist/test/helpers/ (compiled);
 * walk up to the directory holding package.json.
 */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
}

/** The shared directory: `$IKED_SHARED`, else `../shared` next to the repository root. */
export function sharedDir(): string {
  return process.env.IKED_SHARED ?? path.resolve(repoRoot(), "../shared");
}

/** `shared/interop`, where the harness scripts live. */
export function interopScriptsDir(): string {
  return path.join(sharedDir(), "interop");
}

/** Whether the harness can run here; `reason` says why not. */
export type InteropAvailability = { ok: true } | { ok: false; reason: string };

const REQUIRED_SCRIPTS = ["strongswan-peer.sh", "libreswan-peer.sh", "capture.sh", "lib.sh", "ikekeys.py"];

/**
 * Decides whether interop tests can run: the scripts must exist and we must be root (they bind
 * ports, create mount namespaces and may install packages). CI must have both (interopSkip).
 */
export function interopAvailable(): InteropAvailability {
  const dir = interopScriptsDir();
  for (const s of REQUIRED_SCRIPTS) {
    if (!existsSync(path.join(dir, s))) {
      return { ok: false, reason: `interop harness missing: ${path.join(dir, s)} (set IKED_SHARED)` };
    }
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return { ok: false, reason: "interop harness needs root" };
  }
  return { ok: true };
}

/**
 * For `test(name, { skip: interopSkip() }, fn)`: `false` when available, else the reason; under
 * `CI=true` it throws instead, failing the file with the reason (helpers/skip.ts).
 */
export function interopSkip(): string | false {
  const a = interopAvailable();
  return a.ok ? false : skipUnless(false, a.reason);
}

/**
 * Parses harness output: `key=value` tokens separated by newlines or spaces (`start` prints
 * one pair per line, `stop` and `status` several on one line). Tokens without `=` (the `sa`
 * and `add_sa` words of `keys`) are skipped; the harness prints no values with spaces.
 */
export function parseKv(text: string): Kv {
  const kv: Kv = {};
  for (const line of text.split("\n")) {
    for (const tok of line.trim().split(/\s+/)) {
      const eq = tok.indexOf("=");
      if (eq > 0) kv[tok.slice(0, eq)] = tok.slice(eq + 1);
    }
  }
  return kv;
}

let nameCounter = 0;

/**
 * A harness instance name unique to this process and call: `fx-<tag>-<pid36>-<n>`. Harness
 * names allow `[A-Za-z0-9_.-]`, up to 80 characters.
 */
export function uniqueName(tag: string): string {
  const safe = tag.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 40);
  nameCounter += 1;
  return `fx-${safe}-${process.pid.toString(36)}-${nameCounter}`;
}

/** Default timeout of one script run: starts can install packages or build the shim. */
const DEFAULT_TIMEOUT_MS = 90_000;

/**
 * Runs one harness script with `bash` and resolves with its exit status and output; never
 * rejects for a non-zero exit (callers decide what a failure means).
 */
export function runScript(script: string, args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ScriptResult> {
  const file = path.join(interopScriptsDir(), script);
  return new Promise((resolve) => {
    execFile(
      "bash",
      [file, ...args],
      { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, IKEV1_INTEROP_QUIET: "1" } },
      (err, stdout, stderr) => {
        let code: number | null = 0;
        if (err) {
          const c = (err as NodeJS.ErrnoException & { code?: unknown }).code;
          code = typeof c === "number" ? c : null;
        }
        resolve({ code, stdout, stderr, kv: parseKv(stdout) });
      },
    );
  });
}

async function runOk(script: string, args: readonly string[], what: string, timeoutMs?: number): Promise<ScriptResult> {
  const r = await runScript(script, args, timeoutMs);
  if (r.code !== 0) throw new InteropError(`${script} ${what}`, r);
  return r;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Turns `{ localPort: 11500, esp: "aes128-sha1" }` into `["--local-port", "11500", "--esp", "aes128-sha1"]`. */
export function optionsToArgs(opts: object): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined || v === null) continue;
    args.push(`--${kebab(k)}`, String(v));
  }
  return args;
}

/** Options shared by both peers' `start` (see each script's `--help`). */
export interface PeerOptionsBase {
  name: string;
  role: "initiator" | "responder";
  local: string;
  remote: string;
  localPort?: number;
  remotePort?: number;
  mode?: "main" | "aggressive";
  auth?: "psk" | "rsa" | "ecdsa";
  psk?: string;
  /** Certificate, private key and CA (PEM) for rsa/ecdsa; default: issued by make-certs.sh. */
  cert?: string;
  key?: string;
  ca?: string;
  cipher?: string;
  hash?: string;
  dh?: string | number;
  ike?: string;
  esp?: string;
  ah?: string;
  pfs?: string | number;
  espMode?: "tunnel" | "transport";
  localId?: string;
  remoteId?: string;
  localTs?: string;
  remoteTs?: string;
  ikeLifetime?: number;
  childLifetime?: number;
  dpd?: number;
  fragmentation?: string;
  encap?: string;
  sendVendorId?: "yes" | "no";
  autoInitiate?: "yes" | "no";
  logLevel?: number;
  /** start: wait this many seconds until established (the script exits 1 if not). */
  wait?: number;
  /** Run the peer inside this network namespace. */
  netns?: string;
}

/** strongSwan-only `start` options. */
export interface StrongSwanOptions extends PeerOptionsBase {
  /** charon.port_nat_t; defaults to localPort+4000 in the script, so set it inside 11000-11999. */
  nattPort?: number;
  ipcomp?: "yes" | "no";
  unique?: "no" | "never" | "keep" | "replace";
  sendCert?: string;
  sendCertreq?: "yes" | "no";
  childLifebytes?: number;
  retransmitTries?: number;
  retransmitTimeout?: number;
  charonExtra?: string;
}

/** Libreswan-only `start` options. */
export interface LibreswanOptions extends PeerOptionsBase {
  initialContact?: "yes" | "no";
  natMethod?: "rfc" | "drafts" | "both" | "none";
  impair?: string;
  extra?: string;
}

/** Result of `status`: established when the script exits 0. */
export interface PeerStatus {
  established: boolean;
  /** 0 established, 1 not (yet), 2 daemon not running, 3 no such instance. */
  code: number | null;
  kv: Kv;
}

/** One IKE SA's keys as `ikekeys.py` prints them (hex strings, `-` when not logged). */
export type IkeKeys = Kv;

/** Keys of a strongSwan peer: IKE SAs, Quick Mode keys, and the SAs it "installed". */
export interface PeerKeys {
  ike: IkeKeys[];
  child: Kv[];
  sa: Kv[];
}

/** Parses `strongswan-peer.sh keys` output (`ike_sa=…`, `child …`, `sa add_sa …` lines). */
export function parseKeys(text: string): PeerKeys {
  const out: PeerKeys = { ike: [], child: [], sa: [] };
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t.startsWith("ike_sa=")) out.ike.push(parseKv(t));
    else if (t.startsWith("child ")) out.child.push(parseKv(t));
    else if (t.startsWith("sa ")) {
      const kv = parseKv(t);
      kv.op = t.split(/\s+/)[1] ?? "";
      out.sa.push(kv);
    }
  }
  return out;
}

type Impl = "strongswan" | "libreswan";
const SCRIPT: Record<Impl, string> = { strongswan: "strongswan-peer.sh", libreswan: "libreswan-peer.sh" };

/** A running harness peer. Always `stop()` it (in `finally` or `after`). */
export class InteropPeer {
  private constructor(
    readonly impl: Impl,
    readonly name: string,
    /** `start` output: pid, dir, log, xfrmlog, conf, ike_port, … */
    readonly info: Kv,
  ) {}

  /** Starts (or replaces) a strongSwan peer. */
  static async startStrongSwan(opts: StrongSwanOptions, timeoutMs?: number): Promise<InteropPeer> {
    const r = await runOk(SCRIPT.strongswan, ["start", ...optionsToArgs(opts)], `start ${opts.name}`, timeoutMs);
    return new InteropPeer("strongswan", opts.name, r.kv);
  }

  /** Starts (or replaces) a Libreswan peer. */
  static async startLibreswan(opts: LibreswanOptions, timeoutMs?: number): Promise<InteropPeer> {
    const r = await runOk(SCRIPT.libreswan, ["start", ...optionsToArgs(opts)], `start ${opts.name}`, timeoutMs);
    return new InteropPeer("libreswan", opts.name, r.kv);
  }

  /** Path of the daemon's log (charon.log / pluto.log). */
  get log(): string {
    return this.info.log ?? "";
  }

  /** `status [--wait S] [--ike-only]`; resolves with `established` instead of failing. */
  async status(opts: { wait?: number; ikeOnly?: boolean } = {}): Promise<PeerStatus> {
    const args = ["status", "--name", this.name];
    if (opts.wait !== undefined) args.push("--wait", String(opts.wait));
    if (opts.ikeOnly) args.push("--ike-only");
    const r = await runScript(SCRIPT[this.impl], args, ((opts.wait ?? 0) + 30) * 1000);
    return { established: r.code === 0, code: r.code, kv: r.kv };
  }

  /** `info`: pid/dir/log/... of the instance. */
  async refreshInfo(): Promise<Kv> {
    return (await runOk(SCRIPT[this.impl], ["info", "--name", this.name], "info")).kv;
  }

  /** strongSwan only: IKE keys from the level-4 log and the SAs from xfrm.log. */
  async keys(): Promise<PeerKeys> {
    if (this.impl !== "strongswan") throw new Error("keys: only strongSwan logs its keys in a parseable form");
    const r = await runOk(SCRIPT.strongswan, ["keys", "--name", this.name], "keys");
    return parseKeys(r.stdout);
  }

  /** `stop`: graceful (DELETEs sent) unless `kill`; `purge` also removes the state directory. */
  async stop(opts: { kill?: boolean; purge?: boolean } = {}): Promise<Kv> {
    const args = ["stop", "--name", this.name];
    if (opts.kill) args.push("--kill");
    if (opts.purge) args.push("--purge");
    return (await runOk(SCRIPT[this.impl], args, `stop ${this.name}`, 60_000)).kv;
  }
}

/** Options of `capture.sh start`. */
export interface CaptureOptions {
  name: string;
  /** Comma separated ports/ranges; use "11000-11999" in this repo. */
  ports: string;
  iface?: string;
  netns?: string;
  out?: string;
}

/** Options of `capture.sh check` / `summary`. */
export interface CheckOptions {
  keysFromLog?: string[];
  keys?: string;
  ikePorts?: string;
  nattPorts?: string;
  strict?: boolean;
  expect?: string;
  quiet?: boolean;
}

/** Result of `capture.sh check`: `ok` when it exited 0; `result` is its `result:` line. */
export interface CheckResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  result: Kv;
}

/** A running dumpcap capture. Always `stop()` it. */
export class Capture {
  private constructor(
    readonly name: string,
    readonly pcap: string,
    readonly info: Kv,
  ) {}

  /** Starts dumpcap and resolves once the pcap file exists. */
  static async start(opts: CaptureOptions): Promise<Capture> {
    const r = await runOk("capture.sh", ["start", ...optionsToArgs(opts)], `start ${opts.name}`, 60_000);
    return new Capture(opts.name, r.kv.pcap ?? "", r.kv);
  }

  /** Stops dumpcap after letting in-flight packets reach the file. */
  async stop(): Promise<Kv> {
    return (await runOk("capture.sh", ["stop", "--name", this.name], `stop ${this.name}`, 30_000)).kv;
  }
}

/** Runs `capture.sh check` (or `summary`) on a pcap; resolves with its verdict. */
export async function checkPcap(pcap: string, opts: CheckOptions = {}, mode: "check" | "summary" = "check"): Promise<CheckResult> {
  const args: string[] = [mode, pcap];
  for (const log of opts.keysFromLog ?? []) args.push("--keys-from-log", log);
  if (opts.keys) args.push("--keys", opts.keys);
  if (opts.ikePorts) args.push("--ike-ports", opts.ikePorts);
  if (opts.nattPorts) args.push("--natt-ports", opts.nattPorts);
  if (opts.expect) args.push("--expect", opts.expect);
  if (opts.strict) args.push("--strict");
  if (opts.quiet) args.push("-q");
  const r = await runScript("capture.sh", args, 120_000);
  const resultLine = r.stdout.split("\n").find((l) => l.startsWith("result:")) ?? "";
  return { ok: r.code === 0, code: r.code, stdout: r.stdout, stderr: r.stderr, result: parseKv(resultLine) };
}
