/**
 * Long mutation-fuzz run of the codec (not a *.bench.ts: run by hand).
 *
 *   node --openssl-legacy-provider dist/bench/codec/fuzz-long.js [--count N] [--seed S] [--differential K]
 *
 * Default 10,000,000 inputs over encoder-built seeds and test/fixtures/packets/*.json; every K-th
 * input (default 16) is also checked against the reference decoder. Reports inputs/s, outcomes by
 * error code and the heap high-water mark; exits 1 with the seed and input hex on a failure.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encoderSeeds, fixtureSeeds, fuzz, FuzzFailure } from "../../test/property/mutate.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}

const count = arg("--count", 10_000_000);
const seed = arg("--seed", Date.now() % 0x7fffffff);
const differentialEvery = arg("--differential", 16);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const seeds = [...encoderSeeds(1000, seed), ...fixtureSeeds(root)];
console.log(`fuzz-long: ${count} inputs, seed ${seed}, ${seeds.length} seeds, reference check every ${differentialEvery}`);

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let lastReport = t0;
try {
  const stats = fuzz({
    count,
    seed,
    seeds,
    differentialEvery,
    onProgress(s) {
      const now = performance.now();
      if (now - lastReport > 30_000) {
        lastReport = now;
        console.log(`  ${s.inputs} inputs, ${Math.round(s.inputs / ((now - t0) / 1000))}/s, heap max ${(s.heapMax / 2 ** 20).toFixed(1)} MiB`);
      }
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(`inputs: ${stats.inputs}, accepted: ${stats.accepted}, checked against reference: ${stats.differential}`);
  console.log(`time: ${wall.toFixed(1)} s wall, ${cpuS.toFixed(1)} s CPU; ${Math.round(stats.inputs / wall)} inputs/s wall, ${Math.round(stats.inputs / cpuS)} inputs/CPU-s`);
  console.log(`heap high-water mark: ${(stats.heapMax / 2 ** 20).toFixed(1)} MiB; rss now ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`);
  console.log("outcomes:");
  for (const [code, n] of [...stats.outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(36)} ${n}`);
} catch (e) {
  if (e instanceof FuzzFailure) {
    console.error(`FAILURE: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
