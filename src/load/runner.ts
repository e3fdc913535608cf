/**
 * One load run: many concurrent Main Mode negotiations from many source addresses towards one
 * IKEv1 responder, driven through the real engine (src/ike/engine.ts) on our UDP transport and
 * crypto pool, exactly as the daemon's initiator side would run them.
 *
 * Pacing is open loop (`rate`: starts on a schedule whatever the target does) or closed loop
 * (`concurrency`: slot i runs one negotiation at a time from source i, starting the next when one
 * ends). Each established SA is timed from the MM1 it was started with to the MM6 that completed
 * it, optionally deleted at the target (src/load/delete.ts), and dropped, so memory stays bounded
 * by the negotiations in flight. The run stops starting at `count` or `duration`, waits at most the
 * Phase 1 expire time (plus a second) for the rest, and then ends on its own.
 *
 * XXX: Phase 1 only. The engine has no Quick Mode yet; when it does, Phase 1+2 latency and the
 * kernel SAs it installs belong here.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { CryptoPool } from "../crypto/pool.js";
import type { DhGroupId } from "../crypto/dh.js";
import { IkeEngine } from "../ike/engine.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import { endpointKey, type DatagramHandler, type Endpoint, type Transport } from "../ike/transport.js";
import { UdpTransport } from "../net/udp-transport.js";
import { sendIsakmpDelete } from "./delete.js";
import { FailureCounter, classifyPhase1Failure, type Failure } from "./failures.js";
import type { LoadOptions } from "./options.js";
import { loadPolicy } from "./policy.js";
import { sourceAddresses } from "./sources.js";
import { LatencyRecorder, type LatencySummary } from "./stats.js";

/** Counters while a run is going (for the progress bar). */
export interface LoadProgress {
  readonly started: number;
  readonly established: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly elapsedMs: number;
  /** 0..1 of the run's count or duration bound, whichever is nearer. */
  readonly fraction: number;
}

/** The outcome of a run; `toJSON`-safe (plain data, no secrets). */
export interface LoadReport {
  readonly target: string;
  readonly mode: "main";
  readonly auth: "psk";
  readonly transform: { readonly encr: string; readonly hash: string; readonly dhGroup: number; readonly lifetimeSecs: number };
  readonly pacing: LoadOptions["pacing"];
  readonly sources: number;
  readonly workers: number;
  /** Phases measured; "phase2" joins when the engine has Quick Mode. */
  readonly phases: readonly ["phase1"];
  readonly started: number;
  readonly established: number;
  readonly failed: number;
  /** Wall time from the first start to the last negotiation's end, ms. */
  readonly elapsedMs: number;
  readonly establishedPerSec: number;
  readonly latencyMs: { readonly phase1: LatencySummary };
  /** Failures by class (and notify), see src/load/failures.ts. */
  readonly failures: Record<string, number>;
  readonly deletesSent: number;
  readonly retransmitsSent: number;
}

/** Why a run could not start (bad options, bind failure); never a negotiation failure. */
export interface LoadRunError {
  readonly code: string;
  readonly message: string;
}

/** Hooks of {@link runLoad}. */
export interface RunHooks {
  /** Called about every 200 ms and once at the end. */
  readonly onProgress?: (p: LoadProgress) => void;
  /** Aborting stops new starts and ends the run at once; in-flight negotiations count as unfinished. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly slot: number;
  readonly t0: number;
}

const MAX_IN_FLIGHT = 65_536;
const FLUSH_MS = 1000;

/**
 * The UDP transport, counting the datagrams it accepted, so the run can wait for them to leave
 * before it closes the sockets (UdpTransport.close drops what is queued).
 */
class CountingTransport implements Transport {
  #accepted = 0;
  constructor(readonly udp: UdpTransport) {}

  send(datagram: Buffer, local: Endpoint, remote: Endpoint): boolean {
    const ok = this.udp.send(datagram, local, remote);
    if (ok) this.#accepted++;
    return ok;
  }

  onDatagram(handler: DatagramHandler): void {
    this.udp.onDatagram(handler);
  }

  /** Resolves when every accepted datagram was sent (or failed), or after `maxMs`. */
  async flushed(maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    while (performance.now() < until) {
      const s = this.udp.stats();
      if (s.sent + s.sendErrors >= this.#accepted) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
const PROGRESS_MS = 200;

/** Run the load described by `o`. */
export async function runLoad(o: LoadOptions, hooks: RunHooks = {}): Promise<{ ok: true; value: LoadReport } | { ok: false; error: LoadRunError }> {
  const src = sourceAddresses(o.sourceStart, o.sources);
  if (!src.ok) return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: src.message } };
  const sources = src.value;
  const pol = await loadPolicy(o, sources);
  if (!pol.ok) return { ok: false, error: pol.error };

  let transport: UdpTransport;
  try {
    transport = await UdpTransport.open({ addresses: sources, port: o.sourcePort, nattPort: null });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, error: { code: e.code ?? "IKE_ERR_BIND", message: e.message ?? String(err) } };
  }
  const pool = new CryptoPool({ threads: o.workers, warmGroups: [o.dhGroup as DhGroupId] });
  const counting = new CountingTransport(transport);
  const engine = new IkeEngine({ transport: counting, dh: pool, policy: pol.policy, retransmit: o.retransmit, expireMs: o.expireMs });
  try {
    const run = new Run(o, engine, counting, sources, hooks);
    const r = pol.rule;
    return { ok: true, value: await run.go((local) => engine.initiate(r, local, o.target)) };
  } finally {
    engine.close();
    // The last Deletes are still in the send queue; closing would drop them.
    await counting.flushed(FLUSH_MS);
    await transport.close();
    await pool.close();
  }
}

/** The scheduling and bookkeeping of one run. */
class Run {
  readonly #pending = new Map<IsakmpSa, Pending>();
  readonly #latency = new LatencyRecorder();
  readonly #failures = new FailureCounter();
  #started = 0;
  #established = 0;
  #deletes = 0;
  #t0 = 0;
  #tEnd = 0;
  #stopStarting = false;
  #finish: (() => void) | undefined;
  #next = 0;

  constructor(
    private readonly o: LoadOptions,
    private readonly engine: IkeEngine,
    private readonly transport: CountingTransport,
    private readonly sources: readonly string[],
    private readonly hooks: RunHooks,
  ) {}

  async go(initiate: (local: { address: string; port: number }) => IsakmpSa): Promise<LoadReport> {
    const ports = new Map<string, number>();
    for (const e of this.transport.udp.endpoints()) ports.set(e.local.address, e.local.port);
    const start = (slot: number): void => {
      const address = this.sources[slot % this.sources.length]!;
      this.#started++;
      const sa = initiate({ address, port: ports.get(address) ?? this.o.sourcePort });
      this.#pending.set(sa, { slot, t0: performance.now() });
    };
    const next = (slot: number): void => {
      if (this.canStart()) start(slot);
      else this.maybeDone();
    };
    this.engine.on("phase1-up", (sa) => {
      const p = this.#pending.get(sa);
      if (p === undefined) return;
      this.#pending.delete(sa);
      this.#latency.add(performance.now() - p.t0);
      this.#established++;
      this.#tEnd = performance.now();
      if (this.o.sendDelete && sendIsakmpDelete(sa, this.transport, randomBytes)) this.#deletes++;
      sa.destroy("ikeload: measured");
      if (this.o.pacing.kind === "closed") next(p.slot);
      else this.maybeDone();
    });
    const failed = (sa: IsakmpSa, f: Failure): void => {
      const p = this.#pending.get(sa);
      if (p === undefined) return;
      this.#pending.delete(sa);
      this.#failures.add(f);
      this.#tEnd = performance.now();
      if (this.o.pacing.kind === "closed") next(p.slot);
      else this.maybeDone();
    };
    this.engine.on("phase1-failed", (sa, reason, notify) => failed(sa, classifyPhase1Failure(reason, notify)));
    this.engine.on("sa-dead", (sa) => failed(sa, { kind: "aborted" }));

    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#t0 = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => this.end();
    this.hooks.signal?.addEventListener("abort", onAbort, { once: true });
    if (this.hooks.signal?.aborted) this.end();
    timers.push(setInterval(() => this.hooks.onProgress?.(this.progress()), PROGRESS_MS));
    if (this.o.durationMs !== undefined) {
      timers.push(setTimeout(() => this.stopStarting(), this.o.durationMs));
    }
    if (this.o.pacing.kind === "closed") {
      for (let slot = 0; slot < this.o.pacing.concurrency && this.canStart(); slot++) start(slot);
    } else {
      const perMs = this.o.pacing.perSecond / 1000;
      const tick = (): void => {
        const due = Math.floor((performance.now() - this.#t0) * perMs) + 1;
        while (this.#started < due && this.canStart() && this.#pending.size < MAX_IN_FLIGHT) start(this.#next++);
        if (!this.canStart()) this.maybeDone();
      };
      tick();
      timers.push(setInterval(tick, Math.max(1, Math.min(50, Math.floor(1 / perMs)))));
    }
    this.maybeDone();
    await done;
    for (const t of timers) clearInterval(t);
    this.hooks.signal?.removeEventListener("abort", onAbort);
    this.hooks.onProgress?.(this.progress());
    return this.report();
  }

  private canStart(): boolean {
    if (this.#stopStarting) return false;
    if (this.o.count !== undefined && this.#started >= this.o.count) return false;
    if (this.o.durationMs !== undefined && performance.now() - this.#t0 >= this.o.durationMs) return false;
    return true;
  }

  /** No more starts; the rest get the expire time plus a second to finish. */
  private stopStarting(): void {
    if (this.#stopStarting) return;
    this.#stopStarting = true;
    setTimeout(() => this.end(), this.o.expireMs + 1000).unref();
    this.maybeDone();
  }

  private maybeDone(): void {
    if (!this.canStart()) this.stopStarting();
    if (this.#stopStarting && this.#pending.size === 0) this.#finish?.();
  }

  /** End now: whatever is still negotiating is unfinished. */
  private end(): void {
    this.#stopStarting = true;
    const left = [...this.#pending.keys()];
    this.#pending.clear();
    for (const sa of left) {
      this.#failures.add({ kind: "unfinished" });
      sa.destroy("ikeload: run over");
    }
    if (left.length > 0) this.#tEnd = performance.now();
    this.#finish?.();
  }

  private progress(): LoadProgress {
    const elapsedMs = performance.now() - this.#t0;
    const byCount = this.o.count === undefined ? 0 : (this.#established + this.#failures.total) / this.o.count;
    const byTime = this.o.durationMs === undefined ? 0 : elapsedMs / this.o.durationMs;
    return {
      started: this.#started,
      established: this.#established,
      failed: this.#failures.total,
      inFlight: this.#pending.size,
      elapsedMs,
      fraction: Math.min(1, Math.max(byCount, byTime)),
    };
  }

  private report(): LoadReport {
    const o = this.o;
    const elapsedMs = Math.max(0, (this.#tEnd || performance.now()) - this.#t0);
    return {
      target: endpointKey(o.target),
      mode: o.mode,
      auth: "psk",
      transform: { encr: o.encr, hash: o.hash, dhGroup: o.dhGroup, lifetimeSecs: o.p1LifetimeSecs },
      pacing: o.pacing,
      sources: o.sources,
      workers: o.workers,
      phases: ["phase1"],
      started: this.#started,
      established: this.#established,
      failed: this.#failures.total,
      elapsedMs,
      establishedPerSec: elapsedMs > 0 ? (this.#established * 1000) / elapsedMs : 0,
      latencyMs: { phase1: this.#latency.summary() },
      failures: this.#failures.toJSON(),
      deletesSent: this.#deletes,
      retransmitsSent: this.engine.stats.engine.retransmitsSent,
    };
  }
}
