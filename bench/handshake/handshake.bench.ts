/**
 * Handshake rate and CPU: the same ikeload run (closed loop, fixed count; Main Mode PSK
 * aes128/sha1, then Quick Mode ESP aes128-sha1 transport, no PFS; Deletes after each) against a
 * strongSwan 5.9.8 responder and against the real in.iked (detached, default logging, `--kernel
 * memory`, one daemon per pool-thread count), for DH groups 2, 5 and 14, all in one run.
 *
 * Per cell it prints the rate, p50/p99 (MM1 to QM3), the responder's CPU per negotiation (its
 * process, all threads) and, thread by thread from /proc/PID/task/*\/stat (thread-cpu.ts): the
 * main thread, each pool worker, the V8 platform threads (GC) and libuv's; the ceiling the main
 * thread sets (1000 / its ms per negotiation); the generator's CPU (this process, its pool
 * included), also thread by thread (its event loop, its pool, V8's and libuv's threads), and the
 * ratios against strongSwan. charon's "main" column is its busiest thread.
 *
 * The generator runs in this process with one pool thread and, by default, one reused DH key pair
 * per group (src/load/reused-dh.ts; `--fresh-dh` turns that off), so it costs less per
 * negotiation than the responders it drives. On a small shared machine both sides compete for the
 * cores: compare CPU per negotiation and ratios measured in the same run, not absolute rates.
 *
 * Modes and options (`npm run bench -- handshake [options]`, or `node --openssl-legacy-provider
 * dist/bench/handshake/handshake.bench.js [options]`):
 *   --auth psk|rsa       RSA-2048 signatures (make-certs.sh, one CA; group 14 unless --groups)
 *   --groups 2,5,14  --workers 0,1,2  --count 200  --concurrency 16  --rounds 1
 *   --warmup N           unmeasured negotiations before each target's first measured round, every
 *                        kind alike (default by kind: in.iked 3000, strongSwan 2000; rounds.ts)
 *   --warmup-each N      unmeasured negotiations right before each later round (default 500): the
 *                        generator's young generation shrinks while a target idles, and an idle
 *                        in.iked may compile again
 *   --responders daemon[,bench]   also (or only) bench/handshake/responder.ts, the engine wired
 *                        without the daemon, to compare its cost with in.iked's in the same run
 *   --half-peak          after the closed loop, an open-loop run at half of each target's rate:
 *                        p50, p95, p99 and p99/p50 there (goal 6 of issue 14)
 *   --half-peak-secs 5   how long that open-loop run lasts (rate x secs negotiations, at least 60)
 *   --pin                the responder (all its threads) on CPU 0, the generator (this process,
 *                        its pool included) on CPU 1 (taskset), for strongSwan and in.iked alike,
 *                        so that neither side's CPU time shows up in the other's latency
 *   --probe              with --half-peak: record GC pauses and event-loop lags of in.iked (an
 *                        --import preload) and of the generator, and print how much of the
 *                        slowest 1% of negotiations and of the middle 10% overlapped them; the
 *                        half-peak table then shows in.iked's old-space growth per negotiation
 *                        (rises of old_space's used size, sampled every 10 ms) and its full GCs
 *                        (mark-compacts) in the run (old-space.ts)
 *   --sched              with --half-peak: record the scheduler (perf sched_switch/wakeup, machine-wide,
 *                        CLOCK_MONOTONIC) over each half-peak round and print, for the slowest 1%
 *                        and the middle 10%, how long each class of thread of both sides ran,
 *                        waited for a CPU and slept, and who held the CPU the main threads waited
 *                        for (sched-window.ts); `--sched-keep DIR` keeps the recordings there;
 *                        needs perf and root (or perf_event_paranoid -1), checked before round 1
 *   --sweep              rate against pool threads (default group 14, workers 0,1,2,4): a
 *                        projection table for a 16-core gateway and an SVG chart beside
 *                        strongSwan, written to bench/results/ (`--chart-dir DIR` elsewhere)
 *   --baseline-tree DIR  also run in.iked from another built tree (a checkout after `npm ci`),
 *                        labelled "base", beside this tree's: an A/B of a change in one run
 *   --node-args="..."  --baseline-node-args="..."   node options for ours / the baseline's
 *                        daemons (e.g. a GC flag against none, with --baseline-tree .)
 *   --generator-tree DIR the generator (ikeload's runner) from another built tree for the whole
 *                        run, every target alike (default: this tree's, also with --baseline-tree)
 *   --baseline-generator DIR   an A/B of a generator change: every target and round measured twice,
 *                        with this tree's generator and with DIR's (its dist/src/load), in
 *                        alternating order, and a table compares the two generators' CPU by thread
 *                        and the rates against strongSwan under each; with --half-peak, the closed
 *                        loop uses this tree's generator and each half-peak run is repeated with
 *                        DIR's, which one goes first alternating
 *   --phase1-only  --fresh-dh  --gen-workers N
 *   --gen-gc parallel|single   the generator's (this process's) V8 GC threads: `single` re-runs the
 *                        bench under `node --single-threaded-gc` (default: single with --half-peak
 *                        --pin, for the closed-loop rounds of such a run too; parallel otherwise;
 *                        the header says which)
 *   --gen-node-args="..."  node options for the generator (this process), e.g.
 *                        "--no-allocation-site-pretenuring": the bench re-runs itself with them
 * With several rounds each column shows the median; the order of the targets changes from round
 * to round (rounds.ts: a rotation when the rounds are a multiple of the targets, otherwise pairs of
 * rounds in opposite orders) and is printed per group.
 * Addresses: strongSwan 127.0.7.30:17300, ours 127.0.7.31:17310.., sources 127.7.3.x:500.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { interopSkip, sharedDir } from "../../test/helpers/interop.js";
import { lineChart } from "./chart.js";
import { orderRule, roundOrders, warmupBefore, warmupPlanOf, type WarmupPlan } from "./rounds.js";
import { measureRound, summarise, type GeneratorParams, type Round, type Summary } from "./measure.js";
import { startProbe, type Probe, type ProbeEvent } from "./latency-probe.js";
import { oldSpaceIn, spanOf, type OldSpaceFigures, type OldSpaceRise } from "./old-space.js";
import { affinityOf, DEFAULT_PINNING, pinProcess, type Pinning } from "./pin.js";
import { projectEfficiency, projectRate } from "./projection.js";
import { schedPreflight } from "./sched-record.js";
import { printSched, schedWindow, type SchedCell } from "./sched-window.js";
import { overlaps, tailAndMiddle, type Overlaps } from "./tail.js";
import { startBenchResponder, startDaemon, startStrongSwan, type Certs, type DaemonVariant, type Setup, type Target, type TargetKind } from "./targets.js";

const PSK = "load-bench-secret";
const SS = { address: "127.0.7.30", port: 17300 };
const OURS = { address: "127.0.7.31", port: 17310 };
const SOURCE = "127.7.3.1";
const PEERS = "127.7.3.0/24";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CA_SUBJECT = "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA";
const RESPONDER_DN = "C=US, O=IKEv1 Interop Test, CN=handshake bench responder";
/** Cores of the gateway the sweep projects for. */
const PROJECT_CORES = 16;

interface Params {
  readonly gen: GeneratorParams;
  readonly count: number;
  readonly warmup: WarmupPlan;
  readonly groups: readonly number[];
  readonly workers: readonly number[];
  readonly responders: readonly TargetKind[];
  readonly rounds: number;
  readonly halfPeak: boolean;
  readonly halfPeakSecs: number;
  readonly pin: Pinning | undefined;
  /** With --probe: the directory the daemons' probes write to. */
  readonly probeDir: string | undefined;
  /** With --sched: where the recordings go, and whether they stay. */
  readonly sched: { readonly dir: string; readonly keep: boolean } | undefined;
  /** With --baseline-generator and --half-peak: the tree whose ikeload also drives each half-peak run. */
  readonly genBaseline: string | undefined;
  readonly sweep: boolean;
  readonly chartDir: string;
  /** With --baseline-generator (closed loop): the other tree's generator, measured beside `gen` in every round. */
  readonly baseGen: GeneratorParams | undefined;
  readonly variants: readonly DaemonVariant[];
}

/** A CA, the responder's certificate (both responders use it) and the generator's, RSA-2048, in a temporary directory. */
function makeCerts(): Certs {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-bench-certs-"));
  const out = execFileSync("bash", [path.join(sharedDir(), "interop/make-certs.sh"), "--dir", dir, RESPONDER_DN, "C=US, O=IKEv1 Interop Test, CN=handshake bench generator"], {
    encoding: "utf8",
    env: { ...process.env, IKEV1_INTEROP_QUIET: "1" },
  });
  const [r, g] = out.trim().split("\n").map((line) => {
    const kv = (k: string) => new RegExp(`(?:^| )${k}=(.*?)(?= [a-z]+=|$)`).exec(line)?.[1] ?? "";
    return { cert: kv("cert"), key: kv("key"), ca: kv("ca") };
  });
  return { dir, ca: r!.ca, caSubject: CA_SUBJECT, responder: { cert: r!.cert, key: r!.key, subject: RESPONDER_DN }, generator: { cert: g!.cert, key: g!.key } };
}

/** One measured target of one group. */
interface Cell {
  readonly group: number;
  readonly target: Pick<Target, "kind" | "label" | "poolThreads">;
  readonly rounds: Round[];
  /** With --baseline-generator: the same rounds driven by the other tree's generator. */
  readonly baseGenRounds: Round[];
  halfPeak?: Round;
  /** With --baseline-generator and --half-peak: the same half-peak run, right after, with that tree's ikeload as the generator. */
  halfPeakGenBase?: Round;
  /** With --probe: the half-peak run's slowest 1% and middle 10% against the stalls. */
  tail?: { readonly tail: Overlaps; readonly middle: Overlaps };
  /** With --probe, our daemons: the responder's old-space growth per negotiation and full GCs in the half-peak run. */
  oldSpace?: OldSpaceFigures;
  /** With --sched: the half-peak run by the scheduler. */
  sched?: SchedCell;
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "-");
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "-");
const threadsOf = (c: Cell): string => (c.target.poolThreads === undefined ? "(charon)" : String(c.target.poolThreads));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Run every cell and print the tables. */
export async function handshakeBench(p: Params): Promise<void> {
  let certs: Certs | undefined;
  try {
    // Inside the try: a skipped run still removes the temporary directories paramsOf made.
    const skip = interopSkip();
    if (skip !== false) {
      console.log(`handshake: skipped, strongSwan harness unavailable: ${skip}`);
      return;
    }
    certs = p.gen.auth === "rsa" ? makeCerts() : undefined;
    if (p.pin !== undefined) pinProcess(process.pid, p.pin.generator);
    printHeader(p, certs);
    const cells: Cell[] = [];
    for (const group of p.groups) cells.push(...(await measureGroup(p, certs, group)));
    printTables(cells);
    if (p.sweep) for (const group of p.groups) writeSweep(p, cells.filter((c) => c.group === group), group);
  } finally {
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
    if (p.probeDir !== undefined) rmSync(p.probeDir, { recursive: true, force: true });
    if (p.sched !== undefined && !p.sched.keep) rmSync(p.sched.dir, { recursive: true, force: true });
  }
}

function printHeader(p: Params, certs: Certs | undefined): void {
  const auth = certs ? "RSA-2048 signatures (one CA; strongSwan and ours hold the same responder certificate)" : "PSK";
  console.log(
    `Main Mode ${auth} aes128/sha1${p.gen.phase1Only ? " only" : " + Quick Mode ESP aes128-sha1 (latency: MM1 to QM3)"}, closed loop of ${p.gen.concurrency}, ` +
      `${p.count} negotiations per cell and round, ${p.rounds} round(s), each column the median; Deletes after each.\n` +
      `Warm-up, right before each target's round: first round in.iked ${p.warmup.first.daemon}, strongSwan ${p.warmup.first.strongswan}${p.responders.includes("bench") ? `, responder.ts ${p.warmup.first.bench}` : ""}; later rounds ${p.warmup.each}. ` +
      `Order: ${p.rounds > 1 ? "per group below" : "one round"}.\n` +
      `Generator: this process, ${p.gen.tree === undefined ? "this tree's ikeload" : `the ikeload of ${p.gen.tree}`} (every target alike${p.baseGen ? `; each round also with the ikeload of ${p.baseGen.tree}, alternating` : ""}), ${p.gen.workers} pool thread(s), DH key pairs ${p.gen.freshDh ? "fresh per negotiation" : "reused (one per group: one modexp per negotiation)"}. ` +
      `Generator GC: ${singleThreadedGc() ? "--single-threaded-gc (GC on its event loop thread only)" : "V8's default (parallel and concurrent GC threads)"}; its node options: ${process.execArgv.join(" ") || "none"}. ` +
      `in.iked: detached, default logging, --kernel memory${p.responders.includes("bench") ? "; responder.ts: the engine without the daemon (comparison)" : ""}.\n` +
      `CPU: ms per negotiation, user + system from /proc (10 ms ticks). main: the event loop thread (charon: its busiest thread); pool: each worker; ` +
      `v8: V8 platform threads (GC, compilation); libuv: libuv's pool and the signal thread; ceiling: 1000 / main.` +
      (p.pin ? `\nPinned (--pin): responders on CPU ${p.pin.responder}, the generator on CPU ${p.pin.generator} (now: ${affinityOf(process.pid).join(" ")}).` : "") +
      (p.probeDir ? "\nProbed (--probe): in.iked and the generator record GC pauses and loop lags (a 5 ms timer); the half-peak figures include the probes' cost." : ""),
  );
}

async function startTargets(p: Params, s: Setup): Promise<Target[]> {
  const targets: Target[] = [await startStrongSwan(s, SS.address, SS.port)];
  let port = OURS.port;
  try {
    for (const kind of p.responders) {
      for (const v of kind === "bench" ? [undefined] : p.variants) {
        for (const w of p.workers) {
          targets.push(v === undefined ? await startBenchResponder(s, OURS.address, port, w) : await startDaemon(s, OURS.address, port, w, v));
          port++;
        }
      }
    }
    if (p.pin !== undefined) {
      for (const t of targets) {
        pinProcess(t.pid, p.pin.responder);
        const cpus = affinityOf(t.pid);
        if (cpus.length !== 1 || cpus[0] !== p.pin.responder) throw new Error(`${t.label}: pinned to ${p.pin.responder}, its threads show ${cpus.join(" ")}`);
      }
    }
  } catch (err) {
    for (const t of targets) await t.stop();
    throw err;
  }
  return targets;
}

async function measureGroup(p: Params, certs: Certs | undefined, group: number): Promise<Cell[]> {
  const targets = await startTargets(p, { group, psk: PSK, peers: PEERS, certs });
  const cells: Cell[] = targets.map((t) => ({ group, target: { kind: t.kind, label: t.label, poolThreads: t.poolThreads }, rounds: [], baseGenRounds: [] }));
  const genEvents = new Map<number, ProbeEvent[]>();
  try {
    // Vary the order so that neither a slow spell of the shared machine nor a position always hits one target.
    const orders = roundOrders(targets.length, p.rounds);
    if (p.rounds > 1) {
      const name = (t: Target): string => `${t.label}${t.poolThreads === undefined ? "" : `/${t.poolThreads}`}`;
      console.log(`group ${group}, order (${orderRule(targets.length, p.rounds)}):`);
      for (const [r, o] of orders.entries()) console.log(`  round ${r + 1}: ${o.map((i) => name(targets[i]!)).join(", ")}`);
    }
    for (const [round, order] of orders.entries()) {
      for (const i of order) {
        const warmup = warmupBefore(p.warmup, targets[i]!.kind, round);
        // With two generators, each goes first in every other round.
        const baseFirst = p.baseGen !== undefined && round % 2 === 1;
        if (baseFirst) cells[i]!.baseGenRounds.push(await measureRound(p.baseGen!, certs, targets[i]!, group, p.count, warmup));
        cells[i]!.rounds.push(await measureRound(p.gen, certs, targets[i]!, group, p.count, warmup));
        if (p.baseGen !== undefined && !baseFirst) cells[i]!.baseGenRounds.push(await measureRound(p.baseGen, certs, targets[i]!, group, p.count, warmup));
      }
    }
    if (p.halfPeak) {
      for (const [i, t] of targets.entries()) {
        const rate = summarise(cells[i]!.rounds).rate / 2;
        const probe: Probe | undefined = p.probeDir !== undefined ? startProbe() : undefined;
        const count = Math.max(60, Math.round(rate * p.halfPeakSecs));
        // With a baseline generator, which of the two runs first alternates from cell to cell.
        const baseFirst = p.genBaseline !== undefined && (i + group) % 2 === 1;
        if (baseFirst) cells[i]!.halfPeakGenBase = await measureRound({ ...p.gen, tree: p.genBaseline }, certs, t, group, count, 0, rate);
        if (p.sched !== undefined) {
          const name = `g${group}-${t.label.replace(/\W+/g, "_")}-${t.poolThreads ?? "charon"}`;
          const w = await schedWindow(p.sched.dir, name, t, p.gen.workers, p.sched.keep, (onProgress) => measureRound(p.gen, certs, t, group, count, 0, rate, onProgress));
          cells[i]!.halfPeak = w.round;
          cells[i]!.sched = w.sched;
        } else {
          cells[i]!.halfPeak = await measureRound(p.gen, certs, t, group, count, 0, rate);
        }
        probe?.stop();
        if (probe !== undefined) genEvents.set(i, probe.events());
        if (p.genBaseline !== undefined && !baseFirst) cells[i]!.halfPeakGenBase = await measureRound({ ...p.gen, tree: p.genBaseline }, certs, t, group, count, 0, rate);
      }
    }
  } finally {
    for (const t of targets) await t.stop();
  }
  if (p.probeDir !== undefined) {
    for (const [i, t] of targets.entries()) {
      const h = cells[i]!.halfPeak;
      if (h === undefined) continue;
      const file = path.join(p.probeDir, `probe-${t.pid}.json`);
      // charon and responder.ts carry no probe: their columns show "-".
      const resp = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ProbeEvent[]) : undefined;
      const spans = h.samples.map((x) => ({ at: performance.timeOrigin + x.startMs, ms: x.ms }));
      const { tail, middle } = tailAndMiddle(spans);
      cells[i]!.tail = { tail: overlaps(tail, resp, genEvents.get(i) ?? []), middle: overlaps(middle, resp, genEvents.get(i) ?? []) };
      const oldFile = path.join(p.probeDir, `old-${t.pid}.json`);
      if (resp !== undefined && existsSync(oldFile) && spans.length > 0) {
        const { from, to } = spanOf(spans);
        cells[i]!.oldSpace = oldSpaceIn(JSON.parse(readFileSync(oldFile, "utf8")) as OldSpaceRise[], resp, from, to, spans.length);
      }
    }
  }
  return cells;
}

function printTables(cells: readonly Cell[]): void {
  const rows: Record<string, string | number>[] = [];
  const threadRows: Record<string, string | number>[] = [];
  const genRows: Record<string, string | number>[] = [];
  const genAbRows: Record<string, string | number>[] = [];
  const peakRows: Record<string, string | number>[] = [];
  const tailRows: Record<string, string | number>[] = [];
  for (const c of cells) {
    if (c.tail !== undefined) {
      for (const [which, o] of [["slowest 1%", c.tail.tail], ["middle 10%", c.tail.middle]] as const) {
        tailRows.push({
          group: c.group,
          responder: c.target.label,
          "pool threads": threadsOf(c),
          negotiations: which,
          n: o.n,
          "mean ms": f1(o.meanMs),
          "resp GC ms": f1(o.respGc),
          "resp lag ms": f1(o.respLag),
          "lag: running": f2(o.respLagRun),
          "lag: waiting for CPU": f2(o.respLagWait),
          "gen GC ms": f1(o.genGc),
          "gen lag ms": f1(o.genLag),
        });
      }
    }
    const s = summarise(c.rounds);
    const base = summarise(cells.find((b) => b.group === c.group && b.target.kind === "strongswan")!.rounds);
    const main = s.threads?.main ?? s.busiestMs;
    const ss = c.target.kind === "strongswan";
    rows.push({
      group: c.group,
      responder: c.target.label,
      "pool threads": threadsOf(c),
      "est/s": f1(s.rate),
      "range/s": s.rateMin === s.rateMax ? "-" : `${s.rateMin.toFixed(0)}-${s.rateMax.toFixed(0)}`,
      "p50 ms": f1(s.p50),
      "p99 ms": f1(s.p99),
      "resp CPU ms": f2(s.respMs),
      "main ms": f2(main),
      "ceiling/s": f1(1000 / main),
      "gen CPU ms": f2(s.genMs),
      "gen/resp": f2(s.genMs / s.respMs),
      "rate vs SS": ss ? "1 (base)" : f2(s.rate / base.rate),
      "CPU SS/ours": ss ? "1 (base)" : f2(base.respMs / s.respMs),
      failed: s.failed,
    });
    const g = s.genThreads;
    genRows.push({
      group: c.group,
      responder: c.target.label,
      "pool threads": threadsOf(c),
      main: f2(g.main),
      pool: f2(sum(g.pool)),
      "v8 (GC)": f2(g.v8),
      "libuv+signal": f2(g.libuv),
      process: f2(s.genMs),
      "gen / resp": f2(s.genMs / s.respMs),
    });
    if (c.baseGenRounds.length > 0) {
      const o = summarise(c.baseGenRounds);
      const oss = summarise(cells.find((b) => b.group === c.group && b.target.kind === "strongswan")!.baseGenRounds);
      const bg = o.genThreads;
      genAbRows.push({
        group: c.group,
        responder: c.target.label,
        "pool threads": threadsOf(c),
        "gen ms": f2(s.genMs),
        "main/pool/v8": `${f2(g.main)} / ${f2(sum(g.pool))} / ${f2(g.v8)}`,
        "base gen ms": f2(o.genMs),
        "base main/pool/v8": `${f2(bg.main)} / ${f2(sum(bg.pool))} / ${f2(bg.v8)}`,
        "gen / base gen": f2(s.genMs / o.genMs),
        "resp ms (base gen)": `${f2(s.respMs)} (${f2(o.respMs)})`,
        "rate vs SS (base gen)": ss ? "1 (base)" : `${f2(s.rate / base.rate)} (${f2(o.rate / oss.rate)})`,
      });
    }
    if (s.threads !== undefined) {
      const t = s.threads;
      const baseCell = c.target.label === "in.iked" ? cells.find((b) => b.group === c.group && b.target.label === "in.iked base" && b.target.poolThreads === c.target.poolThreads) : undefined;
      const b = baseCell === undefined ? undefined : summarise(baseCell.rounds);
      threadRows.push({
        group: c.group,
        responder: c.target.label,
        "pool threads": threadsOf(c),
        main: f2(t.main),
        pool: t.pool.length === 0 ? "-" : t.pool.map(f2).join(" + "),
        "v8 (GC)": f2(t.v8),
        "libuv+signal": f2(t.libuv),
        "threads sum": f2(t.main + sum(t.pool) + t.v8 + t.libuv),
        process: f2(s.respMs),
        ...(b?.threads !== undefined ? { "main / base": f2(t.main / b.threads.main), "process / base": f2(s.respMs / b.respMs) } : {}),
      });
    }
    for (const [gen, h] of [["this", c.halfPeak], ["base", c.halfPeakGenBase]] as const) {
      if (h === undefined) continue;
      peakRows.push({
        group: c.group,
        responder: c.target.label,
        "pool threads": threadsOf(c),
        ...(c.halfPeakGenBase !== undefined ? { generator: gen } : {}),
        "offered/s": f1(s.rate / 2),
        "est/s": f1(h.rate),
        "p50 ms": f1(h.p50),
        "p95 ms": f1(h.p95),
        "p99 ms": f1(h.p99),
        "p99/p50": f2(h.p99 / h.p50),
        "resp CPU ms": f2(h.respMs),
        "main ms": f2(h.threads?.main ?? h.busiestMs),
        "others (cores)": f2(h.otherCores),
        retransmits: h.retransmits,
        "udp drops": h.udpDrops.inErrors,
        "slowest 1% in 1st s": `${h.tailFirstSec.n}/${h.tailFirstSec.of}`,
        failed: h.report.failed,
        ...(c.tail !== undefined && gen === "this" ? { "old KB/neg": c.oldSpace === undefined ? "-" : f2(c.oldSpace.kbPerNegotiation), "full GCs": c.oldSpace?.fullGcs ?? "-" } : {}),
      });
    }
  }
  console.log("\nRates and CPU per negotiation (ms), medians of the rounds:");
  console.table(rows);
  console.log("\nOur responders' CPU per negotiation by thread (ms); 'process' includes threads that ended:");
  console.table(threadRows);
  console.log("\nThe generator's CPU per negotiation by thread (ms; pool: its crypto pool's threads, which end with each run):");
  console.table(genRows);
  if (genAbRows.length > 0) {
    console.log("\nThe two generators (--baseline-generator), same targets, alternating rounds: this tree's ikeload and the base's, CPU per negotiation (ms), medians:");
    console.table(genAbRows);
  }
  if (peakRows.length > 0) {
    console.log(
      "\nOpen loop at half of each target's closed-loop rate (latency MM1 to QM3); others: the rest of the machine's CPU use meanwhile, in cores;\n" +
        "retransmits: the generator's; udp drops: datagrams this network namespace dropped (InErrors); slowest 1% in 1st s: of the negotiations at or above p99, those started in the run's first second:",
    );
    console.table(peakRows);
  }
  if (tailRows.length > 0) {
    console.log(
      "\nWhere the half-peak latency goes (--probe): per negotiation, mean ms of its span that overlapped the responder's GC pauses and\n" +
        "event-loop lags over 2 ms (charon and responder.ts: not probed), the generator's likewise, and the shares of those responder lags its main thread ran / waited for a CPU:",
    );
    console.table(tailRows);
  }
  const sched = cells.filter((c) => c.sched !== undefined).map((c) => ({ group: c.group, label: c.target.label, threads: threadsOf(c), sched: c.sched! }));
  if (sched.length > 0) printSched(sched);
}

/** The sweep's projection table and chart for one group. */
function writeSweep(p: Params, cells: readonly Cell[], group: number): void {
  const ss = summarise(cells.find((c) => c.target.kind === "strongswan")!.rounds);
  const ours = cells.filter((c) => c.target.kind !== "strongswan" && c.target.poolThreads !== undefined);
  const rows: Record<string, string | number>[] = [];
  const measured: { x: number; y: number }[] = [];
  const projected: { x: number; y: number }[] = [];
  const ceiling: { x: number; y: number }[] = [];
  for (const c of ours) {
    const s = summarise(c.rounds);
    const t = s.threads!;
    const cpu = { main: t.main, pool: sum(t.pool), total: s.respMs };
    const n = c.target.poolThreads!;
    const proj = projectRate(cpu, n, PROJECT_CORES);
    measured.push({ x: n, y: s.rate });
    ceiling.push({ x: n, y: 1000 / t.main });
    rows.push({
      group,
      responder: c.target.label,
      "pool threads": n,
      "measured est/s": f1(s.rate),
      "rate vs SS": f2(s.rate / ss.rate),
      "main ms": f2(t.main),
      "pool ms": f2(cpu.pool),
      "total ms": f2(cpu.total),
      [`projected est/s (${PROJECT_CORES} cores)`]: f1(proj.rate),
      "bound by": proj.bound,
    });
  }
  // The projection at 1, 2, 4, 8, 15 threads from the CPU split of the most-threaded measured cell.
  const widest = ours.filter((c) => c.target.poolThreads! > 0).sort((a, b) => b.target.poolThreads! - a.target.poolThreads!)[0];
  const projRows: Record<string, string | number>[] = [];
  if (widest !== undefined) {
    const s = summarise(widest.rounds);
    const cpu = { main: s.threads!.main, pool: sum(s.threads!.pool), total: s.respMs };
    for (const n of [1, 2, 4, 8, 15]) {
      const r = projectRate(cpu, n, PROJECT_CORES);
      projected.push({ x: n, y: r.rate });
      projRows.push({ "pool threads": n, "projected est/s": f1(r.rate), "bound by": r.bound, "scaling efficiency": f2(projectEfficiency(cpu, n, PROJECT_CORES)) });
    }
    console.log(`\nRate against pool threads, group ${group} (measured on this machine, ${ss.rate.toFixed(1)}/s for strongSwan in the same run):`);
    console.table(rows);
    console.log(
      `\nProjection (not a measurement) for a ${PROJECT_CORES}-core gateway, the generator elsewhere, from the CPU split measured with ` +
        `${widest.target.poolThreads} pool thread(s) (main ${f2(cpu.main)}, pool ${f2(cpu.pool)}, total ${f2(cpu.total)} ms per negotiation):`,
    );
    console.table(projRows);
  }
  const ssProjected = (PROJECT_CORES * 1000) / ss.respMs;
  const chart = lineChart({
    title: `Negotiations per second against pool threads, DH group ${group}`,
    subtitle: [
      `Main Mode ${p.gen.auth.toUpperCase()} + Quick Mode, closed loop of ${p.gen.concurrency}; measured on a shared 2-core machine with the generator on the same cores;`,
      `projected: ${PROJECT_CORES} cores from per-thread CPU (a projection, not a measurement); strongSwan projected from its CPU per negotiation.`,
    ],
    xLabel: "pool threads",
    yLabel: "established negotiations per second",
    series: [
      { name: "in.iked, measured", points: measured, color: "#1f77b4" },
      { name: "strongSwan, measured", points: measured.map((m) => ({ x: m.x, y: ss.rate })), color: "#d62728", dashed: true },
      { name: "in.iked main-thread ceiling", points: ceiling, color: "#9467bd", dashed: true },
      { name: `in.iked projected, ${PROJECT_CORES} cores`, points: projected, color: "#2ca02c" },
      { name: `strongSwan projected, ${PROJECT_CORES} cores`, points: projected.map((m) => ({ x: m.x, y: ssProjected })), color: "#ff7f0e", dashed: true },
    ],
  });
  mkdirSync(p.chartDir, { recursive: true });
  const base = path.join(p.chartDir, `handshake-threads-${p.gen.auth}-g${group}`);
  writeFileSync(`${base}.svg`, chart);
  writeFileSync(`${base}.json`, JSON.stringify({ group, auth: p.gen.auth, strongSwan: ss, ours: ours.map((c) => ({ poolThreads: c.target.poolThreads, ...summarise(c.rounds) })) }, null, 1) + "\n");
  console.log(`chart: ${base}.svg (data: ${base}.json)`);
}

/** Whether this process (the generator) runs with V8's GC on its main thread only. */
function singleThreadedGc(): boolean {
  return process.execArgv.includes("--single-threaded-gc");
}

/**
 * The generator's GC for these options: `--gen-gc`, else single-threaded for a pinned half-peak
 * run (the generator then has one CPU, which V8's GC threads would share with its event loop;
 * bench README, "the bench's warm-up, order and generator GC"), else V8's default.
 */
export function genGcOf(args: readonly string[]): "single" | "parallel" {
  const { values: v } = parseArgs({ args: [...args], options: { "gen-gc": { type: "string" }, "half-peak": { type: "boolean" }, pin: { type: "boolean" } }, strict: false });
  const g = v["gen-gc"];
  if (g === "single" || g === "parallel") return g;
  return v["half-peak"] === true && v.pin === true ? "single" : "parallel";
}

/** The node options the generator (this process) needs for these options: `--gen-node-args`, and `--single-threaded-gc` per genGcOf. */
export function genNodeArgsOf(args: readonly string[]): string[] {
  const { values: v } = parseArgs({ args: [...args], options: { "gen-node-args": { type: "string" } }, strict: false });
  const extra = typeof v["gen-node-args"] === "string" ? v["gen-node-args"].split(/\s+/).filter((w) => w !== "") : [];
  return genGcOf(args) === "single" ? [...extra, "--single-threaded-gc"] : extra;
}

/** Set when the bench re-ran itself with the generator's node options, so that it does so once. */
const REEXEC_ENV = "IKED_HANDSHAKE_BENCH_REEXEC";

/** Run the bench here, or re-run it under node with the generator's options when this process lacks some. */
async function runBench(args: readonly string[]): Promise<void> {
  const need = genNodeArgsOf(args).filter((a) => !process.execArgv.includes(a));
  if (need.length > 0) {
    if (process.env[REEXEC_ENV] !== undefined) throw new Error(`handshake bench: re-run without the node options ${need.join(" ")}`);
    const r = spawnSync(process.execPath, [...process.execArgv, ...need, fileURLToPath(import.meta.url), ...args], { stdio: "inherit", env: { ...process.env, [REEXEC_ENV]: "1" } });
    if (r.status !== 0) throw new Error(`handshake bench under ${need.join(" ")}: exit ${r.status ?? r.signal}`);
    return;
  }
  if (genGcOf(args) === "parallel" && singleThreadedGc()) throw new Error("--gen-gc parallel: this process was started with --single-threaded-gc");
  await handshakeBench(paramsOf(args));
}

const list = (text: string): number[] => text.split(",").map((s) => Number(s.trim()));

/** The options, from `npm run bench -- handshake ...` or the command line. */
function paramsOf(args: readonly string[]): Params {
  const { values: v } = parseArgs({
    args: [...args],
    options: {
      auth: { type: "string", default: "psk" },
      count: { type: "string", default: "200" },
      concurrency: { type: "string", default: "16" },
      warmup: { type: "string" },
      "warmup-each": { type: "string" },
      "gen-gc": { type: "string" },
      "gen-node-args": { type: "string" },
      groups: { type: "string" },
      workers: { type: "string" },
      responders: { type: "string", default: "daemon" },
      "phase1-only": { type: "boolean", default: false },
      rounds: { type: "string", default: "1" },
      "half-peak": { type: "boolean", default: false },
      "half-peak-secs": { type: "string", default: "5" },
      pin: { type: "boolean", default: false },
      probe: { type: "boolean", default: false },
      sched: { type: "boolean", default: false },
      "sched-keep": { type: "string" },
      sweep: { type: "boolean", default: false },
      "chart-dir": { type: "string", default: path.resolve(HERE, "../../../bench/results") },
      "fresh-dh": { type: "boolean", default: false },
      "gen-workers": { type: "string", default: "1" },
      "generator-tree": { type: "string" },
      "baseline-generator": { type: "string" },
      "baseline-tree": { type: "string" },
      "node-args": { type: "string", default: "" },
      "baseline-node-args": { type: "string", default: "" },
    },
  });
  if (v.auth !== "psk" && v.auth !== "rsa") throw new Error(`--auth: not psk or rsa: ${v.auth}`);
  const responders = v.responders.split(",").map((s) => s.trim());
  for (const r of responders) if (r !== "daemon" && r !== "bench") throw new Error(`--responders: not daemon or bench: ${r}`);
  const sweep = v.sweep;
  const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== "");
  // Every check before the temporary directories below, so that a refusal leaves none behind.
  const warmup = warmupPlanOf(v.warmup, v["warmup-each"]);
  const genGc = v["gen-gc"];
  if (genGc !== undefined && genGc !== "single" && genGc !== "parallel") throw new Error(`--gen-gc: not single or parallel: ${genGc}`);
  const halfPeakSecs = Number(v["half-peak-secs"]);
  if (!(halfPeakSecs > 0)) throw new Error(`--half-peak-secs: not a positive number: ${v["half-peak-secs"]}`);
  if (v.probe && !v["half-peak"]) throw new Error("--probe: only with --half-peak");
  const wantSched = v.sched || v["sched-keep"] !== undefined;
  if (wantSched && !v["half-peak"]) throw new Error("--sched: only with --half-peak");
  if (wantSched) schedPreflight();
  let probeDir: string | undefined;
  const probeArgs: string[] = [];
  if (v.probe) {
    probeDir = mkdtempSync(path.join(tmpdir(), "iked-bench-probe-"));
    // The detached daemon inherits both the node options and the environment.
    process.env.IKED_LATENCY_PROBE_DIR = probeDir;
    probeArgs.push("--import", pathToFileURL(path.join(HERE, "latency-probe-preload.js")).href);
  }
  let sched: Params["sched"];
  if (wantSched) {
    const keep = v["sched-keep"];
    if (keep !== undefined) mkdirSync(keep, { recursive: true });
    sched = { dir: keep !== undefined ? path.resolve(keep) : mkdtempSync(path.join(tmpdir(), "iked-bench-sched-")), keep: keep !== undefined };
  }
  const variants: DaemonVariant[] = [{ label: "in.iked", nodeArgs: [...probeArgs, ...words(v["node-args"])] }];
  if (v["baseline-tree"] !== undefined) variants.push({ label: "in.iked base", tree: path.resolve(v["baseline-tree"]), nodeArgs: [...probeArgs, ...words(v["baseline-node-args"])] });
  const gen: GeneratorParams = {
    auth: v.auth,
    psk: PSK,
    source: SOURCE,
    concurrency: Number(v.concurrency),
    phase1Only: v["phase1-only"],
    workers: Number(v["gen-workers"]),
    freshDh: v["fresh-dh"],
    tree: v["generator-tree"] === undefined ? undefined : path.resolve(v["generator-tree"]),
  };
  const baseGenTree = v["baseline-generator"];
  return {
    gen,
    count: Number(v.count),
    warmup,
    groups: list(v.groups ?? (v.auth === "rsa" || sweep ? "14" : "2,5,14")),
    workers: list(v.workers ?? (sweep ? "0,1,2,4" : "0,1,2")),
    responders: responders as TargetKind[],
    rounds: Math.max(1, Number(v.rounds)),
    halfPeak: v["half-peak"],
    halfPeakSecs,
    pin: v.pin ? DEFAULT_PINNING : undefined,
    probeDir,
    sched,
    genBaseline: baseGenTree === undefined || !v["half-peak"] ? undefined : path.resolve(baseGenTree),
    sweep,
    chartDir: v["chart-dir"],
    variants,
    baseGen: baseGenTree === undefined || v["half-peak"] ? undefined : { ...gen, tree: path.resolve(baseGenTree) },
  };
}

/** `npm run bench -- handshake [options]`: the short default run. */
export default async function (args: readonly string[] = []): Promise<void> {
  await runBench(args);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBench(process.argv.slice(2));
