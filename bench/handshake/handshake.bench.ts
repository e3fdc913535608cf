/**
 * Handshake rate: the same ikeload run (closed loop, fixed count; Main Mode PSK aes128/sha1, then
 * Quick Mode ESP aes128-sha1 transport, no PFS; Deletes after each) against (a) our responder and
 * (b) a real strongSwan 5.9.8 responder, for DH groups 2, 5 and 14, with our responder's crypto
 * pool at 0 (inline), 1 and 2 worker threads. Prints complete negotiations (Phase 1+2) per
 * second, latency percentiles and the ratio ours/strongSwan, all measured in this run.
 * `--phase1-only` measures Main Mode alone.
 *
 * Our responder is bench/handshake/responder.ts in its own process (in.iked cannot run the engine
 * yet); strongSwan comes from shared/interop/strongswan-peer.sh (remote %any, unique no, its
 * retransmissions tuned to 3 tries of 2 s). The load generator runs in this process with its own
 * one-thread pool; it does the same DH work per handshake as the responder, so on a small machine
 * both sides compete for the cores: compare ratios, not absolute rates, across machines.
 *
 * `--auth rsa` authenticates with RSA-2048 signatures instead: certificates from the shared
 * harness's make-certs.sh (one CA), the responder's certificate used by strongSwan and by ours
 * alike, the generator's its own; DH group 14 unless `--groups` says otherwise.
 *
 * `npm run bench -- handshake [--auth rsa] [options]` uses the defaults; `node --openssl-legacy-provider
 * dist/bench/handshake/handshake.bench.js [--auth psk|rsa] [--count N] [--concurrency N] [--groups 2,5,14]
 * [--workers 0,1,2] [--warmup N] [--phase1-only] [--rounds N]` runs it standalone; with several
 * rounds the targets are measured in rotating order and the median rate is shown (the machine is
 * shared: single rounds are noisy). Addresses: strongSwan 127.0.7.30:17300 (NAT-T 17301), ours
 * 127.0.7.31:17310.. (one port per worker count, all running at once), sources 127.7.3.x:500.
 *
 * CPU per negotiation (median round) is shown for the responder (its process, all threads, from
 * /proc/PID/stat) and for the load generator (this process, pool thread included): on a loaded
 * 2-core machine the rates follow the sum of the two more than either one, and the generator
 * costs more than strongSwan does.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InteropPeer, interopSkip, sharedDir } from "../../test/helpers/interop.js";
import { parseLoadArgs, type LoadOptions } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";

const PSK = "load-bench-secret";
const SS = { address: "127.0.7.30", port: 17300, natt: 17301 };
const OURS = { address: "127.0.7.31", port: 17310 };
const SOURCES = "127.7.3.1";
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The certificates of an `--auth rsa` run (make-certs.sh output). */
interface Certs {
  readonly dir: string;
  readonly ca: string;
  readonly responder: { readonly cert: string; readonly key: string; readonly subject: string };
  readonly generator: { readonly cert: string; readonly key: string };
}

const RESPONDER_DN = "C=US, O=IKEv1 Interop Test, CN=handshake bench responder";

/** A CA, the responder's certificate (both responders use it) and the generator's, RSA-2048, in a temporary directory. */
function makeCerts(): Certs {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-bench-certs-"));
  const out = execFileSync("bash", [path.join(sharedDir(), "interop/make-certs.sh"), "--dir", dir, RESPONDER_DN, "C=US, O=IKEv1 Interop Test, CN=handshake bench generator"], {
    encoding: "utf8",
    env: { ...process.env, IKEV1_INTEROP_QUIET: "1" },
  });
  const [r, g] = out.trim().split("\n").map((line) => {
    const kv = (k: string) => new RegExp(`(?:^| )${k}=(.*?)(?= [a-z]+=|$)`).exec(line)?.[1] ?? "";
    return { cert: kv("cert"), key: kv("key"), ca: kv("ca"), subject: kv("subject") };
  });
  return { dir, ca: r!.ca, responder: { cert: r!.cert, key: r!.key, subject: RESPONDER_DN }, generator: { cert: g!.cert, key: g!.key } };
}

interface Params {
  readonly auth: "psk" | "rsa";
  readonly count: number;
  readonly concurrency: number;
  readonly warmup: number;
  readonly groups: readonly number[];
  readonly workers: readonly number[];
  readonly phase1Only: boolean;
  readonly rounds: number;
}

function loadOptions(p: Params, certs: Certs | undefined, target: { address: string; port: number }, group: number, count: number): LoadOptions {
  const a = parseLoadArgs([
    "--target", `${target.address}:${target.port}`,
    "--source", SOURCES,
    "--concurrency", String(p.concurrency),
    "--count", String(count),
    ...(certs ? ["--auth", "rsa", "--cert", certs.generator.cert, "--key", certs.generator.key, "--ca", certs.ca] : ["--psk", PSK]),
    "--cipher", "aes128",
    "--hash", "sha1",
    "--dh", String(group),
    "--workers", "1",
    "--retransmit-init", "2000",
    "--retransmit-limit", "3",
    "--expire", "20",
    ...(p.phase1Only ? ["--phase1-only"] : []),
  ]);
  if (!a.ok || a.help) throw new Error(`bench options: ${JSON.stringify(a)}`);
  return a.value;
}

/** CPU seconds (user + system, all threads) a process has used so far; NaN when unreadable. */
function processCpuSecs(pid: number): number {
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN; // the process is gone or /proc is not mounted: the column shows NaN
  }
}

/** One measured round: the load report and the CPU both sides spent, in ms per negotiation. */
interface Round {
  readonly report: LoadReport;
  readonly respCpuMs: number;
  readonly genCpuMs: number;
}

async function measure(p: Params, certs: Certs | undefined, target: Target, group: number, warm: boolean): Promise<Round> {
  if (warm && p.warmup > 0) await runLoad(loadOptions(p, certs, target.endpoint, group, p.warmup));
  const resp0 = processCpuSecs(target.pid);
  const gen0 = process.cpuUsage();
  const r = await runLoad(loadOptions(p, certs, target.endpoint, group, p.count));
  const gen = process.cpuUsage(gen0);
  const resp = processCpuSecs(target.pid) - resp0;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  const n = Math.max(1, r.value.established);
  return { report: r.value, respCpuMs: (resp * 1000) / n, genCpuMs: (gen.user + gen.system) / 1000 / n };
}

async function startOurs(group: number, workers: number, port: number, certs: Certs | undefined): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--openssl-legacy-provider",
      path.join(HERE, "responder.js"),
      "--address", OURS.address,
      "--port", String(port),
      "--workers", String(workers),
      "--peers", "127.7.3.0/24",
      "--psk-hex", Buffer.from(PSK).toString("hex"),
      "--dh", String(group),
      "--cipher", "aes(128..128)",
      "--hash", "sha1",
      ...(certs ? ["--auth", "rsa", "--cert", certs.responder.cert, "--key", certs.responder.key, "--ca", certs.ca] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) if (line.startsWith("ready ")) return child;
  throw new Error("our responder exited before it was ready");
}

async function stopOurs(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

interface Target {
  readonly label: string;
  readonly workers: number | string;
  readonly endpoint: { address: string; port: number };
  /** The responder's process (charon or our responder.ts). */
  readonly pid: number;
  readonly rounds: Round[];
}

/** The round with the median rate (lower median for an even count). */
function median(rounds: readonly Round[]): Round {
  const sorted = [...rounds].sort((a, b) => a.report.establishedPerSec - b.report.establishedPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function row(group: number, t: Target, base: number | undefined): Record<string, string | number> {
  const mr = median(t.rounds);
  const m = mr.report;
  const l = m.latencyMs.phase1and2 ?? m.latencyMs.phase1;
  const rates = t.rounds.map((r) => r.report.establishedPerSec);
  return {
    group,
    responder: t.label,
    "resp workers": t.workers,
    established: t.rounds.reduce((n, r) => n + r.report.established, 0),
    failed: t.rounds.reduce((n, r) => n + r.report.failed, 0),
    "established/s": m.establishedPerSec.toFixed(1),
    "range/s": t.rounds.length > 1 ? `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}` : "-",
    "p50 ms": l.p50.toFixed(1),
    "p99 ms": l.p99.toFixed(1),
    "resp CPU ms": mr.respCpuMs.toFixed(2),
    "gen CPU ms": mr.genCpuMs.toFixed(2),
    "ours/strongSwan": base === undefined ? "1.00 (baseline)" : base > 0 ? (m.establishedPerSec / base).toFixed(2) : "n/a",
  };
}

/** Run the comparison and print its table. */
export async function handshakeBench(p: Params): Promise<void> {
  const skip = interopSkip();
  if (skip !== false) {
    console.log(`handshake: skipped, strongSwan harness unavailable: ${skip}`);
    return;
  }
  const certs = p.auth === "rsa" ? makeCerts() : undefined;
  try {
    await compare(p, certs);
  } finally {
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  }
}

async function compare(p: Params, certs: Certs | undefined): Promise<void> {
  const auth = certs ? "RSA-2048 signatures (certificates from one CA; strongSwan and ours hold the same responder certificate)" : "PSK";
  console.log(
    `Main Mode ${auth} aes128/sha1${p.phase1Only ? " only" : " + Quick Mode ESP aes128-sha1 (latency: MM1 to QM3)"}, closed loop concurrency ${p.concurrency}, ` +
      `${p.count} negotiations per cell and round (+${p.warmup} warm-up), ${p.rounds} round(s) with the targets in rotating order, median shown; Deletes after each; ` +
      `load generator: this process, 1 pool thread; CPU columns: ms per negotiation (user + system, all threads). Our responder: bench/handshake/responder.ts process (engine + UdpTransport + CryptoPool + in-memory SADB: the parts in.iked runs, without its admin socket and logging).`,
  );
  const rows: Record<string, string | number>[] = [];
  for (const group of p.groups) {
    const peer = await InteropPeer.startStrongSwan({
      name: "perf-handshake",
      role: "responder",
      local: SS.address,
      remote: "%any",
      localPort: SS.port,
      nattPort: SS.natt,
      remotePort: 500,
      ...(certs ? { auth: "rsa" as const, cert: certs.responder.cert, key: certs.responder.key, ca: certs.ca, localId: certs.responder.subject } : { psk: PSK }),
      cipher: "aes128",
      hash: "sha1",
      dh: group,
      // With certificates every source shows the same identity (the generator's DN): `never` keeps
      // one source's INITIAL-CONTACT from tearing down the others' SAs (strongSwan matches it by ID).
      unique: certs ? "never" : "no",
      fragmentation: "no",
      esp: "aes128-sha1",
      espMode: "transport",
      retransmitTries: 3,
      retransmitTimeout: 2,
      logLevel: 0,
    });
    const children: ChildProcess[] = [];
    try {
      const targets: Target[] = [{ label: "strongSwan 5.9.8", workers: "(charon)", endpoint: SS, pid: Number(peer.info.pid), rounds: [] }];
      for (const [i, w] of p.workers.entries()) {
        const endpoint = { address: OURS.address, port: OURS.port + i };
        const child = await startOurs(group, w, endpoint.port, certs);
        children.push(child);
        targets.push({ label: "ours", workers: w, endpoint, pid: child.pid!, rounds: [] });
      }
      for (let round = 0; round < p.rounds; round++) {
        // Rotate the order so that a slow spell of the shared machine does not always hit one target.
        for (let k = 0; k < targets.length; k++) {
          const t = targets[(k + round) % targets.length]!;
          t.rounds.push(await measure(p, certs, t, group, round === 0));
        }
      }
      const base = median(targets[0]!.rounds).report.establishedPerSec;
      rows.push(row(group, targets[0]!, undefined));
      for (const t of targets.slice(1)) rows.push(row(group, t, base));
    } finally {
      await peer.stop({ kill: true, purge: true });
      for (const c of children) await stopOurs(c);
    }
  }
  console.table(rows);
}

function list(text: string): number[] {
  return text.split(",").map((s) => Number(s.trim()));
}

/** The options, from `npm run bench -- handshake ...` or the command line. */
function paramsOf(args: readonly string[]): Params {
  const { values: v } = parseArgs({
    args: [...args],
    options: {
      auth: { type: "string", default: "psk" },
      count: { type: "string", default: "200" },
      concurrency: { type: "string", default: "16" },
      warmup: { type: "string", default: "16" },
      groups: { type: "string" },
      workers: { type: "string", default: "0,1,2" },
      "phase1-only": { type: "boolean", default: false },
      rounds: { type: "string", default: "1" },
    },
  });
  if (v.auth !== "psk" && v.auth !== "rsa") throw new Error(`--auth: not psk or rsa: ${v.auth}`);
  return {
    auth: v.auth,
    count: Number(v.count),
    concurrency: Number(v.concurrency),
    warmup: Number(v.warmup),
    groups: list(v.groups ?? (v.auth === "rsa" ? "14" : "2,5,14")),
    workers: list(v.workers),
    phase1Only: v["phase1-only"],
    rounds: Math.max(1, Number(v.rounds)),
  };
}

/** `npm run bench -- handshake [--auth rsa] [options]`: the short default run. */
export default async function (args: readonly string[] = []): Promise<void> {
  await handshakeBench(paramsOf(args));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await handshakeBench(paramsOf(process.argv.slice(2)));
