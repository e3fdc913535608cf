/**
 * ikeload's command line, parsed into {@link LoadOptions}. Operator input: every problem comes back
 * as a {@link LoadOptionError} value naming the option, never as a throw.
 *
 * Safety bounds live here: a run is always bounded in count or time (default `--count 100`), the
 * drain after the last start is bounded, and a target outside 127.0.0.0/8 and ::1 needs
 * `--allow-remote` (a load test against someone else's gateway is an attack).
 */
import net from "node:net";
import { parseArgs } from "node:util";
import type { RetransmitPolicy } from "../ike/retransmit.js";
import type { Endpoint } from "../ike/transport.js";

/** How negotiations are started. */
export type LoadPacing =
  /** Open loop: start `rate` negotiations per second regardless of answers. */
  | { readonly kind: "rate"; readonly perSecond: number }
  /** Closed loop: keep `concurrency` negotiations in flight, start the next as one ends. */
  | { readonly kind: "closed"; readonly concurrency: number };

/** Where the pre-shared key comes from (`none` with certificates). */
export type PskSource = { readonly kind: "literal"; readonly secret: string } | { readonly kind: "file"; readonly path: string } | { readonly kind: "none" };

/** How Phase 1 authenticates: a pre-shared key, or RSA signatures with a certificate (src/load/certificates.ts). */
export type LoadAuth =
  | { readonly kind: "psk" }
  | { readonly kind: "rsa"; readonly cert: string; readonly key: string; readonly ca: string; readonly idType: string; readonly remoteId: string };

/** A complete load-run description. */
export interface LoadOptions {
  readonly target: Endpoint;
  /** First source address; the others follow it numerically. */
  readonly sourceStart: string;
  readonly sources: number;
  readonly sourcePort: number;
  readonly pacing: LoadPacing;
  /** Stop starting negotiations after this many (undefined: only `durationMs` bounds the run). */
  readonly count: number | undefined;
  /** Stop starting negotiations after this long (undefined: only `count` bounds the run). */
  readonly durationMs: number | undefined;
  readonly mode: "main" | "aggressive";
  readonly auth: LoadAuth;
  readonly psk: PskSource;
  /** ike.config `encr_alg` text, e.g. `aes(128..128)` or `3des`. */
  readonly encr: string;
  readonly hash: string;
  readonly dhGroup: number;
  readonly p1LifetimeSecs: number;
  /** Run Quick Mode after each Phase 1 (false: `--phase1-only`). */
  readonly phase2: boolean;
  /** ipsecinit.conf action body of the Phase 2 proposal, e.g. `encr_algs aes(128..128) encr_auth_algs sha1`. */
  readonly ipsecAction: string;
  /** Quick Mode PFS group, 0 for none. */
  readonly pfsGroup: number;
  /** Phase 2 lifetime proposed, seconds (undefined: the engine's default). */
  readonly p2LifetimeSecs: number | undefined;
  /** Crypto pool threads of the load generator (0: inline). */
  readonly workers: number;
  readonly retransmit: RetransmitPolicy;
  /** Phase 1 expire timer, ms. */
  readonly expireMs: number;
  /** Send an ISAKMP Delete for each established SA before dropping it. */
  readonly sendDelete: boolean;
  /**
   * `--hold`: no Deletes, and each source's first established ISAKMP SA stays up here until the run
   * ends, so later negotiations carry no INITIAL-CONTACT and the target keeps every pair (memory tests).
   */
  readonly hold: boolean;
  /** Reuse one DH key pair per group across negotiations (default); `--fresh-dh`: a new pair each time. */
  readonly reuseDh: boolean;
  readonly json: boolean;
  readonly progress: boolean;
  readonly allowRemote: boolean;
}

/** A command-line problem. */
export interface LoadOptionError {
  readonly code: "IKE_ERR_LOAD_USAGE";
  readonly message: string;
}

/** `--help` text. */
export const USAGE = `usage: ikeload --target ADDR[:PORT] [options]
  --target ADDR[:PORT]     IKEv1 responder (default port 500); loopback only without --allow-remote
  --source ADDR            first source address (default 127.4.0.1); one IKE SA per source at a time
  --sources N              source addresses (default: --concurrency, or 64 with --rate)
  --source-port P          source UDP port (default 500; 0 = ephemeral, then the non-ESP marker is
                           used towards a target port other than 500)
  --concurrency N          closed loop: N negotiations in flight (default 8)
  --rate N[/s]             open loop: start N negotiations per second
  --count N                negotiations to start (default 100 unless --duration is given)
  --duration S             stop starting negotiations after S seconds
  --mode main|aggressive   Phase 1 exchange (default main)
  --auth psk|rsa           Phase 1 authentication (default psk)
  --psk SECRET             pre-shared key (visible in the process list: prefer --preshared)
  --preshared FILE         ike.preshared file; the key for each source/target pair is looked up
  --cert FILE --key FILE   with --auth rsa: our certificate and its private key (PEM or DER; the
                           key file readable by its owner only)
  --ca FILE                with --auth rsa: the CA certificate the target's must chain to
  --id-type T              with --auth rsa: the ID we present from the certificate: dn (default),
                           ip, fqdn or user_fqdn
  --remote-id SEL          with --auth rsa: ike.config remote_id selector for the target's
                           certificate (default "": any the CA issued)
  --cipher C               aes128|aes192|aes256|3des|des|blowfish|blowfishN, or ike.config encr_alg text (default aes128)
  --hash H                 md5|sha1|sha256|sha384|sha512 (default sha1)
  --dh G                   Oakley group: 1, 2, 5, 14, 15, 16 (default 2)
  --lifetime S             Phase 1 lifetime proposed, seconds (default 3600)
  --phase1-only            no Quick Mode: measure Phase 1 alone
  --esp ENC-AUTH           Phase 2 ESP transform: ENC des|3des|blowfish|aes|aes128|aes192|aes256,
                           AUTH md5|sha1|sha256|sha384|sha512 (default aes128-sha1)
  --ah AUTH                Phase 2 AH instead of ESP
  --pfs G                  Quick Mode PFS group, 0 = none (default 0)
  --p2-lifetime S          Phase 2 lifetime proposed, seconds
  --workers N              crypto worker threads of ikeload itself, 0 = inline (default 1)
  --retransmit-init MS     first retransmission after MS (default 500)
  --retransmit-max MS      retransmission interval cap (default 4000)
  --retransmit-limit N     retransmissions before giving up (default 3)
  --expire S               give up a Phase 1 after S seconds (default 30)
  --no-delete              do not send Deletes for established SAs (the target keeps them until
                           a later negotiation's INITIAL-CONTACT from the same source)
  --hold                   no Deletes, and keep each source's first SA up until the run ends: no
                           INITIAL-CONTACT after it, so the target holds every pair (memory tests)
  --fresh-dh               a fresh DH key pair per negotiation (default: one pair per group, reused
                           by every negotiation, so ikeload costs less CPU than its target; the
                           report says which)
  --json                   print the report as JSON on stdout
  --no-progress            no progress bar (it is only drawn when stderr is a terminal)
  --allow-remote           allow a target outside 127.0.0.0/8 and ::1
`;

const MAX_COUNT = 10_000_000;
const MAX_SOURCES = 65_536;
const MAX_DURATION_S = 24 * 3600;

function usage(message: string): { ok: false; error: LoadOptionError } {
  return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message } };
}

/** `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 literal. */
export function parseEndpoint(text: string, defaultPort: number): Endpoint | undefined {
  let address = text;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    address = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (net.isIPv4(text.split(":")[0] ?? "") && text.includes(":")) {
    const i = text.lastIndexOf(":");
    address = text.slice(0, i);
    if (!/^\d+$/.test(text.slice(i + 1))) return undefined;
    port = Number(text.slice(i + 1));
  }
  if (net.isIP(address) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { address, port };
}

/** Whether `address` is a loopback address (127.0.0.0/8 or ::1). */
export function isLoopback(address: string): boolean {
  if (net.isIPv4(address)) return address.startsWith("127.");
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}

const AUTH = new Set(["md5", "sha1", "sha256", "sha384", "sha512"]);
const ENC = /^(des|3des|blowfish|aes)(128|192|256)?$/;

/**
 * `--esp ENC-AUTH` / `--ah AUTH` to an ipsecinit.conf action body, or an error text. Only the
 * listed names are accepted, so the generated policy text cannot be steered by the option.
 */
export function ipsecActionText(esp: string | undefined, ah: string | undefined): string | { error: string } {
  if (esp !== undefined && ah !== undefined) return { error: "--esp and --ah exclude each other" };
  if (ah !== undefined) return AUTH.has(ah) ? `auth_algs ${ah}` : { error: `--ah: not one of ${[...AUTH].join(", ")}: ${ah}` };
  const [enc = "", auth = "", ...extra] = (esp ?? "aes128-sha1").split("-");
  const m = ENC.exec(enc);
  if (m === null || extra.length > 0 || !AUTH.has(auth) || (m[2] !== undefined && m[1] !== "aes")) {
    return { error: `--esp: not ENC-AUTH (e.g. aes128-sha1): ${esp}` };
  }
  const encr = m[2] === undefined ? m[1]! : `aes(${m[2]}..${m[2]})`;
  return `encr_algs ${encr} encr_auth_algs ${auth}`;
}

/** Cipher shorthand (`aes128`) to ike.config `encr_alg` text (`aes(128..128)`); others unchanged. */
export function encrText(cipher: string): string {
  const m = /^(aes|blowfish)(\d+)$/.exec(cipher);
  return m ? `${m[1]}(${m[2]}..${m[2]})` : cipher;
}

function int(name: string, v: string | undefined, lo: number, hi: number, dflt: number): number | string {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) return `--${name}: not a whole number: ${v}`;
  const n = Number(v);
  if (n < lo || n > hi) return `--${name}: ${n} is outside ${lo}..${hi}`;
  return n;
}

/** Parse ikeload's arguments (without `node` and the script). `help` is set when `--help` was given. */
export function parseLoadArgs(
  argv: readonly string[],
): { ok: true; help: false; value: LoadOptions } | { ok: true; help: true } | { ok: false; error: LoadOptionError } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof SPEC; strict: true; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false });
  } catch (err) {
    // parseArgs reports unknown or malformed options by throwing; turn that into a value.
    return usage((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { ok: true, help: true };
  if (v.target === undefined) return usage("--target is required");
  const target = parseEndpoint(v.target, 500);
  if (target === undefined) return usage(`--target: not ADDR[:PORT]: ${v.target}`);
  const allowRemote = v["allow-remote"] ?? false;
  if (!allowRemote && !isLoopback(target.address)) return usage(`--target ${target.address} is not a loopback address (add --allow-remote if you own it)`);
  const sourceStart = v.source ?? "127.4.0.1";
  if (net.isIP(sourceStart) === 0) return usage(`--source: not an IP address: ${sourceStart}`);
  if (net.isIP(sourceStart) !== net.isIP(target.address)) return usage("--source and --target must be the same address family");
  if (v.rate !== undefined && v.concurrency !== undefined) return usage("--rate and --concurrency exclude each other");
  let pacing: LoadPacing;
  if (v.rate !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(v.rate);
    const r = m ? Number(m[1]) : Number.NaN;
    if (!(r > 0 && r <= 1_000_000)) return usage(`--rate: not N or N/s with 0 < N <= 1000000: ${v.rate}`);
    pacing = { kind: "rate", perSecond: r };
  } else {
    const c = int("concurrency", v.concurrency, 1, MAX_SOURCES, 8);
    if (typeof c === "string") return usage(c);
    pacing = { kind: "closed", concurrency: c };
  }
  const nums: Record<string, number> = {};
  const specs: [string, string | undefined, number, number, number][] = [
    ["sources", v.sources, 1, MAX_SOURCES, pacing.kind === "closed" ? pacing.concurrency : 64],
    ["source-port", v["source-port"], 0, 65535, 500],
    ["dh", v.dh, 1, 30, 2],
    ["lifetime", v.lifetime, 1, 0x7fffffff, 3600],
    ["pfs", v.pfs, 0, 30, 0],
    ["workers", v.workers, 0, 256, 1],
    ["retransmit-init", v["retransmit-init"], 1, 3_600_000, 500],
    ["retransmit-max", v["retransmit-max"], 1, 3_600_000, 4000],
    ["retransmit-limit", v["retransmit-limit"], 0, 100, 3],
    ["expire", v.expire, 1, 86_400, 30],
  ];
  for (const [name, text, lo, hi, d] of specs) {
    const n = int(name, text, lo, hi, d);
    if (typeof n === "string") return usage(n);
    nums[name] = n;
  }
  let count: number | undefined;
  if (v.count !== undefined) {
    const n = int("count", v.count, 1, MAX_COUNT, 0);
    if (typeof n === "string") return usage(n);
    count = n;
  }
  let durationMs: number | undefined;
  if (v.duration !== undefined) {
    const d = Number(v.duration);
    if (!(d > 0 && d <= MAX_DURATION_S)) return usage(`--duration: not a number of seconds in (0, ${MAX_DURATION_S}]: ${v.duration}`);
    durationMs = Math.round(d * 1000);
  }
  if (count === undefined && durationMs === undefined) count = 100;
  if (pacing.kind === "closed" && pacing.concurrency > nums.sources!) {
    return usage(`--concurrency ${pacing.concurrency} needs at least as many --sources (${nums.sources}): one SA per source at a time`);
  }
  let p2LifetimeSecs: number | undefined;
  if (v["p2-lifetime"] !== undefined) {
    const n = int("p2-lifetime", v["p2-lifetime"], 1, 0x7fffffff, 0);
    if (typeof n === "string") return usage(n);
    p2LifetimeSecs = n;
  }
  const ipsecAction = ipsecActionText(v.esp, v.ah);
  if (typeof ipsecAction !== "string") return usage(ipsecAction.error);
  const mode = v.mode ?? "main";
  if (mode !== "main" && mode !== "aggressive") return usage(`--mode: not main or aggressive: ${mode}`);
  const auth = authOf(v);
  if ("error" in auth) return usage(auth.error);
  let psk: PskSource = { kind: "none" };
  if (auth.kind === "psk") {
    if ((v.psk === undefined) === (v.preshared === undefined)) return usage("give exactly one of --psk and --preshared");
    psk = v.psk !== undefined ? { kind: "literal", secret: v.psk } : { kind: "file", path: v.preshared! };
    if (psk.kind === "literal" && psk.secret.length === 0) return usage("--psk: empty key");
  }
  return {
    ok: true,
    help: false,
    value: {
      target,
      sourceStart,
      sources: nums.sources!,
      sourcePort: nums["source-port"]!,
      pacing,
      count,
      durationMs,
      mode,
      auth,
      psk,
      encr: encrText(v.cipher ?? "aes128"),
      hash: v.hash ?? "sha1",
      dhGroup: nums.dh!,
      p1LifetimeSecs: nums.lifetime!,
      phase2: !(v["phase1-only"] ?? false),
      ipsecAction,
      pfsGroup: nums.pfs!,
      p2LifetimeSecs,
      workers: nums.workers!,
      retransmit: { initMs: nums["retransmit-init"]!, maxMs: nums["retransmit-max"]!, limit: nums["retransmit-limit"]! },
      expireMs: nums.expire! * 1000,
      sendDelete: !(v["no-delete"] ?? false) && !(v.hold ?? false),
      hold: v.hold ?? false,
      reuseDh: !(v["fresh-dh"] ?? false),
      json: v.json ?? false,
      progress: !(v["no-progress"] ?? false),
      allowRemote,
    },
  };
}

const ID_TYPES = new Set(["dn", "ip", "ipv6", "fqdn", "user_fqdn"]);

/** `--auth` and the certificate options it needs. */
function authOf(v: { auth?: string; cert?: string; key?: string; ca?: string; "id-type"?: string; "remote-id"?: string; psk?: string; preshared?: string }): LoadAuth | { error: string } {
  const kind = v.auth ?? "psk";
  const certOpts = [v.cert, v.key, v.ca, v["id-type"], v["remote-id"]].some((x) => x !== undefined);
  if (kind === "psk") return certOpts ? { error: "--cert, --key, --ca, --id-type and --remote-id need --auth rsa" } : { kind: "psk" };
  if (kind !== "rsa") return { error: `--auth: not psk or rsa: ${kind}` };
  if (v.psk !== undefined || v.preshared !== undefined) return { error: "--auth rsa takes no --psk or --preshared" };
  if (v.cert === undefined || v.key === undefined || v.ca === undefined) return { error: "--auth rsa needs --cert, --key and --ca" };
  const idType = v["id-type"] ?? "dn";
  if (!ID_TYPES.has(idType)) return { error: `--id-type: not one of ${[...ID_TYPES].join(", ")}: ${idType}` };
  const remoteId = v["remote-id"] ?? "";
  // The selector goes into generated ike.config text inside quotes: no quote or backslash in it.
  if (/["\\\n]/.test(remoteId)) return { error: "--remote-id: no quotes, backslashes or newlines" };
  return { kind: "rsa", cert: v.cert, key: v.key, ca: v.ca, idType, remoteId };
}

const SPEC = {
  auth: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  ca: { type: "string" },
  "id-type": { type: "string" },
  "remote-id": { type: "string" },
  target: { type: "string" },
  source: { type: "string" },
  sources: { type: "string" },
  "source-port": { type: "string" },
  concurrency: { type: "string" },
  rate: { type: "string" },
  count: { type: "string" },
  duration: { type: "string" },
  mode: { type: "string" },
  psk: { type: "string" },
  preshared: { type: "string" },
  cipher: { type: "string" },
  hash: { type: "string" },
  dh: { type: "string" },
  lifetime: { type: "string" },
  "phase1-only": { type: "boolean" },
  esp: { type: "string" },
  ah: { type: "string" },
  pfs: { type: "string" },
  "p2-lifetime": { type: "string" },
  workers: { type: "string" },
  "retransmit-init": { type: "string" },
  "retransmit-max": { type: "string" },
  "retransmit-limit": { type: "string" },
  expire: { type: "string" },
  "no-delete": { type: "boolean" },
  hold: { type: "boolean" },
  "fresh-dh": { type: "boolean" },
  json: { type: "boolean" },
  "no-progress": { type: "boolean" },
  "allow-remote": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;
