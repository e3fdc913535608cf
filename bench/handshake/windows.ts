/**
 * Consecutive measured windows against one responder at a time: how a target's CPU per
 * negotiation settles as it warms (to size the handshake bench's warm-up), and how much the
 * generator's old space grows per negotiation (old-space.ts) window by window.
 *
 * Each target (strongSwan, this tree's in.iked, `--baseline-tree`'s in.iked) is started cold, run
 * through `--windows` windows of `--count` negotiations with no warm-up (measure.ts's
 * measureRound: closed loop of 16, or an open loop at `--rate` per second), optionally with an
 * idle pause of `--pause-secs` after the first `--pause-at` windows, i.e. before the row numbered
 * `--pause-at` + 1 (an in.iked left idle may compile again: bench README, "Why a warm daemon
 * compiles again"), then stopped. Output: one row per window, numbered from 1.
 *
 *   node --openssl-legacy-provider dist/bench/handshake/windows.js [--targets strongswan,in.iked,base]
 *     [--group 2] [--workers 1] [--windows 10] [--count 500] [--rate R] [--pin]
 *     [--pause-at K --pause-secs S] [--baseline-tree DIR] [--generator-tree DIR]
 *     [--gen-v8-flags="--no-allocation-site-pretenuring"]
 *
 * `--gen-v8-flags` is passed to v8.setFlagsFromString in this process (the generator) before the
 * first window; V8 flags that must be set at start-up go on node's command line instead.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { interopSkip } from "../../test/helpers/interop.js";
import { measureRound, type GeneratorParams } from "./measure.js";
import { riseBytes, startGcCounter, startOldSpaceSampler } from "./old-space.js";
import { DEFAULT_PINNING, pinProcess } from "./pin.js";
import { startDaemon, startStrongSwan, type Setup, type Target } from "./targets.js";

const PSK = "load-bench-secret";
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "-");

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      targets: { type: "string", default: "strongswan,in.iked" },
      group: { type: "string", default: "2" },
      workers: { type: "string", default: "1" },
      windows: { type: "string", default: "10" },
      count: { type: "string", default: "500" },
      rate: { type: "string" },
      pin: { type: "boolean", default: false },
      "pause-at": { type: "string" },
      "pause-secs": { type: "string", default: "45" },
      "baseline-tree": { type: "string" },
      "gen-v8-flags": { type: "string", default: "" },
      "generator-tree": { type: "string" },
    },
  });
  const skip = interopSkip();
  if (skip !== false) {
    console.log(`windows: skipped, strongSwan harness unavailable: ${skip}`);
    return;
  }
  const group = Number(v.group);
  const workers = Number(v.workers);
  const windows = Number(v.windows);
  const count = Number(v.count);
  const rate = v.rate === undefined ? undefined : Number(v.rate);
  const pauseAt = v["pause-at"] === undefined ? undefined : Number(v["pause-at"]);
  const flags = v["gen-v8-flags"].split(/\s+/).filter((w) => w !== "");
  for (const f of flags) v8.setFlagsFromString(f);
  if (v.pin) pinProcess(process.pid, DEFAULT_PINNING.generator);
  const genTree = v["generator-tree"] === undefined ? undefined : path.resolve(v["generator-tree"]);
  const gen: GeneratorParams = { auth: "psk", psk: PSK, source: "127.7.3.1", concurrency: 16, phase1Only: false, workers: 1, freshDh: false, ...(genTree !== undefined ? { tree: genTree } : {}) };
  const s: Setup = { group, psk: PSK, peers: "127.7.3.0/24", certs: undefined };
  console.log(
    `windows: group ${group}, ${rate === undefined ? "closed loop of 16" : `open loop at ${rate}/s`}, ${windows} x ${count} negotiations per target from cold` +
      `${pauseAt !== undefined ? `, idle ${v["pause-secs"]} s after window ${pauseAt}` : ""}; in.iked ${workers} pool thread(s); generator: ${genTree === undefined ? "this tree's ikeload" : `the ikeload of ${genTree}`}, V8 flags: ${flags.join(" ") || "none"}${v.pin ? "; pinned" : ""}`,
  );
  const rows: Record<string, string | number>[] = [];
  for (const name of v.targets.split(",")) {
    let t: Target;
    if (name === "strongswan") t = await startStrongSwan(s, "127.0.7.30", 17300);
    else if (name === "in.iked") t = await startDaemon(s, "127.0.7.31", 17310, workers);
    else if (name === "base") {
      if (v["baseline-tree"] === undefined) throw new Error("--targets base needs --baseline-tree");
      t = await startDaemon(s, "127.0.7.31", 17311, workers, { label: "in.iked base", tree: path.resolve(v["baseline-tree"]), nodeArgs: [] });
    } else throw new Error(`--targets: not strongswan, in.iked or base: ${name}`);
    try {
      if (v.pin) pinProcess(t.pid, DEFAULT_PINNING.responder);
      for (let w = 0; w < windows; w++) {
        if (w === pauseAt) await new Promise((r) => setTimeout(r, Number(v["pause-secs"]) * 1000));
        const sampler = startOldSpaceSampler();
        const gcs = startGcCounter();
        const r = await measureRound(gen, undefined, t, group, count, 0, rate);
        sampler.stop();
        const g = gcs.stop();
        const o = { riseBytes: riseBytes(sampler.rises()), majorGcs: g.major, minorGcs: g.minor };
        const n = Math.max(1, r.report.established);
        rows.push({
          target: t.label,
          window: w + 1,
          "from neg": w * count,
          "est/s": r.rate.toFixed(1),
          "resp ms": f2(r.respMs),
          "resp main": f2(r.threads?.main ?? r.busiestMs),
          "resp v8": r.threads === undefined ? "-" : f2(r.threads.v8),
          "gen ms": f2(r.genMs),
          "gen v8": f2(r.genThreads.v8),
          "gen old KB/neg": f2(o.riseBytes / 1024 / n),
          "gen GCs major/minor": `${o.majorGcs}/${o.minorGcs}`,
          "p50/p99 ms": `${r.p50.toFixed(1)}/${r.p99.toFixed(1)}`,
          failed: r.report.failed,
        });
        console.log(JSON.stringify(rows.at(-1)));
      }
    } finally {
      await t.stop();
    }
  }
  console.table(rows);
}

await main();
