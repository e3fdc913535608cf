/**
 * The daemon's floor under V8's old-generation limit (src/daemon/old-generation.ts): the detached
 * daemon runs with `--initial-old-space-size`, unless the operator gave a floor; the launcher's
 * `#!` line and `npm start` carry it; and this Node's V8 keeps the limit it sets after a full GC
 * at or above the floor. Only that the flag is applied is checked, never its effect on timing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DAEMON_OLD_SPACE_FLOOR_MB, oldGenerationArgs } from "../../src/daemon/old-generation.js";
import { detachedFlags } from "./detached-flags.js";
import { IN_IKED } from "./harness.js";

const FLAG = `--initial-old-space-size=${DAEMON_OLD_SPACE_FLOOR_MB}`;
const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("oldGenerationArgs", () => {
  test("adds the daemon's floor when none is given", () => {
    assert.deepEqual(oldGenerationArgs(["--openssl-legacy-provider", "--max-semi-space-size=32"], undefined), [FLAG]);
    assert.deepEqual(oldGenerationArgs([], "--trace-warnings"), [FLAG]);
  });

  test("an explicit floor on the command line or in NODE_OPTIONS wins", () => {
    assert.deepEqual(oldGenerationArgs(["--initial-old-space-size=64"], undefined), []);
    assert.deepEqual(oldGenerationArgs(["--initial_old_space_size", "64"], undefined), []);
    assert.deepEqual(oldGenerationArgs([], "--trace-warnings --initial-old-space-size=256"), []);
    assert.deepEqual(oldGenerationArgs(["--initial-heap-size=200"], undefined), [], "--initial-heap-size sets the floor too");
    assert.deepEqual(oldGenerationArgs(["--max-old-space-size=512"], undefined), [FLAG], "a maximum is no floor");
    assert.deepEqual(oldGenerationArgs(["--initial-old-space-sizes=8"], undefined), [FLAG], "only the exact flag counts");
  });

  test("the launcher's #! line and npm start carry the same floor", () => {
    const shebang = fs.readFileSync(IN_IKED, "utf8").split("\n")[0]!;
    assert.match(shebang, new RegExp(`^#!/usr/bin/env -S node .*${FLAG}( |$)`));
    const pkg = JSON.parse(fs.readFileSync(path.join(TOP, "package.json"), "utf8")) as { scripts: { start: string } };
    assert.match(pkg.scripts.start, new RegExp(`^node (.* )?${FLAG} (.* )?dist/src/cli/in-iked\\.js `));
  });
});

/** The limits V8 reports (--trace-gc-verbose) after one full GC of a small heap, in KB. */
function limitsAfterFullGc(flags: readonly string[]): number[] {
  const out = execFileSync(process.execPath, [...flags, "--expose-gc", "--trace-gc-verbose", "--trace-gc", "-e", "gc()"], { encoding: "utf8" });
  return [...out.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: (\d+) KB/g)].map((m) => Number(m[1]));
}

describe("V8 with the floor", () => {
  test("keeps the old generation's limit at or above the floor after a full GC", () => {
    const floorKb = DAEMON_OLD_SPACE_FLOOR_MB * 1024;
    const without = limitsAfterFullGc(["--max-semi-space-size=32"]);
    const withFloor = limitsAfterFullGc(["--max-semi-space-size=32", FLAG]);
    assert.ok(without.length > 0 && withFloor.length > 0, "V8 reports the limit it sets");
    assert.ok(without.every((kb) => kb < floorKb), `without the flag a small heap's limit is below the floor: ${without.join(", ")} KB`);
    assert.ok(withFloor.every((kb) => kb >= floorKb), `with it, at or above ${floorKb} KB: ${withFloor.join(", ")} KB`);
  });
});

describe("the detached daemon", () => {
  test(`runs with ${FLAG} when the launcher was started without it`, async () => {
    const flags = await detachedFlags({ NODE_OPTIONS: "" });
    assert.ok(flags.includes(FLAG), flags.join(" "));
  });

  test("keeps the operator's floor from node's command line and adds none", async () => {
    // (Node 20 refuses V8's heap-size flags in NODE_OPTIONS: the command line is where they go.)
    const flags = await detachedFlags({ NODE_OPTIONS: "" }, ["--initial-old-space-size=64"]);
    assert.deepEqual(flags.filter((a) => a.startsWith("--initial-")), ["--initial-old-space-size=64"]);
  });
});
