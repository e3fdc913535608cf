/**
 * The Grafana dashboard (etc/grafana/iked-dashboard.json) asks only for metrics the daemon
 * exports, and the daemon's metrics all carry the `iked_` prefix.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "../helpers/interop.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { LogHub } from "../../src/log/logger.js";
import { DaemonMetrics } from "../../src/metrics/daemon-metrics.js";

test("every metric the dashboard queries is exported, and every exported name starts with iked_", async () => {
  const pool = new CryptoPool({ threads: 0 });
  const kernel = new MemoryKernel();
  const log = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "stderr" } }).logger("dmn");
  const m = new DaemonMetrics({ pool, kernel, backend: "memory", log, commandLine: { kind: "tcp", host: "127.0.0.1", port: 0, loopback: true } });
  try {
    await m.apply(undefined);
    const text = await m.collect();
    const exported = new Set(text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!));
    assert.deepEqual([...exported].filter((n) => !n.startsWith("iked_")), []);
    const dash = fs.readFileSync(path.join(repoRoot(), "etc/grafana/iked-dashboard.json"), "utf8");
    const asked = new Set([...dash.matchAll(/\biked_[a-z0-9_]+/g)].map((x) => x[0].replace(/_(bucket|sum|count)$/, "")));
    assert.ok(asked.size > 15);
    assert.deepEqual([...asked].filter((n) => !exported.has(n)), []);
  } finally {
    await m.close();
    await pool.close();
    await kernel.close();
  }
});
