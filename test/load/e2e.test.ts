/**
 * ikeload end to end over loopback UDP: the load library against our own responder (the engine on
 * a UdpTransport with the in-memory SADB, as bench/handshake/responder.ts wires it) in this
 * process, then the ikeload launcher itself as a child process with --json.
 *
 * Addresses: responder 127.0.4.10:14010/14011, sources 127.4.1.x on port 500 (so no non-ESP
 * marker is needed: one side is on 500).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { startResponder } from "../../bench/handshake/responder.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";
import { poll } from "../helpers/wait.js";

const PSK = "load-e2e-secret";
const HEX = Buffer.from(PSK).toString("hex");

function options(args: string[]) {
  const a = parseLoadArgs(args);
  assert.ok(a.ok && !a.help, JSON.stringify(a));
  return a.value;
}

test("closed-loop run (Main + Quick Mode) against our responder establishes every SA, Deletes clear the responder", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14010, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.1", "--concurrency", "3", "--count", "6", "--psk", PSK, "--workers", "0", "--json"]);
    const samples: { startMs: number; ms: number }[] = [];
    const res = await runLoad(o, { onNegotiation: (startMs, ms) => samples.push({ startMs, ms }) });
    assert.ok(res.ok, JSON.stringify(res));
    const rep = res.value;
    // The raw samples are the Phase 1+2 series the summary is made of.
    assert.equal(samples.length, 6);
    assert.equal(Math.max(...samples.map((x) => x.ms)), rep.latencyMs.phase1and2?.max);
    assert.ok(samples.every((x) => x.startMs > 0 && x.ms > 0));
    assert.equal(rep.started, 6);
    assert.equal(rep.established, 6);
    assert.equal(rep.failed, 0);
    assert.deepEqual(rep.failures, {});
    assert.equal(rep.deletesSent, 6);
    assert.equal(rep.phase1Established, 6);
    assert.equal(rep.latencyMs.phase1.count, 6);
    assert.equal(rep.latencyMs.phase1and2?.count, 6);
    assert.ok(rep.latencyMs.phase1.p50 > 0 && rep.latencyMs.phase1.p50 <= rep.latencyMs.phase1.max);
    // Phase 1+2 of a negotiation ends after its Phase 1.
    assert.ok(rep.latencyMs.phase1and2!.max >= rep.latencyMs.phase1.p50);
    assert.ok(rep.establishedPerSec > 0);
    // The responder saw them too, and our Deletes emptied its SADB and SA table.
    assert.equal(r.engine.stats.snapshot().resp_p1_total, 6);
    await poll(async () => r.engine.sas.size === 0 && (await r.kernel.dump()).length === 0, "the responder's SAs to go after our Deletes");
  } finally {
    await r.close();
  }
});

test("an open-loop run starts nothing before its pool has answered once: start-up is outside the latencies", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14013, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.30", "--sources", "4", "--rate", "50", "--count", "4", "--psk", PSK, "--workers", "1"]);
    const samples: number[] = [];
    const called = performance.now();
    const res = await runLoad(o, { onNegotiation: (startMs) => samples.push(startMs) });
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.value.established, 4);
    // A worker thread's start-up (its modules, the group's warm-up) is over before the first start.
    assert.ok(res.value.startupMs > 0, `startupMs ${res.value.startupMs}`);
    assert.ok(samples.every((s) => s >= called + res.value.startupMs), `starts ${samples.map((s) => (s - called).toFixed(1)).join(" ")} ms after the call, start-up ${res.value.startupMs.toFixed(1)} ms`);
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
    assert.deepEqual(rep.phases, ["phase1", "phase2"]);
    assert.equal(rep.phase1Established, 4);
    for (const k of ["p50", "p90", "p99", "max"] as const) {
      assert.equal(typeof rep.latencyMs.phase1[k], "number");
      assert.equal(typeof rep.latencyMs.phase1and2?.[k], "number");
    }
    assert.equal(rep.target, `127.0.4.10:${r.port}`);
  } finally {
    await r.close();
  }
});

test("keys from an ike.preshared file, ephemeral source ports (non-ESP marker on both sides)", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14014, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  const dir = await mkdtemp(path.join(tmpdir(), "ikeload-"));
  try {
    const file = path.join(dir, "ike.preshared");
    await writeFile(file, `{\n  localidtype ip\n  localid 127.4.1.60/30\n  remoteidtype ip\n  remoteid 127.0.4.10\n  ike_mode main\n  key ${HEX}\n}\n`);
    await chmod(file, 0o600);
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.60", "--sources", "4", "--concurrency", "2", "--count", "4", "--preshared", file, "--source-port", "0", "--workers", "0"]);
    const res = await runLoad(o);
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.value.established, 4);
    assert.equal(res.value.failed, 0);
    // A source outside the file's entries is refused before anything is sent.
    const bad = await runLoad(options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.62", "--sources", "4", "--count", "1", "--concurrency", "1", "--preshared", file]));
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, "IKE_ERR_LOAD_NO_KEY");
    assert.match(bad.error.message, /127\.4\.1\.64/);
    assert.ok(!bad.error.message.includes(HEX));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await r.close();
  }
});

test("Aggressive Mode, then Quick Mode, against our responder", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14015, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 14, encr: "aes(256..256)", hash: "sha256" });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.80", "--concurrency", "2", "--count", "3", "--mode", "aggressive", "--psk", PSK, "--workers", "0", "--dh", "14", "--cipher", "aes256", "--hash", "sha256"]);
    const res = await runLoad(o);
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.value.mode, "aggressive");
    assert.equal(res.value.established, 3, JSON.stringify(res.value.failures));
    assert.equal(res.value.latencyMs.phase1and2?.count, 3);
  } finally {
    await r.close();
  }
});

test("a Quick Mode the responder refuses is counted as the notify it sent", async () => {
  const r = await startResponder({
    address: "127.0.4.10", port: 14016, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1",
    ipsecAction: "encr_algs 3des encr_auth_algs md5",
  });
  try {
    const o = options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.90", "--concurrency", "2", "--count", "2", "--psk", PSK, "--workers", "0", "--esp", "aes128-sha1", "--retransmit-init", "300", "--retransmit-limit", "1"]);
    const res = await runLoad(o);
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.value.phase1Established, 2);
    assert.equal(res.value.established, 0);
    assert.deepEqual(res.value.failures, { "phase2-notify-received:NO-PROPOSAL-CHOSEN": 2 });
    // The ISAKMP SAs were deleted at the responder all the same.
    assert.equal(res.value.deletesSent, 2);
  } finally {
    await r.close();
  }
});

test("--duration bounds the run; an abort ends it at once with the rest unfinished", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14017, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const timed = await runLoad(options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.100", "--concurrency", "2", "--duration", "0.4", "--psk", PSK, "--workers", "0", "--phase1-only"]));
    assert.ok(timed.ok, JSON.stringify(timed));
    assert.equal(timed.value.failed, 0);
    assert.ok(timed.value.established > 0 && timed.value.established === timed.value.started);
    assert.equal(timed.value.latencyMs.phase1and2, undefined);
    assert.deepEqual(timed.value.phases, ["phase1"]);

    // A target that never answers (nothing listens on 14018): abort once the first three have
    // started (the first progress report), however long the set-up before them took.
    const ac = new AbortController();
    const onProgress = (p: { started: number }) => {
      if (p.started >= 3) ac.abort();
    };
    const aborted = await runLoad(options(["--target", "127.0.4.10:14018", "--source", "127.4.1.110", "--concurrency", "3", "--count", "50", "--psk", PSK, "--workers", "0"]), { signal: ac.signal, onProgress });
    assert.ok(aborted.ok);
    assert.equal(aborted.value.established, 0);
    assert.equal(aborted.value.started, 3);
    assert.deepEqual(aborted.value.failures, { unfinished: 3 });
  } finally {
    await r.close();
  }
});

test("--hold: no Deletes and no INITIAL-CONTACT after a source's first SA, so the responder keeps every pair", async () => {
  const r = await startResponder({ address: "127.0.4.10", port: 14019, workers: 0, peers: "127.4.1.0/24", pskHex: HEX, dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const res = await runLoad(options(["--target", `127.0.4.10:${r.port}`, "--source", "127.4.1.120", "--concurrency", "3", "--count", "9", "--psk", PSK, "--workers", "0", "--hold"]));
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.value.established, 9);
    assert.equal(res.value.deletesSent, 0);
    assert.equal(res.value.dhKeyPairs, "reused");
    assert.equal(r.engine.sas.size, 9);
    // An inbound and an outbound ESP SA per pair.
    assert.equal((await r.kernel.dump()).length, 18);
  } finally {
    await r.close();
  }
});
