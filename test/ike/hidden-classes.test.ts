/**
 * Per-negotiation objects keep one hidden class. In Node 20's V8 an object literal that spreads
 * another and then adds a property the source lacks (`{ ...base, keyBits }`) gets a new hidden
 * class, allocated in the old generation, on every call once the code is warm (`--log-maps`:
 * "Transition ... prototype"): garbage that only a full GC collects (bench/handshake/README.md,
 * "old space per negotiation"). Checked with V8's `%HaveSameMap` in a child process run with
 * `--allow-natives-syntax`, after enough calls for the code to be warm.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const src = (p: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

const SCRIPT = `
const { transformsFromXforms } = await import(${src("ike/phase1/proposal.js")});
const { parseIpsecPolicy, actionProtocols, DEFAULT_TABLES } = await import(${src("policy/index.js")});
const xforms = [{ encrAlg: 7, encrKeyLen: { low: 128, high: 256 }, authAlg: 2, authMethod: 1, oakleyGroup: 2 }];
const p1 = [];
for (let i = 0; i < 300; i++) p1.push(transformsFromXforms(xforms)[0]);
const parsed = parseIpsecPolicy("{ raddr 10.0.0.0/8 } ipsec { encr_algs aes encr_auth_algs sha1 }\\n");
if (parsed.errors.length > 0) throw new Error(JSON.stringify(parsed.errors));
const action = parsed.policy.entries[0].actions[0];
const p2 = [];
for (let i = 0; i < 300; i++) p2.push(actionProtocols(action, DEFAULT_TABLES)[0].transforms[0]);
console.log(JSON.stringify({ p1: %HaveSameMap(p1[200], p1[299]), p2: %HaveSameMap(p2[200], p2[299]) }));
`;

test("Phase 1 and Phase 2 transforms built per negotiation share one hidden class", () => {
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", SCRIPT], { encoding: "utf8", timeout: 60_000 });
  assert.deepEqual(JSON.parse(out.trim()), { p1: true, p2: true });
});
