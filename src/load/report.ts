/**
 * How ikeload shows its results: a short text report for people, the {@link LoadReport} object
 * itself as JSON for scripts, and a one-line progress bar for terminals.
 */
import type { LoadProgress, LoadReport } from "./runner.js";
import type { LatencySummary } from "./stats.js";

const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The text report (several lines, newline-terminated). */
export function formatReport(r: LoadReport): string {
  const pace = r.pacing.kind === "closed" ? `closed loop, concurrency ${r.pacing.concurrency}` : `open loop, ${r.pacing.perSecond}/s`;
  const lat = (name: string, l: LatencySummary): string =>
    `${name} latency ms: p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  (n=${l.count})`;
  const p2 = r.phase2 === null ? "phase 1 only" : `phase 2 ${r.phase2.proposal}${r.phase2.pfsGroup > 0 ? `, pfs ${r.phase2.pfsGroup}` : ""}`;
  const lines = [
    `target ${r.target}  ${r.mode} mode, ${r.auth === "rsa" ? "RSA signatures" : "psk"}, ${r.transform.encr}/${r.transform.hash}/group ${r.transform.dhGroup}; ${p2}`,
    `${pace}, ${r.sources} sources, ${r.workers} workers (first answer after ${ms(r.startupMs)} ms, before the first start); DH key pairs ${r.dhKeyPairs === "reused" ? "reused (one per group for every negotiation: the generator does one modexp per exchange)" : "fresh per negotiation"}`,
    `started ${r.started}  established ${r.established}  failed ${r.failed}  in ${(r.elapsedMs / 1000).toFixed(2)} s  => ${r.establishedPerSec.toFixed(1)} established/s`,
    lat("phase 1", r.latencyMs.phase1),
    ...(r.latencyMs.phase1and2 ? [lat("phase 1+2", r.latencyMs.phase1and2)] : []),
    `ISAKMP SAs up ${r.phase1Established}  deleted ${r.deletesSent}  retransmissions ${r.retransmitsSent}`,
  ];
  const f = Object.entries(r.failures);
  if (f.length > 0) lines.push(`failures: ${f.map(([k, n]) => `${k}=${n}`).join("  ")}`);
  return lines.join("\n") + "\n";
}

/** The JSON report (one line, newline-terminated). */
export function formatJson(r: LoadReport): string {
  return JSON.stringify(r) + "\n";
}

/** A progress line of about `width` columns, starting with a carriage return (no newline). */
export function progressLine(p: LoadProgress, width = 30): string {
  const filled = Math.round(p.fraction * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const rate = p.elapsedMs > 0 ? (p.established * 1000) / p.elapsedMs : 0;
  return `\r[${bar}] ${(p.fraction * 100).toFixed(0).padStart(3)}%  up ${p.established}  failed ${p.failed}  in flight ${p.inFlight}  ${rate.toFixed(1)}/s `;
}
