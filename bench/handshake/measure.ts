/**
 * One measured round of the handshake bench: an ikeload run (in this process) against one
 * target, with the CPU the target spent per negotiation, thread by thread (thread-cpu.ts), and
 * the CPU this process (the generator) spent, thread by thread too. Rounds are summarised by the
 * median of each column.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseLoadArgs, type LoadOptions } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";
import { percentile } from "../../src/load/stats.js";
import { cpuByRole, cpuWithEndedPool, machineBusySecs, processCpuSecs, sampleThreads } from "./thread-cpu.js";
import type { Certs, Target } from "./targets.js";

/** How the generator runs. */
export interface GeneratorParams {
  readonly auth: "psk" | "rsa";
  readonly psk: string;
  readonly source: string;
  readonly concurrency: number;
  readonly phase1Only: boolean;
  /** Pool threads of the generator. */
  readonly workers: number;
  /** `--fresh-dh` for the generator (default: one reused pair per group). */
  readonly freshDh: boolean;
  /**
   * Another built tree whose ikeload (dist/src/load) runs the load instead of this tree's
   * (`--generator-tree`, `--baseline-generator`).
   */
  readonly tree?: string;
}

type LoadLib = { parseLoadArgs: typeof parseLoadArgs; runLoad: typeof runLoad };
const trees = new Map<string, Promise<LoadLib>>();

/** This tree's ikeload library, or `tree`'s. */
function loadLib(tree: string | undefined): Promise<LoadLib> {
  if (tree === undefined) return Promise.resolve({ parseLoadArgs, runLoad });
  let lib = trees.get(tree);
  if (lib === undefined) {
    const dir = path.join(tree, "dist/src/load");
    lib = Promise.all([import(pathToFileURL(path.join(dir, "options.js")).href), import(pathToFileURL(path.join(dir, "runner.js")).href)]).then(([o, r]) => ({ parseLoadArgs: o.parseLoadArgs, runLoad: r.runLoad }));
    trees.set(tree, lib);
  }
  return lib;
}

/** ikeload options for one run: closed loop of `concurrency`, or open loop at `rate` per second. */
export function loadOptions(g: GeneratorParams, certs: Certs | undefined, target: Target, group: number, count: number, rate?: number, parse = parseLoadArgs): LoadOptions {
  const a = parse([
    "--target", `${target.endpoint.address}:${target.endpoint.port}`,
    "--source", g.source,
    ...(rate === undefined ? ["--concurrency", String(g.concurrency)] : ["--rate", rate.toFixed(2), "--sources", String(Math.max(64, g.concurrency))]),
    "--count", String(count),
    ...(certs ? ["--auth", "rsa", "--cert", certs.generator.cert, "--key", certs.generator.key, "--ca", certs.ca] : ["--psk", g.psk]),
    "--cipher", "aes128",
    "--hash", "sha1",
    "--dh", String(group),
    "--workers", String(g.workers),
    "--retransmit-init", "2000",
    "--retransmit-limit", "3",
    "--expire", "20",
    ...(g.phase1Only ? ["--phase1-only"] : []),
    ...(g.freshDh ? ["--fresh-dh"] : []),
  ]);
  if (!a.ok || a.help) throw new Error(`bench options: ${JSON.stringify(a)}`);
  return a.value;
}

/** CPU per negotiation, ms, of one target's threads (our processes) in one round. */
export interface ThreadMs {
  readonly main: number;
  /** Each pool worker, oldest first. */
  readonly pool: readonly number[];
  /** V8 platform threads: concurrent/parallel GC and compilation. */
  readonly v8: number;
  /** libuv's thread pool and Node's signal watchdog. */
  readonly libuv: number;
}

/** One measured round. */
export interface Round {
  readonly report: LoadReport;
  readonly rate: number;
  readonly p50: number;
  /** From the raw samples (ikeload's summary has p50/p90/p99), nearest rank as theirs. */
  readonly p95: number;
  readonly p99: number;
  /** Each complete negotiation: start (ms since this process's `performance.timeOrigin`) and latency, ms. */
  readonly samples: readonly { readonly startMs: number; readonly ms: number }[];
  /** The target process, all threads (exited ones included), ms per negotiation. */
  readonly respMs: number;
  /** Our processes: per role. charon: undefined. */
  readonly threads: ThreadMs | undefined;
  /** The target's busiest single thread, ms per negotiation (what caps a process that cannot spread). */
  readonly busiestMs: number;
  /** This process (the generator, its pool included), ms per negotiation. */
  readonly genMs: number;
  /**
   * The generator's threads, ms per negotiation: main (ikeload's event loop), pool (its crypto
   * pool's threads, which end with the run: the process's CPU less its living threads'), v8, libuv.
   */
  readonly genThreads: ThreadMs;
  /**
   * Everything else on the machine during the round (other users' work), in cores: CPU time the
   * machine was busy minus the target's and the generator's, over the round's wall time.
   */
  readonly otherCores: number;
  /**
   * Of the slowest 1% (at or above p99), how many started in the run's first second: a start-up
   * transient (a cold pool, a JIT warming) shows here, a steady-state tail does not.
   */
  readonly tailFirstSec: { readonly n: number; readonly of: number };
  /** The generator's retransmissions in the round (ikeload's counter). */
  readonly retransmits: number;
  /** UDP datagrams dropped in this network namespace during the round (/proc/net/snmp: receive buffer full; all input errors). */
  readonly udpDrops: { readonly rcvbuf: number; readonly inErrors: number };
}

/** This network namespace's UDP input error counters (/proc/net/snmp); zeros where absent. */
export function udpCounters(): { rcvbuf: number; inErrors: number } {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    const at = (name: string): number => values[names.indexOf(name)] ?? 0;
    return { rcvbuf: at("RcvbufErrors"), inErrors: at("InErrors") };
  } catch {
    return { rcvbuf: 0, inErrors: 0 };
  }
}

/** Add to a performance.now() time (ms) to get CLOCK_MONOTONIC ms (process.hrtime's clock, perf's `-k CLOCK_MONOTONIC`). */
export function monotonicOffsetMs(): number {
  // The two reads closest together bound the offset best.
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const a = performance.now();
    const mono = Number(process.hrtime.bigint()) / 1e6;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = mono - (a + b) / 2;
    }
  }
  return offset;
}

/** Run `count` negotiations against `t` (after `warmup` unmeasured ones) and measure both sides. */
export async function measureRound(g: GeneratorParams, certs: Certs | undefined, t: Target, group: number, count: number, warmup: number, rate?: number, onProgress?: () => void): Promise<Round> {
  const lib = await loadLib(g.tree);
  if (warmup > 0) await lib.runLoad(loadOptions(g, certs, t, group, warmup, undefined, lib.parseLoadArgs));
  const before = sampleThreads(t.pid);
  const resp0 = processCpuSecs(t.pid);
  const genBefore = sampleThreads(process.pid);
  const genProc0 = processCpuSecs(process.pid);
  const gen0 = process.cpuUsage();
  const busy0 = machineBusySecs();
  const udp0 = udpCounters();
  const wall0 = performance.now();
  const samples: { startMs: number; ms: number }[] = [];
  const r = await lib.runLoad(loadOptions(g, certs, t, group, count, rate, lib.parseLoadArgs), {
    onNegotiation: (startMs, ms) => samples.push({ startMs, ms }),
    ...(onProgress !== undefined ? { onProgress } : {}),
  });
  const udp1 = udpCounters();
  const gen = process.cpuUsage(gen0);
  const genProc = processCpuSecs(process.pid) - genProc0;
  const genAfter = sampleThreads(process.pid);
  const resp = processCpuSecs(t.pid) - resp0;
  const busy = machineBusySecs() - busy0;
  const wallSecs = (performance.now() - wall0) / 1000;
  const after = sampleThreads(t.pid);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  const n = Math.max(1, r.value.established);
  const ms = (secs: number): number => (secs * 1000) / n;
  const was = new Map(before.map((x) => [x.tid, x.cpuSecs] as const));
  const busiest = Math.max(0, ...after.map((x) => x.cpuSecs - (was.get(x.tid) ?? 0)));
  let threads: ThreadMs | undefined;
  if (t.poolThreads !== undefined) {
    const c = cpuByRole(t.pid, before, after, t.poolThreads);
    threads = { main: ms(c.main), pool: c.pool.map(ms), v8: ms(c.v8), libuv: ms(c.libuv + c.signal) };
  }
  // The generator's pool threads ended with the run: what its living threads did not spend, they did.
  const gc = cpuWithEndedPool(process.pid, genBefore, genAfter, genProc);
  const genThreads = { main: ms(gc.main), pool: gc.pool.map(ms), v8: ms(gc.v8), libuv: ms(gc.libuv + gc.signal) };
  const l = r.value.latencyMs.phase1and2 ?? r.value.latencyMs.phase1;
  return {
    report: r.value,
    rate: r.value.establishedPerSec,
    p50: l.p50,
    p95: percentile(Float64Array.from(samples, (x) => x.ms).sort(), 95),
    p99: l.p99,
    samples,
    respMs: ms(resp),
    threads,
    busiestMs: ms(busiest),
    genMs: (gen.user + gen.system) / 1000 / n,
    genThreads,
    otherCores: Math.max(0, busy - resp - (gen.user + gen.system) / 1e6) / wallSecs,
    tailFirstSec: tailFirstSecond(samples),
    retransmits: r.value.retransmitsSent,
    udpDrops: { rcvbuf: udp1.rcvbuf - udp0.rcvbuf, inErrors: udp1.inErrors - udp0.inErrors },
  };
}

/** How many of the slowest 1% of `samples` (at or above the nearest-rank p99) started within 1 s of the first start. */
export function tailFirstSecond(samples: readonly { readonly startMs: number; readonly ms: number }[]): { n: number; of: number } {
  if (samples.length === 0) return { n: 0, of: 0 };
  // A loop, not Math.min(...): a spread of a long run's samples overflows the call stack.
  const first = samples.reduce((m, x) => Math.min(m, x.startMs), Number.POSITIVE_INFINITY);
  const sorted = samples.map((x) => x.ms).sort((a, b) => a - b);
  const p99 = sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)]!;
  const tail = samples.filter((x) => x.ms >= p99);
  return { n: tail.filter((x) => x.startMs - first < 1000).length, of: tail.length };
}

/** The median of some numbers (the lower middle one for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
}

/** Column-wise medians of several rounds. */
export interface Summary {
  readonly rounds: number;
  readonly established: number;
  readonly failed: number;
  readonly rate: number;
  readonly rateMin: number;
  readonly rateMax: number;
  readonly p50: number;
  readonly p99: number;
  readonly respMs: number;
  readonly busiestMs: number;
  readonly genMs: number;
  readonly genThreads: ThreadMs;
  readonly threads: ThreadMs | undefined;
}

/** Summarise rounds: each column's median. */
export function summarise(rounds: readonly Round[]): Summary {
  const col = (f: (r: Round) => number): number => median(rounds.map(f));
  const rates = rounds.map((r) => r.rate);
  const t0 = rounds[0]?.threads;
  const byThread = (f: (r: Round) => ThreadMs, pools: number): ThreadMs => ({
    main: col((r) => f(r).main),
    pool: Array.from({ length: pools }, (_, i) => col((r) => f(r).pool[i] ?? Number.NaN)),
    v8: col((r) => f(r).v8),
    libuv: col((r) => f(r).libuv),
  });
  return {
    rounds: rounds.length,
    established: rounds.reduce((n, r) => n + r.report.established, 0),
    failed: rounds.reduce((n, r) => n + r.report.failed, 0),
    rate: col((r) => r.rate),
    rateMin: Math.min(...rates),
    rateMax: Math.max(...rates),
    p50: col((r) => r.p50),
    p99: col((r) => r.p99),
    respMs: col((r) => r.respMs),
    busiestMs: col((r) => r.busiestMs),
    genMs: col((r) => r.genMs),
    genThreads: byThread((r) => r.genThreads, 1),
    threads: t0 === undefined ? undefined : byThread((r) => r.threads!, t0.pool.length),
  };
}
