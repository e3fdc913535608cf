/**
 * Runs the micro-benchmarks: every `*.bench.js` under dist/bench, or those whose path under it contains one of
 * the command-line arguments (`npm run bench -- codec dh`). Arguments from the first `--option` on
 * go to each selected bench (`npm run bench -- handshake --auth rsa`).
 *
 * Each bench file default-exports `async (args) => void`, runs its own tinybench suite and prints its
 * table, with ratios against a baseline measured in the same run.
 */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.dirname(fileURLToPath(import.meta.url));

function findBenches(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findBenches(full));
    else if (name.endsWith(".bench.js")) out.push(full);
  }
  return out;
}

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith("--"));
const filters = firstOption < 0 ? argv : argv.slice(0, firstOption);
const benchArgs = firstOption < 0 ? [] : argv.slice(firstOption);
// Matched against the path under dist/bench, so a checkout's own path (e.g. /work/wt-flood2) selects nothing.
const files = findBenches(root).filter((f) => filters.length === 0 || filters.some((x) => path.relative(root, f).includes(x)));
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(" ")}`);
  process.exit(1);
}
for (const file of files) {
  console.log(`\n## ${path.relative(root, file).replace(/\.js$/, "")}`);
  const mod = (await import(pathToFileURL(file).href)) as { default: (args: readonly string[]) => Promise<void> };
  await mod.default(benchArgs);
}
