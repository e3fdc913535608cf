/**
 * Long whole-exchange fuzz run (not a *.bench.ts, not in CI: run by hand), the same fuzzer as
 * test/exchange/exchange-fuzz.test.ts over many more exchanges, optionally in several processes.
 *
 *   node --openssl-legacy-provider dist/bench/ike/exchange-fuzz-long.js [--count N] [--seed S] [--jobs J] [--minutes M]
 *
 * Default 1,000,000 mutated exchanges in one process. With M, each job stops after M minutes and
 * the report counts what was run (the run is then shorter than N, and says so). With J jobs, job j runs count/J exchanges
 * with seed S + j (a finding names its job's seed; replay it with the test's FUZZ_SEED and
 * IKED_EXCHANGE_FUZZ). Prints progress every 10,000 exchanges per job, then the count, wall and
 * CPU time, the mutation kinds, how exchanges ended, and every crash, hang and leak; exits 1 when
 * there is any.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fuzzExchanges, type FuzzReport } from "../../test/exchange/fuzz/exchange-fuzzer.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}

const count = arg("--count", 1_000_000);
const seed = arg("--seed", Date.now() % 0x7fffffff);
const jobs = Math.max(1, arg("--jobs", 1));
const minutes = arg("--minutes", Infinity);

if (process.env["IKED_FUZZ_CHILD"] === "1") {
  const r = await fuzzExchanges({
    count,
    seed,
    ...(Number.isFinite(minutes) ? { timeLimitMs: minutes * 60_000 } : {}),
    progressEvery: 10_000,
    onProgress: (p) => console.log(`  seed ${seed}: ${p.exchanges} exchanges (${p.mutated} mutated), ${(p.elapsedMs / 1000).toFixed(0)} s, findings ${p.crashes.length + p.hangs.length + p.leaks.length}`),
  });
  // The IPC channel would keep this process alive: let go of it once the report is out.
  process.send?.(r, () => process.disconnect());
} else {
  console.log(`exchange-fuzz-long: ${count} mutated exchanges, seed ${seed}, ${jobs} job(s)${Number.isFinite(minutes) ? `, at most ${minutes} min` : ""}`);
  const t0 = performance.now();
  const me = fileURLToPath(import.meta.url);
  const parts = Array.from({ length: jobs }, (_, j) => Math.floor(count / jobs) + (j < count % jobs ? 1 : 0));
  const reports = await Promise.all(parts.map((n, j) => new Promise<FuzzReport>((resolve, reject) => {
    const child = fork(me, ["--count", String(n), "--seed", String(seed + j), "--minutes", String(minutes)], { env: { ...process.env, IKED_FUZZ_CHILD: "1" }, execArgv: ["--openssl-legacy-provider"] });
    let report: FuzzReport | undefined;
    child.on("message", (m) => (report = m as FuzzReport));
    child.on("exit", (code) => (report !== undefined ? resolve(report) : reject(new Error(`job ${j} (seed ${seed + j}) exited ${code} without a report`))));
  })));
  const wall = (performance.now() - t0) / 1000;
  const sum = (f: (r: FuzzReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
  const kinds: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.kinds)) kinds[k] = (kinds[k] ?? 0) + v;
  const cpu = sum((r) => r.elapsedMs) / 1000;
  const mutated = sum((r) => r.mutated);
  console.log(`exchanges: ${sum((r) => r.exchanges)} (${mutated} mutated${mutated < count ? `, stopped by --minutes before ${count}` : ""}); seeds ${reports.map((r) => r.seed).join(", ")}`);
  console.log(`time: ${wall.toFixed(0)} s wall, ${cpu.toFixed(0)} s in the fuzzers; ${(sum((r) => r.exchanges) / wall).toFixed(0)} exchanges/s`);
  const targets: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.targets)) targets[k] = (targets[k] ?? 0) + v;
  console.log(`mutations: ${JSON.stringify(kinds)}`);
  console.log(`messages changed: ${JSON.stringify(targets)}`);
  console.log(`ended: Quick Mode up ${sum((r) => r.ended.quickMode)}, Phase 1 only ${sum((r) => r.ended.phase1Only)}, failed ${sum((r) => r.ended.failed)}`);
  const findings = reports.flatMap((r) => [...r.crashes.map((c) => `seed ${r.seed} crash ${c}`), ...r.hangs.map((h) => `seed ${r.seed} hang ${h}`), ...r.leaks.map((l) => `seed ${r.seed} leak ${l}`)]);
  console.log(`crashes: ${sum((r) => r.crashes.length)}, hangs: ${sum((r) => r.hangs.length)}, leaks: ${sum((r) => r.leaks.length)}`);
  for (const f of findings) console.log(`  ${f}`);
  process.exit(findings.length > 0 ? 1 : 0);
}
