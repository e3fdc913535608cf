/**
 * Short mutation-fuzz run (about 100,000 inputs, a few seconds) over encoder-built seeds and the
 * recorded packets; see mutate.ts for the properties. The seed is printed; replay with FUZZ_SEED.
 * The long run is bench/codec/fuzz-long.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encoderSeeds, fixtureSeeds, fuzz } from "./mutate.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 0x7fffffff);

test("mutation fuzz: every input returns, accepted inputs re-encode exactly, engines agree", { timeout: 300_000 }, () => {
  const seeds = [...encoderSeeds(200, seed), ...fixtureSeeds(root)];
  console.log(`codec fuzz: seed ${seed} (FUZZ_SEED=${seed} to replay), ${seeds.length} seeds`);
  const stats = fuzz({ count: 100_000, seed, seeds, differentialEvery: 8 });
  console.log(`codec fuzz: ${stats.inputs} inputs, ${stats.accepted} accepted, ${stats.differential} checked against the reference, ${stats.outcomes.size} outcomes`);
  assert.equal(stats.inputs, 100_000);
  assert.ok(stats.accepted > 0, "some mutants are still valid");
  assert.ok(stats.outcomes.size > 20, `mutations reach many checks (${stats.outcomes.size} outcomes)`);
  assert.ok(stats.heapMax < 512 * 1024 * 1024, `heap stayed bounded (${stats.heapMax} bytes)`);
});
