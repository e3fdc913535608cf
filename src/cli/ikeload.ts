#!/usr/bin/env -S node --openssl-legacy-provider
/**
 * ikeload(8): IKEv1 load generator. Parses options, runs src/load/runner.ts, prints the report
 * (text, or JSON with --json) on stdout and a progress bar on stderr when it is a terminal.
 * Exit status: 0 when every negotiation established, 1 when some failed, 2 on a usage or
 * start-up error. SIGINT/SIGTERM end the run early with a report.
 */
import { parseLoadArgs, USAGE } from "../load/options.js";
import { formatJson, formatReport, progressLine } from "../load/report.js";
import { runLoad } from "../load/runner.js";

async function main(): Promise<number> {
  const a = parseLoadArgs(process.argv.slice(2));
  if (!a.ok) {
    process.stderr.write(`ikeload: ${a.error.message}\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = a.value;
  const bar = o.progress && process.stderr.isTTY === true;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const r = await runLoad(o, {
    signal: ac.signal,
    ...(bar ? { onProgress: (p) => process.stderr.write(progressLine(p)) } : {}),
  });
  if (bar) process.stderr.write("\n");
  if (!r.ok) {
    process.stderr.write(`ikeload: ${r.error.code}: ${r.error.message}\n`);
    return 2;
  }
  process.stdout.write(o.json ? formatJson(r.value) : formatReport(r.value));
  return r.value.failed === 0 && r.value.established > 0 ? 0 : 1;
}

process.exitCode = await main();
