/**
 * The daemon's metrics in a prom-client registry, read from the counters the engine, the crypto
 * pool and the kernel keep anyway: every value here is copied in a `collect()` that runs only when
 * the endpoint is scraped, so the hot path pays nothing for it. Label values come from fixed tables
 * (exchange, role, failure class, message type, datagram kind, task name), never from a peer.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { PoolStats } from "../crypto/pool.js";
import type { IkeEngine } from "../ike/engine.js";
import { FAILURE_CLASSES, NEGOTIATION_ROLES, PHASE1_EXCHANGES, type NegotiationCounts, type OutcomeCounts } from "../ike/negotiation-stats.js";
import type { EngineStats } from "../ike/stats.js";
import { ENGINE_COUNTERS, engineMetricFamilies, type EngineCounterLine } from "./engine-counters.js";
import type { KernelCounters } from "./kernel-counters.js";

/** IPsec SAs in the kernel by protocol and state. */
export interface IpsecSaCount {
  readonly proto: string;
  readonly state: string;
  readonly count: number;
}

/** The UDP sockets' receive counters (src/net/udp-transport.ts's stats, which has these and more). */
export interface TransportCounters {
  readonly received: number;
  readonly keepalives: number;
  readonly espDropped: number;
  readonly runts: number;
  readonly verifiedReceived: number;
  /** Datagrams the sockets took, those dropped before a socket took them, those a socket refused. */
  readonly sent: number;
  readonly sendDropped: number;
  readonly sendErrors: number;
}

/** Where the values come from, read at scrape time. */
export interface MetricSources {
  /** The running IKE engine, once there is one. */
  engine(): IkeEngine | undefined;
  /** The crypto pool's counters. */
  pool(): PoolStats | undefined;
  readonly kernel: KernelCounters;
  /** The UDP sockets' counters (every address's IKE and NAT-T sockets together), once bound. */
  transport(): TransportCounters | undefined;
  /** IPsec SAs the kernel holds (the caller bounds how often this dumps). */
  ipsecSas(): Promise<readonly IpsecSaCount[]>;
}

type Labels = Record<string, string>;

/** Each (labels, outcome table) of a negotiation table, Phase 1 then Quick Mode. */
function eachOutcome(n: NegotiationCounts, fn: (labels: Labels, o: OutcomeCounts) => void): void {
  for (const exchange of PHASE1_EXCHANGES) {
    for (const role of NEGOTIATION_ROLES) fn({ phase: "1", exchange, role }, n.phase1[exchange][role]);
  }
  for (const role of NEGOTIATION_ROLES) fn({ phase: "2", exchange: "quick", role }, n.quick[role]);
}

/** A counter whose values are copied from `read` at each scrape. */
function copiedCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: (set: (labels: Partial<Record<L, string>>, v: number) => void) => void): Counter<L> {
  return new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, v));
    },
  });
}

/** A gauge whose values are set from `read` at each scrape. */
function copiedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: (set: (labels: Partial<Record<L, string>>, v: number) => void) => void | Promise<void>): Gauge<L> {
  return new Gauge<L>({
    name, help, labelNames, registers: [registry],
    async collect() {
      this.reset();
      await read((labels, v) => this.set(labels, v));
    },
  });
}

/** Negotiations, SAs and the engine's own counters. */
function registerEngine(registry: Registry, p: string, src: MetricSources): void {
  const neg = (read: (o: OutcomeCounts, labels: Labels, set: (l: Labels, v: number) => void) => void) => (set: (l: Labels, v: number) => void) => {
    const e = src.engine();
    if (e !== undefined) eachOutcome(e.stats.negotiations, (labels, o) => read(o, labels, set));
  };
  copiedCounter(registry, `${p}negotiations_started_total`, "Negotiations started, by phase, exchange and role", ["phase", "exchange", "role"], neg((o, l, set) => set(l, o.started)));
  copiedCounter(registry, `${p}negotiations_established_total`, "Negotiations that established their SAs, by phase, exchange and role", ["phase", "exchange", "role"], neg((o, l, set) => set(l, o.established)));
  copiedCounter(registry, `${p}negotiations_failed_total`, "Negotiations that failed, by phase, exchange, role and failure class", ["phase", "exchange", "role", "failure"],
    neg((o, l, set) => {
      for (const failure of FAILURE_CLASSES) set({ ...l, failure }, o.failed[failure]);
    }));

  for (const [name, family] of engineMetricFamilies()) {
    const lines = (Object.entries(ENGINE_COUNTERS) as [keyof EngineStats, EngineCounterLine][]).filter(([, line]) => line.name === name);
    copiedCounter(registry, `${p}${name}`, family.help, family.labelNames, (set) => {
      const e = src.engine();
      if (e === undefined) return;
      for (const [field, line] of lines) set(line.label === undefined ? {} : { [line.label[0]]: line.label[1] }, e.stats.engine[field]);
    });
  }

  copiedGauge(registry, `${p}isakmp_sas`, "Established ISAKMP SAs, by role (ikeadm get stats' Current line)", ["role"], (set) => {
    const s = src.engine()?.stats.p1;
    if (s === undefined) return;
    set({ role: "initiator" }, s.init_p1_current);
    set({ role: "responder" }, s.resp_p1_current);
  });
  copiedGauge(registry, `${p}half_open_exchanges`, "Phase 1 exchanges in progress (half-open ISAKMP SAs)", [], (set) => {
    const e = src.engine();
    if (e !== undefined) set({}, e.sas.halfOpenCount);
  });
  copiedGauge(registry, `${p}engine_table_entries`, "Entries in the engine's tables, by table (bounded by the defences)", ["table"], (set) => {
    const e = src.engine();
    if (e === undefined) return;
    set({ table: "isakmp_sas" }, e.sas.size);
    set({ table: "phase2_exchanges" }, e.sas.phase2Count);
    for (const [table, n] of Object.entries(e.debugSizes())) set({ table }, n);
  });
  copiedGauge(registry, `${p}ipsec_sas`, "IPsec SAs in the kernel, by protocol and state", ["proto", "state"], async (set) => {
    for (const c of await src.ipsecSas()) set({ proto: c.proto, state: c.state }, c.count);
  });
}

/** Kernel messages and errors. */
function registerKernel(registry: Registry, p: string, k: KernelCounters): void {
  copiedCounter(registry, `${p}kernel_messages_total`, "Kernel key-management messages, by backend, direction and type (PF_KEY names)", ["backend", "direction", "type"], (set) => {
    for (const [type, n] of k.sent) set({ backend: k.backend, direction: "out", type }, n);
    for (const [type, n] of k.received) set({ backend: k.backend, direction: "in", type }, n);
  });
  copiedCounter(registry, `${p}kernel_errors_total`, "Kernel requests that failed, by backend, type and error", ["backend", "type", "error"], (set) => {
    for (const e of k.errors.values()) set({ backend: k.backend, type: e.type, error: e.error }, e.count);
  });
  copiedCounter(registry, `${p}kernel_events_lost_total`, "Times kernel events were lost (the event socket overran or failed), by backend and cause", ["backend", "cause"], (set) => {
    for (const [cause, n] of k.lost) set({ backend: k.backend, cause }, n);
  });
  copiedCounter(registry, `${p}kernel_resyncs_total`, "Resyncs of the SA table with the kernel after lost events (with PF_KEY also every minute), by backend and outcome", ["backend", "outcome"], (set) => {
    set({ backend: k.backend, outcome: "done" }, k.resyncs.done);
    set({ backend: k.backend, outcome: "failed" }, k.resyncs.failed);
  });
  copiedCounter(registry, `${p}kernel_resync_actions_total`, "What resyncs did: SA pairs removed (missing from the kernel), rekeys started (soft lifetime passed)", ["backend", "action"], (set) => {
    set({ backend: k.backend, action: "removed" }, k.resyncs.removed);
    set({ backend: k.backend, action: "rekeyed" }, k.resyncs.rekeyed);
  });
}

/** What the UDP sockets read, before the engine sees it (src/net/udp-transport.ts). */
function registerTransport(registry: Registry, p: string, src: MetricSources): void {
  copiedCounter(registry, `${p}transport_datagrams_total`, "UDP datagrams read from the IKE and NAT-T sockets, by kind: isakmp (handed to the engine), keepalive (RFC 3948 NAT keepalives), esp (no data plane here: dropped), runt (too short: dropped)", ["kind"], (set) => {
    const t = src.transport();
    if (t === undefined) return;
    set({ kind: "isakmp" }, t.received);
    set({ kind: "keepalive" }, t.keepalives);
    set({ kind: "esp" }, t.espDropped);
    set({ kind: "runt" }, t.runts);
  });
  copiedCounter(registry, `${p}transport_sends_total`, "Datagrams handed to the UDP sockets to send, by outcome: sent (the socket took it), dropped (the send queue was full, or no socket for the local address), error (the socket refused it); the engine's iked_datagrams_sent_total counts what it asked to send", ["outcome"], (set) => {
    const t = src.transport();
    if (t === undefined) return;
    set({ outcome: "sent" }, t.sent);
    set({ outcome: "dropped" }, t.sendDropped);
    set({ outcome: "error" }, t.sendErrors);
  });
  copiedCounter(registry, `${p}transport_verified_datagrams_total`, "Datagrams read from the IKE port's second socket: those with a responder cookie (peers that returned ours), steered apart so an MM1 flood cannot crowd them out; stays 0 where the kernel refused the socket pair", [], (set) => {
    const t = src.transport();
    if (t !== undefined) set({}, t.verifiedReceived);
  });
}

/** The crypto worker pool. */
function registerPool(registry: Registry, p: string, src: MetricSources): void {
  const gauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    copiedGauge(registry, `${p}${name}`, help, [], (set) => {
      const s = src.pool();
      if (s !== undefined) set({}, pick(s));
    });
  const counter = (name: string, help: string, pick: (s: PoolStats) => number) =>
    copiedCounter(registry, `${p}${name}`, help, [], (set) => {
      const s = src.pool();
      if (s !== undefined) set({}, pick(s));
    });
  gauge("crypto_queue_depth", "Crypto requests waiting for a worker", (s) => s.queued);
  gauge("crypto_batches_running", "Crypto batches running in the workers", (s) => s.running);
  gauge("crypto_threads", "Crypto worker threads (0: crypto runs on the main thread)", (s) => s.threads);
  counter("crypto_dispatches_total", "Batches sent to the crypto workers", (s) => s.dispatches);
  counter("crypto_worker_restarts_total", "Crypto workers started to replace ones that died", (s) => s.workerRestarts);
  counter("crypto_worker_failures_total", "Crypto requests that failed because their worker died", (s) => s.workerFailures);
  copiedCounter(registry, `${p}crypto_tasks_total`, "Crypto requests run, by task", ["task"], (set) => {
    for (const [task, n] of Object.entries(src.pool()?.tasks ?? {})) set({ task }, n ?? 0);
  });
}

/** Register every daemon metric in `registry`, each name prefixed with `prefix`. */
export function registerDaemonMetrics(registry: Registry, prefix: string, src: MetricSources): void {
  registerEngine(registry, prefix, src);
  registerKernel(registry, prefix, src.kernel);
  registerTransport(registry, prefix, src);
  registerPool(registry, prefix, src);
}
