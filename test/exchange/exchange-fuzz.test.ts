/**
 * Whole-exchange fuzzing in `npm test` (issue 11): 20,000 mutated Main, Aggressive, Quick and
 * Informational exchanges between two in-process engines (test/exchange/fuzz/exchange-fuzzer.ts:
 * typed payload edits re-authenticated with the real keys, garbled plaintext encrypted with the
 * real keys, raw datagram and ciphertext edits, replays), with 0 crashes, 0 hangs and every table
 * back to its baseline. The seed is printed; FUZZ_SEED replays a run, IKED_EXCHANGE_FUZZ changes
 * its size. The long run (1,000,000) is bench/ike/exchange-fuzz-long.ts.
 *
 * Cost: about 2 ms of CPU per exchange, 41 s of CPU for the 20,000 (issue 11 asks for that many;
 * 181 s of wall time on the 2-core development machine at load 10). The 10-minute timeout is a
 * hang guard only, over three times that slowest wall time: the fuzzer bounds every exchange
 * itself (a run that never goes quiet is reported as a hang, not waited for), so the timeout
 * fires only if the fuzzer's own loop stops making progress, and then costs CI at most 10 minutes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzExchanges } from "./fuzz/exchange-fuzzer.js";

const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 0x7fffffff);
const count = Number(process.env["IKED_EXCHANGE_FUZZ"] ?? 20_000);

test(`whole-exchange fuzz: ${count} mutated exchanges, no crash, no hang, every table back to baseline`, { timeout: 600_000 }, async (t) => {
  console.log(`exchange fuzz: seed ${seed} (FUZZ_SEED=${seed} to replay), ${count} mutated exchanges`);
  const r = await fuzzExchanges({ count, seed });
  const findings = [...r.crashes.map((c) => `crash ${c}`), ...r.hangs.map((h) => `hang ${h}`), ...r.leaks.map((l) => `leak ${l}`)];
  t.diagnostic(`seed ${seed}: ${r.exchanges} exchanges (${r.mutated} mutated) in ${(r.elapsedMs / 1000).toFixed(1)} s; mutations ${JSON.stringify(r.kinds)} on ${JSON.stringify(r.targets)}; ended ${JSON.stringify(r.ended)}`);
  assert.deepEqual(findings.slice(0, 20), [], `seed ${seed}: ${findings.length} findings`);
  assert.equal(r.mutated, count);
  for (const kind of ["typed", "plaintext", "wire", "wire-once", "replay"]) assert.ok((r.kinds[kind] ?? 0) > 0, `${kind} mutations were made`);
  for (const message of ["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "AM1", "AM2", "AM3", "QM1", "QM2", "QM3", "INFO1"]) assert.ok((r.targets[message] ?? 0) > 0, `${message} was changed`);
  assert.ok(r.ended.quickMode > 0 && r.ended.phase1Only > 0 && r.ended.failed > 0, `exchanges end every way: ${JSON.stringify(r.ended)}`);
});
