/** ikeload's text report and progress line (src/load/report.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatJson, formatReport, progressLine } from "../../src/load/report.js";
import type { LoadReport } from "../../src/load/runner.js";

const REPORT: LoadReport = {
  target: "127.0.4.1:14100",
  mode: "main",
  auth: "psk",
  transform: { encr: "aes(128..128)", hash: "sha1", dhGroup: 14, lifetimeSecs: 3600 },
  phase2: { proposal: "encr_algs aes(128..128) encr_auth_algs sha1", pfsGroup: 0 },
  pacing: { kind: "closed", concurrency: 4 },
  sources: 4,
  workers: 1,
  phases: ["phase1"],
  started: 10,
  established: 8,
  phase1Established: 9,
  failed: 2,
  elapsedMs: 2000,
  establishedPerSec: 4,
  latencyMs: {
    phase1: { count: 9, p50: 12.5, p90: 30, p99: 250, max: 251, mean: 40 },
    phase1and2: { count: 8, p50: 20, p90: 41.25, p99: 300, max: 300, mean: 55 },
  },
  failures: { timeout: 1, "phase2-timeout": 1 },
  deletesSent: 8,
  dhKeyPairs: "reused",
  retransmitsSent: 3,
  startupMs: 42.5,
};

test("text report names rate, percentiles and failures", () => {
  const t = formatReport(REPORT);
  assert.match(t, /started 10 {2}established 8 {2}failed 2 {2}in 2\.00 s {2}=> 4\.0 established\/s/);
  assert.match(t, /phase 1 latency ms: p50 12\.5 {2}p90 30\.0 {2}p99 250 {2}max 251 {2}\(n=9\)/);
  assert.match(t, /phase 1\+2 latency ms: p50 20\.0 {2}p90 41\.3 {2}p99 300 {2}max 300 {2}\(n=8\)/);
  assert.match(t, /phase 2 encr_algs aes\(128\.\.128\) encr_auth_algs sha1/);
  assert.match(t, /ISAKMP SAs up 9 {2}deleted 8/);
  assert.match(t, /failures: timeout=1 {2}phase2-timeout=1/);
  assert.match(t, /closed loop, concurrency 4/);
  assert.match(t, /1 workers \(first answer after 42\.5 ms, before the first start\)/);
  assert.match(t, /DH key pairs reused \(one per group for every negotiation/);
  assert.match(formatReport({ ...REPORT, dhKeyPairs: "fresh" }), /DH key pairs fresh per negotiation/);
  assert.ok(t.endsWith("\n"));
});

test("phase 1 only: no phase 1+2 line", () => {
  const { phase1and2: _, ...phase1 } = REPORT.latencyMs;
  const t = formatReport({ ...REPORT, phase2: null, phases: ["phase1"], latencyMs: phase1 });
  assert.match(t, /phase 1 only/);
  assert.ok(!t.includes("phase 1+2"));
});

test("JSON report is one line that parses back to the report", () => {
  const j = formatJson(REPORT);
  assert.equal(j.split("\n").length, 2);
  assert.deepEqual(JSON.parse(j), REPORT);
});

test("progress line: bar proportional to the fraction, carriage return, no newline", () => {
  const line = progressLine({ started: 5, established: 4, failed: 0, inFlight: 1, elapsedMs: 1000, fraction: 0.5 }, 10);
  assert.ok(line.startsWith("\r[#####-----]  50%"));
  assert.match(line, /up 4 {2}failed 0 {2}in flight 1 {2}4\.0\/s/);
  assert.ok(!line.includes("\n"));
});
