/**
 * `node --import dist/bench/handshake/latency-probe-preload.js ...`: runs latency-probe.ts and the
 * old-space sampler of old-space.ts in the main thread of the process (the handshake bench loads
 * it into in.iked with `--probe`) and, when the process exits, writes what they recorded to
 * `$IKED_LATENCY_PROBE_DIR/probe-<pid>.json` and `old-<pid>.json`. Does nothing without that
 * variable or in worker threads.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { startProbe } from "./latency-probe.js";
import { startOldSpaceSampler } from "./old-space.js";

const dir = process.env.IKED_LATENCY_PROBE_DIR;
if (dir !== undefined && dir !== "" && isMainThread) {
  const probe = startProbe();
  const old = startOldSpaceSampler();
  process.on("exit", () => {
    probe.stop();
    old.stop();
    writeFileSync(path.join(dir, `probe-${process.pid}.json`), JSON.stringify(probe.events()));
    writeFileSync(path.join(dir, `old-${process.pid}.json`), JSON.stringify(old.rises()));
  });
}
