/**
 * The metrics endpoint of the compiled in.iked, scraped while a real strongSwan 5.9.8 negotiates
 * Main Mode + Quick Mode with it: the negotiation counters, the SA gauges, the kernel messages and
 * the latency histograms move as they should, `ikeadm get stats --json` carries the same counters,
 * and requests that are not scrapes cost no collection (the endpoint's own scrape counter says so).
 *
 * Resources (shared machine): addresses 127.0.6.1-2, UDP ports 16600-16603, instance names dmn-met-*.
 */
import assert from "node:assert/strict";
import type { StatsResult } from "../../src/control/results.js";
import { ikeadm, type RunningDaemon } from "../daemon/harness.js";
import { interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { SS_INITIATOR, json, rootFor, strongSwanFor } from "./common.js";

/** The port the daemon's log says the endpoint took (it was started with port 0). */
async function metricsPort(d: RunningDaemon): Promise<number> {
  await d.waitFor(/metrics endpoint listening on=127\.0\.0\.1:\d+/);
  return Number(/metrics endpoint listening on=127\.0\.0\.1:(\d+)/.exec(d.output())![1]);
}

/** One sample's value from Prometheus text (0 when the series is absent). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

interopTest("scraped during a negotiation with strongSwan: counters, gauges, kernel messages and latency move; get stats --json agrees", async (s) => {
  const ourPort = 16600;
  const root = rootFor(s, SS_INITIATOR);
  const d = await s.daemon(root, ["--port", String(ourPort), "--natt-port", String(ourPort + 1), "--metrics", "127.0.0.1:0"]);
  const base = `http://127.0.0.1:${await metricsPort(d)}`;
  let scrapes = 0;
  const scrape = async (): Promise<string> => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    scrapes++;
    return r.text();
  };
  const P1R = 'iked_negotiations_established_total{phase="1",exchange="main",role="responder"}';
  const P2R = 'iked_negotiations_established_total{phase="2",exchange="quick",role="responder"}';
  const before = await scrape();
  assert.equal(sample(before, P1R), 0);
  assert.equal(sample(before, 'iked_isakmp_sas{role="responder"}'), 0);
  // Every name carries the prefix, the process metrics included.
  const names = before.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!);
  assert.ok(names.length > 30 && names.every((n) => n.startsWith("iked_")), names.filter((n) => !n.startsWith("iked_")).join(" "));
  for (const n of ["iked_process_cpu_seconds_total", "iked_process_resident_memory_bytes", "iked_nodejs_eventloop_lag_seconds"]) assert.ok(names.includes(n), n);

  const peer = await s.strongSwan(strongSwanFor(`dmn-met-ss-${process.pid}`, "initiator", SS_INITIATOR, ourPort + 2, ourPort));
  // Scraped while strongSwan negotiates, until both phases count as established.
  let during = "";
  await poll(async () => {
    during = await scrape();
    return sample(during, P2R) === 1;
  }, () => `Quick Mode established in the metrics (phase 1: ${sample(during, P1R)}, phase 2: ${sample(during, P2R)})\n${d.output()}`);
  await s.established(peer, { context: () => d.output() });

  assert.equal(sample(during, 'iked_negotiations_started_total{phase="1",exchange="main",role="responder"}'), 1);
  assert.equal(sample(during, P1R), 1);
  assert.equal(sample(during, 'iked_negotiations_started_total{phase="2",exchange="quick",role="responder"}'), 1);
  assert.equal(sample(during, 'iked_isakmp_sas{role="responder"}'), 1);
  assert.equal(sample(during, "iked_half_open_exchanges"), 0);
  assert.equal(sample(during, 'iked_phase1_duration_seconds_count{exchange="main",role="responder"}'), 1);
  assert.ok(sample(during, 'iked_phase1_duration_seconds_bucket{le="60",exchange="main",role="responder"}') === 1);
  assert.equal(sample(during, 'iked_negotiation_duration_seconds_count{role="responder"}'), 1);
  for (const t of ["GETSPI", "UPDATE", "ADD", "REGISTER"]) assert.ok(sample(during, `iked_kernel_messages_total{backend="memory",direction="out",type="${t}"}`) >= 1, t);
  assert.ok(sample(during, "iked_datagrams_received_total") >= 4);
  const failures = during.split("\n").filter((l) => l.startsWith("iked_negotiations_failed_total") && !l.endsWith(" 0"));
  assert.deepEqual(failures, []);
  // The IPsec SA gauge comes from a kernel dump reused for 5 s: wait for one that sees them.
  await poll(async () => sample(await scrape(), 'iked_ipsec_sas{proto="esp",state="mature"}') === 2, "two mature ESP SAs in the gauge");

  // Not a scrape: 404, a few bytes, and no collection.
  for (const url of ["/", "/metrics/", "/favicon.ico"]) {
    const r = await fetch(base + url);
    assert.equal(r.status, 404);
    assert.equal(await r.text(), "not found\n");
  }
  assert.equal(sample(await scrape(), "iked_metrics_scrapes_total"), scrapes, "every collection was one of our scrapes");

  const st = await json<StatsResult>(root, ["get", "stats"]);
  const after = await scrape();
  assert.equal(st.negotiations?.phase1.main.responder.established, sample(after, P1R));
  assert.equal(st.negotiations?.quick.responder.established, sample(after, P2R));
  assert.equal(st.latency?.phase1[0]?.count, 1);
  assert.match(st.metrics ?? "", /^127\.0\.0\.1:\d+$/);
  assert.ok((st.kernel?.sent.UPDATE ?? 0) >= 1);
  // The plain output keeps the original's layout.
  assert.match((await ikeadm(root, ["get", "stats"])).stdout, /^Phase 1 SA counts:\nCurrent:   initiator:          0   responder:          1$/m);
});
