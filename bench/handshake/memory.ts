/**
 * Goal 5 of issue 14, measured: what one held Phase 1 + Phase 2 pair costs the real in.iked.
 * Measurement only (not run in CI).
 *
 * The daemon runs as a gateway runs it (daemon-target.ts: detached, default logging, `--kernel
 * memory`, so the IPsec SAs it installs live in its own in-memory SADB, which a real kernel would
 * hold instead), with `--expose-gc` and a preloaded SIGUSR2 handler (PRELOAD below) through which
 * this bench forces a full GC or writes a heap snapshot. After `--warmup` negotiations that are
 * deleted again, ikeload `--hold` runs (Main Mode PSK aes128/sha1 + Quick Mode ESP aes128-sha1, no
 * PFS, Phase 2 lifetime 3000 s, concurrency 8) bring the held pairs up to each of `--counts`, each
 * batch from new source addresses (so no INITIAL-CONTACT tears down an earlier batch). At each
 * count, after `--settle` seconds (65 outlasts the 60 s a finished Quick Mode keeps its answer) and
 * 3 s after a forced GC: RSS, JS heap used and committed, memory outside the heap, ArrayBuffers and locked
 * memory (VmLck: libsodium's secure memory), the resident memory by kind of mapping (smaps:
 * V8 pages of all isolates, malloc's main arena, other anonymous, files), and the largest and
 * 99th-percentile event-loop delay of the daemon while it settled (its main-thread stalls: GCs,
 * the heap reducer after the load; monitorEventLoopDelay, 10 ms resolution). Between the first and
 * the last count it prints each per pair. `--snapshots` also sums a heap snapshot at each count by class and the classes of its
 * first retainers (`--depth` levels; heap-snapshot.ts) and prints the classes that grew the most
 * per pair (a snapshot's own garbage stays in RSS: take RSS figures from runs without it).
 * With `--idle`, RSS and heap are read once more after the idle windows (after a forced GC).
 * `--keep-snapshots DIR` keeps each count's snapshot there (`N.heapsnapshot`) for a closer look.
 * `--idle S`: the daemon's CPU over three windows of S seconds while the last count is held. `--tree DIR`: run the
 * daemon of another built tree (a baseline).
 *
 *   node --openssl-legacy-provider dist/bench/handshake/memory.js [--counts 2000,4000]
 *     [--warmup 200] [--group 2] [--settle S] [--snapshots] [--top 30] [--depth 1] [--keep-snapshots DIR] [--idle S]
 *     [--tree DIR]
 * (inside a network namespace: it uses 127.0.7.31:17310 and sources from 127.7.3.1 on.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";
import { startDaemonTarget, type DaemonTarget } from "./daemon-target.js";
import { diffPerUnit, summariseSnapshot, type HeapSummary } from "./heap-snapshot.js";
import { processCpuSecs } from "./thread-cpu.js";

const PSK = "memory-bench-secret";
const TARGET = { address: "127.0.7.31", port: 17310 };

/**
 * The daemon's resident memory by kind of mapping (/proc/PID/smaps), bytes: anonymous mappings of
 * exactly 256 KiB are V8 heap pages (of every isolate: the main thread's and the pool workers'),
 * `[heap]` is glibc malloc's main arena, other anonymous mappings are thread arenas, libsodium's
 * guarded and slab memory, stacks and V8's larger reservations; the rest is file-backed.
 */
interface ResidentParts {
  readonly v8Pages: number;
  readonly mallocMain: number;
  readonly otherAnon: number;
  readonly files: number;
}

function residentParts(pid: number): ResidentParts {
  const parts = { v8Pages: 0, mallocMain: 0, otherAnon: 0, files: 0 };
  let kind: keyof ResidentParts = "files";
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      const name = head[3]!.trim();
      kind = name === "[heap]" ? "mallocMain" : name !== "" ? "files" : size === 256 * 1024 ? "v8Pages" : "otherAnon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[kind] += Number(rss[1]) * 1024;
  }
  return parts;
}

/** Negotiate `count` pairs from sources starting at `source`; `hold` keeps them up at the target. */
async function load(group: number, source: string, count: number, hold: boolean): Promise<void> {
  const a = parseLoadArgs([
    "--target", `${TARGET.address}:${TARGET.port}`,
    "--source", source,
    "--concurrency", "8",
    "--count", String(count),
    "--psk", PSK,
    "--cipher", "aes128",
    "--hash", "sha1",
    "--dh", String(group),
    "--p2-lifetime", "3000",
    "--retransmit-init", "2000",
    "--expire", "30",
    ...(hold ? ["--hold"] : []),
  ]);
  if (!a.ok || a.help) throw new Error(`load options: ${JSON.stringify(a)}`);
  const r = await runLoad(a.value);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  if (r.value.established !== count) throw new Error(`${count} started, ${r.value.established} established: ${JSON.stringify(r.value.failures)}`);
}

/**
 * Preloaded into the daemon (`--require`, with `--expose-gc`): on SIGUSR2 it reads what the bench
 * asks for from `request` ("gc" or "snapshot PATH"), forces a full GC (a snapshot does its own),
 * and writes `process.memoryUsage()` to `answer` 3 s later (after what follows a full GC: V8's
 * freeing of ArrayBuffer memory, the daemon's malloc trim). The daemon itself is unchanged.
 */
const PRELOAD = `
const fs = require("node:fs");
const path = require("node:path");
const v8 = require("node:v8");
const { monitorEventLoopDelay } = require("node:perf_hooks");
const dir = process.env.IKED_MEMORY_BENCH_DIR;
let lag;
const answer = (o) => {
  fs.writeFileSync(path.join(dir, "answer.tmp"), JSON.stringify(o));
  fs.renameSync(path.join(dir, "answer.tmp"), path.join(dir, "answer"));
};
process.on("SIGUSR2", () => {
  const ask = fs.readFileSync(path.join(dir, "request"), "utf8").trim();
  if (ask === "lag") {
    lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    return answer({});
  }
  const stall = lag === undefined ? {} : { lagMaxMs: lag.max / 1e6, lagP99Ms: lag.percentile(99) / 1e6 };
  lag?.disable();
  lag = undefined;
  if (ask.startsWith("snapshot ")) v8.writeHeapSnapshot(ask.slice(9));
  else { globalThis.gc(); globalThis.gc(); }
  // What the daemon does after a full GC runs first: V8 frees ArrayBuffer memory on a task, and
  // the daemon trims malloc's arenas a second after a full GC (src/daemon/malloc-trim.ts).
  setTimeout(() => {
    const locked = /VmLck:\\s+(\\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    answer({ ...process.memoryUsage(), locked: locked ? Number(locked[1]) * 1024 : 0, ...stall });
  }, 3000);
});
`;

/**
 * `process.memoryUsage()` of the daemon, its mlocked bytes (VmLck: libsodium secure memory), and,
 * when a "lag" request came before, the largest and 99th-percentile event-loop delay since then.
 */
type MemoryUsage = ReturnType<typeof process.memoryUsage> & { readonly locked: number; readonly lagMaxMs?: number; readonly lagP99Ms?: number };

/**
 * Ask the daemon's preload for a GC (or a snapshot to `snapshotFile`, or with "lag" to start
 * measuring its event-loop delay); wait (bounded) for its answer.
 */
async function ask(t: DaemonTarget, dir: string, snapshotFile?: string | "lag"): Promise<MemoryUsage> {
  const answer = path.join(dir, "answer");
  fs.rmSync(answer, { force: true });
  fs.writeFileSync(path.join(dir, "request"), snapshotFile === undefined ? "gc" : snapshotFile === "lag" ? "lag" : `snapshot ${snapshotFile}`);
  process.kill(t.pid, "SIGUSR2");
  const until = Date.now() + 300_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    if (fs.existsSync(answer)) return JSON.parse(fs.readFileSync(answer, "utf8")) as MemoryUsage;
  }
  throw new Error("the daemon did not answer in 300 s");
}

interface Point {
  readonly pairs: number;
  readonly mem: MemoryUsage;
  readonly resident: ResidentParts;
  readonly heap: HeapSummary | undefined;
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(2).padStart(8);

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      counts: { type: "string", default: "2000,4000" },
      warmup: { type: "string", default: "200" },
      group: { type: "string", default: "2" },
      settle: { type: "string", default: "0" },
      snapshots: { type: "boolean", default: false },
      top: { type: "string", default: "30" },
      depth: { type: "string", default: "1" },
      tree: { type: "string" },
      idle: { type: "string", default: "0" },
      "keep-snapshots": { type: "string" },
    },
  });
  const counts = v.counts.split(",").map(Number);
  const group = Number(v.group);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-memory-bench-"));
  const preload = path.join(dir, "gc-on-signal.cjs");
  fs.writeFileSync(preload, PRELOAD);
  process.env.IKED_MEMORY_BENCH_DIR = dir;
  const t = await startDaemonTarget({
    ...TARGET,
    nattPort: TARGET.port + 1,
    workers: 1,
    peers: "127.7.0.0/16",
    psk: PSK,
    dhGroup: group,
    nodeArgs: ["--expose-gc", "--require", preload],
    ...(v.tree !== undefined ? { tree: v.tree } : {}),
  });
  const points: Point[] = [];
  try {
    const warmup = Number(v.warmup);
    if (warmup > 0) await load(group, "127.7.3.1", warmup, false);
    let held = 0;
    let batch = 10;
    for (const n of counts) {
      await load(group, `127.7.${batch++}.1`, n - held, true);
      held = n;
      // A finished Quick Mode keeps its answer for retransmissions for 60 s (quick-handler.ts):
      // --settle 65 measures the steady state of pairs held longer than that.
      // The daemon's event-loop delay while it settles: what it does after load (its GCs, its
      // heap reducer) as a stall of the main thread.
      await ask(t, dir, "lag");
      if (Number(v.settle) > 0) await new Promise((r) => setTimeout(r, Number(v.settle) * 1000));
      const mem = await ask(t, dir);
      const resident = residentParts(t.pid);
      let heap: HeapSummary | undefined;
      if (v.snapshots) {
        const file = path.join(dir, `${n}.heapsnapshot`);
        await ask(t, dir, file);
        heap = summariseSnapshot(file, Number(v.depth));
        if (v["keep-snapshots"] !== undefined) fs.copyFileSync(file, path.join(v["keep-snapshots"], `${n}.heapsnapshot`));
        fs.rmSync(file);
      }
      points.push({ pairs: n, mem, resident, heap });
      const mb = (x: number): string => (x / 1e6).toFixed(1);
      console.log(
        `${n} pairs held, after a forced GC: RSS ${mb(mem.rss)} MB, JS heap used ${mb(mem.heapUsed)} MB of ${mb(mem.heapTotal)} MB, ` +
          `external ${mb(mem.external)} MB (ArrayBuffers ${mb(mem.arrayBuffers)} MB), locked ${mb(mem.locked)} MB; ` +
          `while settling, event-loop delay max ${mem.lagMaxMs?.toFixed(0)} ms, p99 ${mem.lagP99Ms?.toFixed(0)} ms`,
      );
    }
    // Three windows: V8 may still shrink its heap (GCs) in the first after the load and the forced GC.
    const idleSecs = Number(v.idle);
    for (let w = 1; idleSecs > 0 && w <= 3; w++) {
      const cpu0 = processCpuSecs(t.pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, idleSecs * 1000));
      const wall = (performance.now() - t0) / 1000;
      const cpu = processCpuSecs(t.pid) - cpu0;
      console.log(`idle window ${w}, ${counts[counts.length - 1]} pairs held: ${(cpu * 1000).toFixed(0)} ms of CPU in ${wall.toFixed(1)} s, ${((100 * cpu) / wall).toFixed(2)}% of a core`);
    }
    if (idleSecs > 0) {
      // Again after the idle windows: by then a memory-reducing GC (V8's memory reducer, in.iked's
      // heap reducer) has run in either tree, where at the measurement above it may not have yet.
      const late = await ask(t, dir);
      const mb = (x: number): string => (x / 1e6).toFixed(1);
      console.log(
        `after the idle windows, ${counts[counts.length - 1]} pairs held, after a forced GC: RSS ${mb(late.rss)} MB, JS heap used ${mb(late.heapUsed)} MB of ${mb(late.heapTotal)} MB, ` +
          `external ${mb(late.external)} MB, locked ${mb(late.locked)} MB`,
      );
    }
  } finally {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const a = points[0]!;
  const b = points[points.length - 1]!;
  const units = b.pairs - a.pairs;
  if (units <= 0) return;
  const per = (f: (m: MemoryUsage) => number): string => kb((f(b.mem) - f(a.mem)) / units);
  console.log(`\nKB per pair, ${a.pairs} -> ${b.pairs} pairs (group ${group}, forced GC${v.settle !== "0" ? `, ${v.settle} s settled` : ""}):`);
  console.log(`  RSS                        ${per((m) => m.rss)}`);
  console.log(`  JS heap used               ${per((m) => m.heapUsed)}`);
  console.log(`  JS heap committed          ${per((m) => m.heapTotal)}`);
  console.log(`  external (outside the heap) ${per((m) => m.external)}`);
  console.log(`    of which ArrayBuffers    ${per((m) => m.arrayBuffers)}`);
  console.log(`  locked (secure memory)     ${per((m) => m.locked)}`);
  console.log(`  RSS - heap committed - external ${per((m) => m.rss - m.heapTotal - m.external)}`);
  const res = (f: (r: ResidentParts) => number): string => kb((f(b.resident) - f(a.resident)) / units);
  console.log(`  resident by mapping: V8 pages (all isolates) ${res((r) => r.v8Pages)}, malloc main arena ${res((r) => r.mallocMain)}, other anonymous ${res((r) => r.otherAnon)}, files ${res((r) => r.files)}`);
  if (a.heap === undefined || b.heap === undefined) return;
  console.log(`  snapshot, all nodes        ${kb((b.heap.totalBytes - a.heap.totalBytes) / units)}  (ArrayBuffer contents included)`);
  console.log(`\n  ${"B/pair".padStart(8)} ${"n/pair".padStart(7)}  class <- first retainer`);
  for (const d of diffPerUnit(a.heap, b.heap, units).slice(0, Number(v.top))) console.log(`  ${d.bytes.toFixed(0).padStart(8)} ${d.count.toFixed(2).padStart(7)}  ${d.key}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
