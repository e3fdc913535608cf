/**
 * The handshake bench's perf recording (bench/handshake/sched-record.ts) against stand-in `perf`
 * commands on PATH: perf is always stopped and waited for, the control FIFOs never stay behind,
 * and a machine where perf cannot record is refused up front.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { schedPreflight, startSchedRecording } from "../../bench/handshake/sched-record.js";

/** A directory with an executable `perf` made of `body` (bash), first on PATH while `fn` runs. */
async function withPerf(body: string, fn: (dir: string, bin: string) => Promise<void>): Promise<void> {
  const bin = mkdtempSync(path.join(tmpdir(), "iked-fake-perf-"));
  const dir = mkdtempSync(path.join(tmpdir(), "iked-sched-rec-"));
  const file = path.join(bin, "perf");
  writeFileSync(file, `#!/bin/bash\nfor a in "$@"; do case $a in fifo:*) f=\${a#fifo:}; ctl=\${f%,*}; ack=\${f#*,};; esac; done\n${body}\n`);
  chmodSync(file, 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved ?? ""}`;
  try {
    await fn(dir, bin);
  } finally {
    process.env.PATH = saved;
    rmSync(bin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether process `pid` still exists (a zombie counts: it has not been waited for). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a perf that never finishes its file is killed and waited for when the bound passes", async () => {
  // Acknowledges "enable", then ignores SIGINT forever.
  await withPerf(`trap '' INT; read -r line < "$ctl"; echo ack > "$ack"; exec sleep 600`, async (dir) => {
    const rec = await startSchedRecording(dir, "cell", 500);
    assert.ok(exists(rec.pid));
    await assert.rejects(rec.stop(), /writing its file: no answer/);
    assert.equal(exists(rec.pid), false, "perf is gone and reaped once stop() settles");
    assert.deepEqual(readdirSync(dir), [], "the control FIFOs are removed");
  });
});

test("a perf that never acknowledges is killed and waited for; a kept directory's old FIFOs do not block the next start", async () => {
  await withPerf(`echo $$ > "$(dirname "$0")/pid"; exec sleep 600`, async (dir, bin) => {
    writeFileSync(path.join(dir, "cell.ctl"), "left by a crashed run");
    await assert.rejects(startSchedRecording(dir, "cell", 500), /enable: no answer/);
    const pid = Number(readFileSync(path.join(bin, "pid"), "utf8"));
    assert.ok(pid > 0);
    assert.equal(exists(pid), false, "the stand-in perf is gone and reaped once the start is refused");
    assert.deepEqual(readdirSync(dir), []);
  });
});

test("a perf that fails to start says why", async () => {
  await withPerf(`echo "perf: permission denied" >&2; exit 1`, async (dir) => {
    await assert.rejects(startSchedRecording(dir, "cell", 5000), /perf record ended: perf: permission denied/);
    assert.deepEqual(readdirSync(dir), []);
  });
});

test("--sched is refused up front without perf, or without root and perf_event_paranoid -1", () => {
  assert.throws(() => schedPreflight({ perf: "/nonexistent/perf", uid: 0, paranoid: -1 }), /--sched: cannot run \/nonexistent\/perf .*install linux-perf/);
  assert.throws(() => schedPreflight({ perf: "true", uid: 1000, paranoid: 2 }), /run as root, or set kernel.perf_event_paranoid to -1 \(it is 2\)/);
  schedPreflight({ perf: "true", uid: 1000, paranoid: -1 });
  schedPreflight({ perf: "true", uid: 0, paranoid: 2 });
});
