/**
 * What one audit line costs the main thread: the "Phase 1 SA established" line every negotiation
 * writes at the default debug level, through `Logger.info` to a log file in the default "pretty"
 * format, rendered straight from its scalar fields (src/log/pretty.ts `prettyDirect`) against the
 * path every line took before, pino's JSON then `prettyLine` (a logger with bound fields,
 * `Logger.with({})`, still takes it: the baseline, ratio 1.00, measured in the same run).
 * A negotiation writes about four such lines (Phase 1 up, INITIAL-CONTACT, IPsec SAs up, Delete).
 *
 * `npm run bench -- audit-line`; writes to a temporary file, removed at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Bench } from "tinybench";
import { LogHub } from "../../src/log/logger.js";

const FIELDS = { sa: "68bf8b40:a54825e0@127.7.3.16:500", role: "responder", peer: "127.7.3.16", encr: 7, bits: 128, hash: 2, group: 2, life: 3600 };

export default async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-log-bench-"));
  try {
    const hub = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "file", path: path.join(dir, "in.iked.log") } });
    const direct = hub.logger("ike");
    const viaJson = hub.logger("ike").with({});
    const bench = new Bench({ name: "audit line", time: 0, iterations: 20_000, warmupTime: 0, warmupIterations: 2_000 });
    bench.add("pino JSON + prettyLine", () => viaJson.info("Phase 1 SA established", FIELDS));
    bench.add("direct", () => direct.info("Phase 1 SA established", FIELDS));
    await bench.run();
    const periods = bench.tasks.map((t) => (t.result as { period?: number }).period ?? Number.NaN);
    console.table(bench.tasks.map((t, i) => ({ task: t.name, "us/line": (periods[i]! * 1000).toFixed(2), "vs pino JSON": (periods[i]! / periods[0]!).toFixed(2) })));
    hub.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
