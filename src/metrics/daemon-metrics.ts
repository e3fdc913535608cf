/**
 * The daemon's metrics: one prom-client registry fed by the engine, the UDP sockets, the crypto pool
 * and the kernel (collectors.ts, latency.ts, kernel-counters.ts), the endpoint that serves it
 * (server.ts), and the same counters for `ikeadm get stats --json`.
 *
 * The endpoint is off unless `--metrics` or the ike.config keyword `metrics` names where to listen;
 * `--metrics` wins over the keyword (`--metrics off` keeps it off whatever the file says). The
 * counters are kept either way (the engine keeps them anyway; latency is one histogram update per
 * negotiation), so `ikeadm get stats --json` has them with the endpoint off. Process metrics
 * (CPU, memory, event-loop lag; prom-client's defaults, prefixed `iked_`) start with the first
 * endpoint.
 *
 * On SIGHUP ({@link DaemonMetrics.apply} again): an unchanged setting leaves the endpoint alone; a
 * changed one binds the new place first and closes the old endpoint only once the new one serves.
 * If the new place cannot be bound, the old endpoint keeps serving and the log says why; `off`
 * closes it.
 */
import { Counter, Registry, collectDefaultMetrics } from "prom-client";
import { systemClock, type Clock } from "../clock.js";
import { formatMetricsSetting, metricsExposureWarning, type MetricsSetting } from "../config/metrics-address.js";
import type { HistogramView, StatsExtension } from "../control/results.js";
import type { CryptoPool } from "../crypto/pool.js";
import type { IkeEngine } from "../ike/engine.js";
import { newNegotiationCounts } from "../ike/negotiation-stats.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Logger } from "../log/logger.js";
import { registerDaemonMetrics, type IpsecSaCount, type TransportCounters } from "./collectors.js";
import { KernelCounters, instrumentKernel } from "./kernel-counters.js";
import { LatencyHistograms } from "./latency.js";
import { MetricsServer } from "./server.js";

/** Every metric name starts with this. */
export const METRIC_PREFIX = "iked_";

/** How long a kernel dump for the IPsec SA gauge is reused. */
const IPSEC_DUMP_REUSE_MS = 5_000;

/** What the daemon hands its metrics. */
export interface DaemonMetricsOptions {
  readonly pool: CryptoPool;
  readonly kernel: Kernel;
  /** Kernel backend name for labels (`memory`, `xfrm`, `pfkey`). */
  readonly backend: string;
  readonly log: Logger;
  /** `--metrics`: wins over the ike.config keyword when given. */
  readonly commandLine?: MetricsSetting;
  readonly clock?: Clock;
}

/** See the file comment. */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly kernelCounters: KernelCounters;
  readonly #opts: DaemonMetricsOptions;
  readonly #latency: LatencyHistograms;
  readonly #scrapes: Counter;
  readonly #detach: (() => void)[] = [];
  #engine: IkeEngine | undefined;
  #transport: { stats(): TransportCounters } | undefined;
  #server: MetricsServer | undefined;
  #serving = "off";
  /** The setting in effect, as written (`127.0.0.1:0` stays that, whatever port it got). */
  #applied = "off";
  #processMetrics = false;
  #ipsec: { at: number; value: Promise<readonly IpsecSaCount[]> } | undefined;

  constructor(opts: DaemonMetricsOptions) {
    this.#opts = opts;
    this.kernelCounters = new KernelCounters(opts.backend);
    this.#detach.push(instrumentKernel(opts.kernel, this.kernelCounters));
    registerDaemonMetrics(this.registry, METRIC_PREFIX, {
      engine: () => this.#engine,
      pool: () => opts.pool.stats(),
      kernel: this.kernelCounters,
      transport: () => this.#transport?.stats(),
      ipsecSas: () => this.#ipsecSas(),
    });
    this.#latency = new LatencyHistograms(this.registry, METRIC_PREFIX);
    this.#scrapes = new Counter({ name: `${METRIC_PREFIX}metrics_scrapes_total`, help: "Scrapes of this endpoint (this one included)", registers: [this.registry] });
  }

  /** Count and time the negotiations of `engine` from now on. */
  attachEngine(engine: IkeEngine): void {
    this.#engine = engine;
    this.#detach.push(this.#latency.observe(engine, this.#opts.clock ?? systemClock));
  }

  /** Export the counters of the daemon's UDP sockets (one transport holds every address's sockets). */
  attachTransport(transport: { stats(): TransportCounters }): void {
    this.#transport = transport;
  }

  /** Where the endpoint serves now (`127.0.0.1:9712`, `unix:/path`), or `off`. */
  get serving(): string {
    return this.#serving;
  }

  /** The bound TCP port, if serving on TCP. */
  get port(): number | undefined {
    return this.#server?.port;
  }

  /** All metrics as Prometheus text (what a scrape returns). */
  async collect(): Promise<string> {
    this.#scrapes.inc();
    return this.registry.metrics();
  }

  /**
   * Serve where `--metrics`, else `keyword`, says. Throws when the place cannot be bound and
   * nothing serves yet (start-up); on reload the old endpoint stays and the error is logged.
   */
  async apply(keyword: MetricsSetting | undefined): Promise<void> {
    const setting = this.#opts.commandLine ?? keyword ?? { kind: "off" };
    const want = formatMetricsSetting(setting);
    const log = this.#opts.log;
    if (keyword !== undefined && this.#opts.commandLine !== undefined && formatMetricsSetting(keyword) !== want) {
      log.info("ike.config metrics ignored: --metrics given", { keyword: formatMetricsSetting(keyword), serving: want });
    }
    if (want === this.#applied) return;
    const old = this.#server;
    if (setting.kind === "off") {
      this.#server = undefined;
      this.#serving = "off";
      this.#applied = "off";
      await old?.close();
      if (old !== undefined) log.info("metrics endpoint closed");
      return;
    }
    const warning = metricsExposureWarning(setting);
    let next: MetricsServer;
    try {
      next = await MetricsServer.listen({ endpoint: setting, collect: () => this.collect(), contentType: this.registry.contentType, log });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const message = `cannot serve metrics on ${want}: ${e.code ?? e.message}`;
      if (old === undefined) throw Object.assign(new Error(message), { code: e.code });
      log.error(`${message}; still serving on ${this.#serving}`);
      return;
    }
    if (!this.#processMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
      this.#processMetrics = true;
    }
    this.#server = next;
    this.#serving = next.where;
    this.#applied = want;
    await old?.close();
    if (warning !== undefined) log.warn(warning);
    log.info("metrics endpoint listening", { on: this.#serving, path: "/metrics" });
  }

  /** The counters of `get stats --json`, from the same sources as a scrape. */
  async statsExtension(): Promise<StatsExtension> {
    const e = this.#engine;
    const pool = this.#opts.pool.stats();
    const negotiations = e !== undefined ? structuredClone(e.stats.negotiations) : newNegotiationCounts();
    return {
      negotiations,
      halfOpen: e?.sas.halfOpenCount ?? 0,
      kernel: this.kernelCounters.toJSON(),
      pool: { ...pool, tasks: { ...pool.tasks } as Record<string, number> },
      latency: { phase1: await histogramViews(this.#latency.phase1), negotiation: await histogramViews(this.#latency.negotiation) },
      metrics: this.#serving,
    };
  }

  /** Close the endpoint, stop observing, put the kernel's methods back. */
  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.#serving = "off";
    this.#applied = "off";
    await s?.close();
    for (const f of this.#detach.splice(0).reverse()) f();
    this.registry.clear();
  }

  /** IPsec SAs in the kernel by protocol and state, from a dump at most every few seconds. */
  #ipsecSas(): Promise<readonly IpsecSaCount[]> {
    const now = Date.now();
    if (this.#ipsec !== undefined && now - this.#ipsec.at < IPSEC_DUMP_REUSE_MS) return this.#ipsec.value;
    const value = this.#opts.kernel.dump().then((sas) => {
      const counts = new Map<string, IpsecSaCount>();
      for (const s of sas) {
        const k = `${s.proto}/${s.state}`;
        counts.set(k, { proto: s.proto, state: s.state, count: (counts.get(k)?.count ?? 0) + 1 });
      }
      return [...counts.values()];
    });
    this.#ipsec = { at: now, value: value.catch(() => []) };
    return this.#ipsec.value;
  }
}

/** A prom-client histogram as plain series. */
async function histogramViews(h: { get(): Promise<{ values: { labels: Record<string, string | number>; value: number; metricName?: string }[] }> }): Promise<HistogramView[]> {
  const series = new Map<string, HistogramView>();
  for (const v of (await h.get()).values) {
    const { le, ...rest } = v.labels;
    const labels = Object.fromEntries(Object.entries(rest).map(([k, x]) => [k, String(x)]));
    const key = JSON.stringify(labels);
    const s = series.get(key) ?? { labels, count: 0, sum: 0, buckets: {} };
    series.set(key, s);
    if (v.metricName?.endsWith("_bucket") === true) s.buckets[String(le)] = v.value;
    else if (v.metricName?.endsWith("_sum") === true) s.sum = v.value;
    else if (v.metricName?.endsWith("_count") === true) s.count = v.value;
  }
  return [...series.values()];
}
