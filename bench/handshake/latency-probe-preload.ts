/**
 * `node --import dist/bench/handshake/latency-probe-preload.js ...`: runs latency-probe.ts in the
 * main thread of the process (the handshake bench loads it into in.iked with `--probe`) and, when
 * the process exits, writes what it recorded to `$IKED_LATENCY_PROBE_DIR/probe-<pid>.json`.
 * Does nothing without that variable or in worker threads.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { startProbe } from "./latency-probe.js";

const dir = process.env.IKED_LATENCY_PROBE_DIR;
if (dir !== undefined && dir !== "" && isMainThread) {
  const probe = startProbe();
  process.on("exit", () => {
    probe.stop();
    writeFileSync(path.join(dir, `probe-${process.pid}.json`), JSON.stringify(probe.events()));
  });
}
