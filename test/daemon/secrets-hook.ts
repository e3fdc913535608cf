/**
 * Test-only hook of the secrets audit (secrets-audit.test.ts) for a real in.iked process — not a
 * test file, not a daemon option: loaded with `NODE_OPTIONS=--import=<this file>`.
 *
 * 1. Every Diffie-Hellman private value the daemon draws, on the main thread and in its crypto
 *    workers, is SHA-256("iked secrets audit" | IKED_AUDIT_SEED) cut to the length asked for, so
 *    the test knows the bytes to look for. It answers `crypto.randomBytes(n)` for n =
 *    IKED_AUDIT_DH_BYTES (the group's exponent length, which nothing else draws) and keeps no copy:
 *    the value is computed afresh for each call into the buffer it returns (the digest is wiped).
 * 2. SIGUSR2 writes a heap snapshot of the main thread and of every crypto worker (through
 *    `Worker.getHeapSnapshot()`) into IKED_AUDIT_SNAPSHOTS, then the file `done` there.
 *
 * Workers do not run `--import` hooks, so the crypto pool's workers (Piscina's worker script) are
 * started through a small evaluated prelude that applies (1) first.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { pipeline } from "node:stream/promises";
import type { Worker as WorkerType, WorkerOptions } from "node:worker_threads";

const require = createRequire(import.meta.url);
const seed = process.env["IKED_AUDIT_SEED"] ?? "";
const dhBytes = Number(process.env["IKED_AUDIT_DH_BYTES"] ?? 0);
const outDir = process.env["IKED_AUDIT_SNAPSHOTS"] ?? "";

/** Source of (1), run here and at the start of each worker. */
const prelude = `(() => {
  const crypto = require("node:crypto");
  const { syncBuiltinESMExports } = require("node:module");
  const real = crypto.randomBytes;
  crypto.randomBytes = function (n, cb) {
    if (n !== ${dhBytes} || cb !== undefined) return real.apply(this, arguments);
    const out = Buffer.alloc(n);
    const h = crypto.createHash("sha256").update("iked secrets audit").update(${JSON.stringify(seed)}).digest();
    h.copy(out, 0, 0, n);
    h.fill(0);
    return out;
  };
  syncBuiltinESMExports();
})();`;

new Function("require", prelude)(require);
syncBuiltinESMExports();

const threads = require("node:worker_threads") as typeof import("node:worker_threads");
const workers = new Set<WorkerType>();
const RealWorker = threads.Worker;
class AuditedWorker extends RealWorker {
  constructor(filename: string | URL, options?: WorkerOptions) {
    const script = typeof filename === "string" ? filename : filename.href;
    if (script.endsWith(`${path.sep}piscina${path.sep}dist${path.sep}worker.js`)) {
      super(`${prelude}\nrequire(${JSON.stringify(script)});`, { ...options, eval: true });
    } else {
      super(filename, options);
    }
    workers.add(this);
    this.once("exit", () => workers.delete(this));
  }
}
threads.Worker = AuditedWorker as typeof threads.Worker;
syncBuiltinESMExports();

process.on("SIGUSR2", () => {
  void (async () => {
    v8.writeHeapSnapshot(path.join(outDir, "main.heapsnapshot"));
    let n = 0;
    for (const w of workers) await pipeline(await w.getHeapSnapshot(), fs.createWriteStream(path.join(outDir, `worker-${n++}.heapsnapshot`)));
    fs.writeFileSync(path.join(outDir, "done"), `${n}\n`);
  })();
});
