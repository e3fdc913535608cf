/**
 * What the metrics endpoint costs under load: the same ikeload run (closed loop, fixed count;
 * Main Mode PSK aes128/sha1 group 2, then Quick Mode ESP aes128-sha1; Deletes after each) against
 * two in.iked daemons started alike (`--foreground --kernel memory --workers 1`, debug level `op`),
 * one without metrics and one with `--metrics`, scraped every second during its runs (as Prometheus
 * would, more often than its usual 15 s). Rounds alternate between the two, in rotating order; the
 * table shows the median rate of each, the daemon's CPU time per negotiation (its process, all
 * threads, /proc/PID/stat: steadier than rates on a shared machine) and the ratios with/without,
 * measured in this run.
 *
 * Not run in CI. `npm run bench -- ops` uses the defaults; `node --openssl-legacy-provider
 * dist/bench/ops/metrics-overhead.bench.js [--count N] [--concurrency N] [--rounds N]` standalone.
 * Addresses: daemons 127.0.7.41:17410 and 127.0.7.42:17420, sources 127.7.4.x:500, metrics on
 * 127.0.0.1:17499.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";

const PSK = "metrics-bench-secret";
const SOURCES = "127.7.4.1";
const METRICS_PORT = 17499;
const IN_IKED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/in-iked.js");

interface Daemon {
  readonly label: string;
  readonly address: string;
  readonly port: number;
  readonly root: string;
  readonly child: ChildProcess;
  readonly metrics: boolean;
  readonly reports: LoadReport[];
  /** The daemon's CPU (all threads) per established negotiation, ms, per round. */
  readonly cpuMs: number[];
  scrapes: number;
}

/** CPU seconds (user + system, all threads) a process has used so far (/proc/PID/stat). */
function processCpuSecs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

function makeRoot(address: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "iked-bench-"));
  fs.mkdirSync(path.join(root, "etc/inet/ike"), { recursive: true });
  fs.mkdirSync(path.join(root, "etc/inet/secret"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, "etc/inet/ike/config"),
    `{\n  label "bench"\n  local_addr ${address}\n  remote_addr 127.7.4.0/24\n  p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }\n}\n`);
  fs.writeFileSync(path.join(root, "etc/inet/secret/ike.preshared"),
    `{\n  localidtype ip\n  localid ${address}\n  remoteidtype ip\n  remoteid 127.7.4.0/24\n  key ${Buffer.from(PSK).toString("hex")}\n}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), "{ raddr 127.7.4.0/24 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  return root;
}

async function start(label: string, address: string, port: number, metrics: boolean): Promise<Daemon> {
  const root = makeRoot(address);
  const child = spawn(process.execPath, [
    "--openssl-legacy-provider", IN_IKED, "--foreground", "--root", root, "--kernel", "memory", "--workers", "1",
    "--port", String(port), "--natt-port", String(port + 1), ...(metrics ? ["--metrics", `127.0.0.1:${METRICS_PORT}`] : []),
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const until = Date.now() + 30_000;
  while (!err.includes("in.iked started")) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`${label} did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { label, address, port, root, child, metrics, reports: [], cpuMs: [], scrapes: 0 };
}

async function stop(d: Daemon): Promise<void> {
  if (d.child.exitCode === null) {
    const exited = once(d.child, "exit");
    d.child.kill("SIGTERM");
    await exited;
  }
  fs.rmSync(d.root, { recursive: true, force: true });
}

async function measure(d: Daemon, count: number, concurrency: number): Promise<LoadReport> {
  const a = parseLoadArgs([
    "--target", `${d.address}:${d.port}`, "--source", SOURCES, "--concurrency", String(concurrency), "--count", String(count),
    "--psk", PSK, "--cipher", "aes128", "--hash", "sha1", "--dh", "2", "--workers", "1",
    "--retransmit-init", "2000", "--retransmit-limit", "3", "--expire", "20",
  ]);
  if (!a.ok || a.help) throw new Error(`bench options: ${JSON.stringify(a)}`);
  // Scrape every second while the load runs against the daemon with metrics.
  const timer = d.metrics
    ? setInterval(() => {
        void fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`).then(async (r) => {
          await r.text();
          if (r.ok) d.scrapes++;
        }, () => undefined);
      }, 1000)
    : undefined;
  try {
    const cpu0 = processCpuSecs(d.child.pid!);
    const r = await runLoad(a.value);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    d.cpuMs.push(((processCpuSecs(d.child.pid!) - cpu0) * 1000) / Math.max(1, r.value.established));
    return r.value;
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** Run the comparison and print its table. */
export async function metricsOverheadBench(count: number, concurrency: number, rounds: number): Promise<void> {
  const daemons = [await start("in.iked", "127.0.7.41", 17410, false), await start("in.iked --metrics", "127.0.7.42", 17420, true)];
  try {
    for (const d of daemons) await measure(d, Math.max(20, Math.floor(count / 10)), concurrency); // warm-up
    for (const d of daemons) d.cpuMs.length = 0;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < daemons.length; k++) {
        const d = daemons[(k + round) % daemons.length]!;
        d.reports.push(await measure(d, count, concurrency));
      }
    }
    const base = median(daemons[0]!.reports.map((r) => r.establishedPerSec));
    const baseCpu = median(daemons[0]!.cpuMs);
    console.log(`MM PSK aes128/sha1 group 2 + QM ESP, closed loop concurrency ${concurrency}, ${count} negotiations per round, ${rounds} rounds alternating, median shown`);
    console.table(daemons.map((d) => {
      const rates = d.reports.map((r) => r.establishedPerSec);
      const m = median(rates);
      return {
        daemon: d.label,
        established: d.reports.reduce((n, r) => n + r.established, 0),
        failed: d.reports.reduce((n, r) => n + r.failed, 0),
        "established/s": m.toFixed(1),
        "range/s": `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}`,
        scrapes: d.metrics ? d.scrapes : "-",
        "rate ratio": d.metrics ? (m / base).toFixed(3) : "1.000 (baseline)",
        "daemon CPU ms/neg": median(d.cpuMs).toFixed(2),
        "CPU ratio": d.metrics ? (median(d.cpuMs) / baseCpu).toFixed(3) : "1.000 (baseline)",
      };
    }));
  } finally {
    for (const d of daemons) await stop(d);
  }
}

export default async function run(): Promise<void> {
  await metricsOverheadBench(400, 16, 4);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { count: { type: "string" }, concurrency: { type: "string" }, rounds: { type: "string" } } });
  await metricsOverheadBench(Number(values.count ?? 400), Number(values.concurrency ?? 16), Number(values.rounds ?? 4));
}
