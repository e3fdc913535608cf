/**
 * ikeload end to end over loopback UDP: the load library against our own responder (the engine on
 * a UdpTransport, as bench/handshake/responder.ts wires it) in this process, then the ikeload
 * launcher itself as a child process with --json.
 *
 * Addresses: responder 127.0.4.10:14010/14011, sources 127.4.1.x on port 500 (so no non-ESP
 * marker is needed: one side is on 500).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startResponder } from "../../bench/handshake/responder.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";

const PSK = "load-e2e-secret";
const HEX = Buffer.from(PSK).toString("hex");

function options(args: string[]) {
  const a = parseLoadArgs(args);
  assert.ok(a.ok && !a.help, JSON.stringify(a));
  return a.value;
}

test("closed-loop run against our responder establishes every SA", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14010, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.1", "--concurrency", "3", "--count", "6", "--psk", PSK, "--workers", "0", "--json"]);
    const res = await runLoad(o);
    assert.ok(res.ok, JSON.stringify(res));
    const rep = res.value;
    assert.equal(rep.started, 6);
    assert.equal(rep.established, 6);
    assert.equal(rep.failed, 0);
    assert.deepEqual(rep.failures, {});
    assert.equal(rep.deletesSent, 6);
    assert.equal(rep.latencyMs.phase1.count, 6);
    assert.ok(rep.latencyMs.phase1.p50 > 0 && rep.latencyMs.phase1.p50 <= rep.latencyMs.phase1.max);
    assert.ok(rep.establishedPerSec > 0);
    // The responder saw them too.
    assert.equal(r.engine.stats.snapshot().resp_p1_total, 6);
  } finally {
    await r.close();
  }
});

test("a wrong key is reported as a failure class, not a crash", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14011, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.20", "--concurrency", "2", "--count", "2", "--psk", "not-the-key", "--workers", "0", "--retransmit-init", "200", "--retransmit-limit", "1", "--expire", "3"]);
    const res = await runLoad(o);
    assert.ok(res.ok);
    assert.equal(res.value.established, 0);
    assert.equal(res.value.failed, 2);
    const keys = Object.keys(res.value.failures);
    assert.ok(keys.length > 0 && keys.every((k) => /^(auth-failed|timeout|notify-received)/.test(k)), keys.join(","));
    assert.ok(!JSON.stringify(res.value).includes(PSK) && !JSON.stringify(res.value).includes("not-the-key"));
  } finally {
    await r.close();
  }
});

test("the ikeload launcher prints a JSON report and exits 0", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14012, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/ikeload.js");
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--openssl-legacy-provider", cli, "--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.40", "--rate", "20/s", "--count", "4", "--psk", PSK, "--workers", "0", "--json"],
        { timeout: 30_000 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    assert.equal(out.code, 0, out.stdout);
    const rep = JSON.parse(out.stdout) as LoadReport;
    assert.equal(rep.established, 4);
    assert.equal(rep.failed, 0);
    assert.deepEqual(rep.pacing, { kind: "rate", perSecond: 20 });
    assert.deepEqual(rep.phases, ["phase1"]);
    for (const k of ["p50", "p90", "p99", "max"] as const) assert.equal(typeof rep.latencyMs.phase1[k], "number");
    assert.equal(rep.target, `127.0.4.10:${r.port}`);
  } finally {
    await r.close();
  }
});
