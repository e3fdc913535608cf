/**
 * The daemon's V8 young-generation size (src/daemon/young-generation.ts): the detached daemon
 * runs with `--max-semi-space-size`, unless the operator gave one; the launcher's `#!` line and
 * `npm start` carry it. Only that the flag is applied is checked, never its effect on timing.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DAEMON_SEMI_SPACE_MB, youngGenerationArgs } from "../../src/daemon/young-generation.js";
import { detachedFlags } from "./detached-flags.js";
import { IN_IKED } from "./harness.js";

const FLAG = `--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`;
const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("youngGenerationArgs", () => {
  test("adds the daemon's semi-space size when none is given", () => {
    assert.deepEqual(youngGenerationArgs(["--openssl-legacy-provider"], undefined), [FLAG]);
    assert.deepEqual(youngGenerationArgs([], "--trace-warnings"), [FLAG]);
  });

  test("an explicit size on the command line or in NODE_OPTIONS wins", () => {
    assert.deepEqual(youngGenerationArgs(["--max-semi-space-size=8"], undefined), []);
    assert.deepEqual(youngGenerationArgs(["--max_semi_space_size", "8"], undefined), []);
    assert.deepEqual(youngGenerationArgs([], "--trace-warnings --max-semi-space-size=64"), []);
    assert.deepEqual(youngGenerationArgs(["--max-semi-space-sizes=8"], undefined), [FLAG], "only the exact flag counts");
  });

  test("the launcher's #! line and npm start carry the same size", () => {
    const shebang = fs.readFileSync(IN_IKED, "utf8").split("\n")[0]!;
    assert.match(shebang, new RegExp(`^#!/usr/bin/env -S node .*${FLAG}( |$)`));
    const pkg = JSON.parse(fs.readFileSync(path.join(TOP, "package.json"), "utf8")) as { scripts: { start: string } };
    assert.match(pkg.scripts.start, new RegExp(`^node (.* )?${FLAG} (.* )?dist/src/cli/in-iked\\.js `));
  });
});

describe("the detached daemon", () => {
  test(`runs with ${FLAG} when the launcher was started without it`, async () => {
    const flags = await detachedFlags({ NODE_OPTIONS: "" });
    assert.ok(flags.includes(FLAG), flags.join(" "));
  });

  test("keeps the operator's size from NODE_OPTIONS and adds none", async () => {
    const flags = await detachedFlags({ NODE_OPTIONS: "--max-semi-space-size=8" });
    assert.ok(!flags.some((a) => a.includes("semi-space")), flags.join(" "));
  });
});
