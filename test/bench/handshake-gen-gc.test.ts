/**
 * The handshake bench's choice of the generator's GC (`--gen-gc`): single-threaded by default for
 * a pinned half-peak run, V8's default otherwise, an explicit choice always winning.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { genGcOf, genNodeArgsOf } from "../../bench/handshake/handshake.bench.js";

test("a pinned half-peak run gets the single-threaded GC unless told otherwise", () => {
  assert.equal(genGcOf(["--groups", "2,14", "--workers", "1", "--half-peak", "--half-peak-secs", "20", "--pin", "--probe"]), "single");
  assert.equal(genGcOf(["--half-peak", "--pin", "--gen-gc", "parallel"]), "parallel");
});

test("closed-loop and unpinned runs keep V8's default GC unless told otherwise", () => {
  assert.equal(genGcOf(["--groups", "2,5,14", "--workers", "1,2", "--count", "3000", "--rounds", "3"]), "parallel");
  assert.equal(genGcOf(["--half-peak"]), "parallel");
  assert.equal(genGcOf(["--pin"]), "parallel");
  assert.equal(genGcOf(["--gen-gc", "single"]), "single");
});

test("the generator's node options: --gen-node-args, plus --single-threaded-gc where the GC is single", () => {
  assert.deepEqual(genNodeArgsOf(["--groups", "2"]), []);
  assert.deepEqual(genNodeArgsOf(["--gen-node-args=--no-allocation-site-pretenuring  --max-semi-space-size=32"]), ["--no-allocation-site-pretenuring", "--max-semi-space-size=32"]);
  assert.deepEqual(genNodeArgsOf(["--half-peak", "--pin", "--gen-node-args=--no-allocation-site-pretenuring"]), ["--no-allocation-site-pretenuring", "--single-threaded-gc"]);
  assert.deepEqual(genNodeArgsOf(["--half-peak", "--pin", "--gen-gc", "parallel"]), []);
});
