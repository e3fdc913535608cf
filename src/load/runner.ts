/**
 * One load run: many concurrent negotiations (Main or Aggressive Mode, then Quick Mode unless
 * `--phase1-only`) from many source addresses towards one IKEv1 responder, driven through the real engine
 * (src/ike/engine.ts) on our UDP transport (the native addon's batched sockets where it loads, as
 * in.iked's), crypto pool and in-memory SADB, as the daemon's initiator side runs them.
 *
 * Pacing is open loop (`rate`: starts on a schedule whatever the target does) or closed loop
 * (`concurrency`: slot i runs one negotiation at a time from source i, starting the next when one
 * ends). Every negotiation has an ISAKMP SA of its own: `initiate` and, once it is up, `quickMode`
 * on it (not `negotiate`, which would share an SA between negotiations from one source). Each is
 * timed from MM1 to MM6 (Phase 1) and to QM3 (Phase 1+2), then deleted at the target
 * (`engine.deleteSa`: Delete payloads for the IPsec SAs and the ISAKMP SA, kernel SAs removed), so
 * memory stays bounded by the negotiations in flight. With `--no-delete` the ISAKMP SA is dropped
 * locally and the IPsec SAs stay in our in-memory SADB until their lifetime or the run's end. The
 * run stops starting at `count` or `duration`, waits at most the expire time plus a second for the
 * rest, and ends on its own.
 */
import { performance } from "node:perf_hooks";
import { refClock, systemClock, timerDelay, type TimerHandle } from "../clock.js";
import { CryptoPool } from "../crypto/pool.js";
import type { DhGroupId } from "../crypto/dh.js";
import { IkeEngine } from "../ike/engine.js";
import type { DhPort } from "../ike/ports.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { QuickModeRequest } from "../ike/phase2/quick-mode.js";
import { endpointKey } from "../ike/transport.js";
import { MemoryKernel } from "../kernel/memory.js";
import { tryNativeSocketOptions } from "../net/native-sockets.js";
import { UdpTransport } from "../net/udp-transport.js";
import { loadCertCredentials } from "./certificates.js";
import { CountingTransport } from "./counting-transport.js";
import { notifyLabel } from "../codec/index.js";
import { InFlight } from "./in-flight.js";
import { FailureCounter, classifyPhase1Failure, classifyPhase2Failure, type Failure } from "./failures.js";
import type { LoadOptions } from "./options.js";
import { loadPolicy } from "./policy.js";
import { sourceAddresses } from "./sources.js";
import { LatencyRecorder, type LatencySummary } from "./stats.js";
import { ReusedDh } from "./reused-dh.js";

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

/** The outcome of a run; plain data, no secrets. */
export interface LoadReport {
  readonly target: string;
  readonly mode: "main" | "aggressive";
  readonly auth: "psk" | "rsa";
  readonly transform: { readonly encr: string; readonly hash: string; readonly dhGroup: number; readonly lifetimeSecs: number };
  /** Phase 2 proposal (ipsecinit.conf action text) and PFS group; null with `--phase1-only`. */
  readonly phase2: { readonly proposal: string; readonly pfsGroup: number } | null;
  readonly pacing: LoadOptions["pacing"];
  readonly sources: number;
  readonly workers: number;
  /** What a negotiation includes. */
  readonly phases: readonly ("phase1" | "phase2")[];
  readonly started: number;
  /** Complete negotiations (Phase 1, and Phase 2 when it is on). */
  readonly established: number;
  /** ISAKMP SAs established (equals `established` with `--phase1-only`). */
  readonly phase1Established: number;
  readonly failed: number;
  /** Wall time from the first start to the last negotiation's end, ms. */
  readonly elapsedMs: number;
  readonly establishedPerSec: number;
  /** `phase1`: MM1 to MM6 (AM1 to AM3); `phase1and2`: to QM3 (absent with `--phase1-only`). */
  readonly latencyMs: { readonly phase1: LatencySummary; readonly phase1and2?: LatencySummary };
  /** Failures by class (and notify), see src/load/failures.ts. */
  readonly failures: Record<string, number>;
  /** ISAKMP SAs deleted at the target. */
  readonly deletesSent: number;
  /** `reused`: one DH key pair per group served every negotiation (`--fresh-dh`: `fresh`). */
  readonly dhKeyPairs: "reused" | "fresh";
  readonly retransmitsSent: number;
  /**
   * ms before the first start: the crypto pool's first answer (one worker up, one DH key pair
   * made). Not part of `elapsedMs`, the rate or any latency (a cold pool used to delay the first
   * negotiations).
   */
  readonly startupMs: number;
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
  /**
   * Called for each complete negotiation with its start (ms since `performance.timeOrigin`) and
   * its latency (the `phase1and2` series, or `phase1` with `--phase1-only`): the raw samples, for
   * callers that want more than the summary (the handshake bench's latency breakdown).
   */
  readonly onNegotiation?: (startMs: number, latencyMs: number) => void;
}

interface Pending {
  readonly slot: number;
  readonly t0: number;
  readonly request: QuickModeRequest | undefined;
}

const MAX_IN_FLIGHT = 65_536;
const PROGRESS_MS = 200;
const FLUSH_MS = 1000;

/**
 * The sources' sockets, opened as in.iked opens its IKE port: the addon's pair, read with recvmmsg
 * and written with sendmmsg, where the addon loads (dgram's sockets otherwise); no NAT-T port.
 */
export function openSourceSockets(sources: readonly string[], port: number): Promise<UdpTransport> {
  return UdpTransport.open({ addresses: sources, port, nattPort: null, ...tryNativeSocketOptions() });
}

/**
 * Wait for one DH key pair of `group` from `dh` (wiping the private value it hands back) and
 * return the ms that took. The pool's workers start with the run (a thread, its modules, the
 * groups' warm-up: tens of ms of CPU), and with reused pairs the first call makes the pair every
 * negotiation gets: done before the first start, the first negotiations of an open loop do not
 * queue behind the generator's own start-up (they made most of the half-peak bench's slowest 1%).
 * A pool that cannot answer (a worker dying at start, a group it cannot do) is a start-up error.
 */
export async function firstAnswer(dh: Pick<DhPort, "dhGenerate">, group: number): Promise<{ ok: true; value: number } | { ok: false; error: LoadRunError }> {
  const t0 = performance.now();
  let r: Awaited<ReturnType<DhPort["dhGenerate"]>>;
  try {
    r = await dh.dhGenerate(group);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return { ok: false, error: { code: typeof e.code === "string" ? e.code : "IKE_ERR_LOAD_START", message: `crypto pool: ${typeof e.message === "string" ? e.message : String(err)}` } };
  }
  if (!r.ok) return { ok: false, error: { code: r.error.code, message: `crypto pool: no DH key pair of group ${group}: ${r.error.message}` } };
  r.value.privateValue.fill(0);
  return { ok: true, value: performance.now() - t0 };
}

/** Run the load described by `o`. */
export async function runLoad(o: LoadOptions, hooks: RunHooks = {}): Promise<{ ok: true; value: LoadReport } | { ok: false; error: LoadRunError }> {
  const src = sourceAddresses(o.sourceStart, o.sources);
  if (!src.ok) return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: src.message } };
  const sources = src.value;
  const pol = await loadPolicy(o, sources);
  if (!pol.ok) return { ok: false, error: pol.error };

  let udp: UdpTransport;
  try {
    udp = await openSourceSockets(sources, o.sourcePort);
  } catch (err) {
    pol.release();
    const e = err as { code?: string; message?: string };
    return { ok: false, error: { code: e.code ?? "IKE_ERR_BIND", message: e.message ?? String(err) } };
  }
  const transport = new CountingTransport(udp);
  const pool = new CryptoPool({ threads: o.workers, warmGroups: [o.dhGroup as DhGroupId] });
  let policy = pol.policy;
  if (o.auth.kind === "rsa") {
    const creds = await loadCertCredentials(o.auth, pol.globals, pool);
    if (!creds.ok) {
      await Promise.all([udp.close(), pool.close()]);
      pol.release();
      return { ok: false, error: { code: "IKE_ERR_LOAD_CERT", message: creds.message } };
    }
    policy = { ...pol.policy, credentials: () => creds.value };
  }
  const kernel = new MemoryKernel();
  const dh = o.reuseDh ? new ReusedDh(pool) : pool;
  let engine: IkeEngine | undefined;
  try {
    const first = await firstAnswer(dh, o.dhGroup);
    if (!first.ok) return first;
    const startupMs = first.value;
    engine = new IkeEngine({ transport, dh, pubkey: pool, policy, kernel, retransmit: o.retransmit, expireMs: o.expireMs });
    const started = engine;
    const ports = new Map(udp.endpoints().map((e) => [e.local.address, e.local.port] as const));
    const run = new Run(o, started, sources, hooks, (address) => ({
      sa: started.initiate(pol.rule, { address, port: ports.get(address) ?? o.sourcePort }, o.target, o.mode),
      request: o.phase2 ? pol.requestFor(address) : undefined,
    }));
    return { ok: true, value: { ...(await run.go()), startupMs } };
  } finally {
    // A pool that fails its first answer (a worker dying at start) still closes the sockets and pool.
    engine?.close();
    // The last Deletes may still be in the send queue; closing would drop them.
    await transport.flushed(FLUSH_MS);
    await udp.close();
    await kernel.close();
    if (dh instanceof ReusedDh) await dh.close();
    await pool.close();
    pol.release();
  }
}

type Starter = (address: string) => { sa: IsakmpSa; request: QuickModeRequest | undefined };

/** The scheduling and bookkeeping of one run. */
class Run {
  /** Not a Map: a table that goes empty after nearly every negotiation costs old space (in-flight.ts). */
  readonly #pending = new InFlight<Pending>();
  readonly #p1 = new LatencyRecorder();
  readonly #p12 = new LatencyRecorder();
  readonly #failures = new FailureCounter();
  #started = 0;
  #established = 0;
  #p1Established = 0;
  #deletes = 0;
  /** deleteSa calls still running: the run waits for them before the engine closes (a count, not a Set: in-flight.ts). */
  #deleting = 0;
  /** Resolves the run's wait for the last running deleteSa. */
  #deletesDone: (() => void) | undefined;
  /** `--hold`: the SA each source keeps up until the run ends. */
  readonly #held = new Map<string, IsakmpSa>();
  #t0 = 0;
  #tEnd = 0;
  #stopStarting = false;
  #finish: (() => void) | undefined;
  #next = 0;

  constructor(
    private readonly o: LoadOptions,
    private readonly engine: IkeEngine,
    private readonly sources: readonly string[],
    private readonly hooks: RunHooks,
    private readonly starter: Starter,
  ) {}

  async go(): Promise<Omit<LoadReport, "startupMs">> {
    this.engine.on("phase1-up", (sa) => this.onPhase1Up(sa));
    this.engine.on("phase2-up", (sa) => this.succeeded(sa));
    this.engine.on("phase1-failed", (sa, reason, notify) => this.failed(sa, classifyPhase1Failure(reason, notify)));
    this.engine.on("phase2-failed", (sa, reason) => this.failed(sa, classifyPhase2Failure(reason)));
    // An error notify in a protected Informational while our Quick Mode waits: the target refused it.
    this.engine.on("peer-notify", (sa, notifyType) => {
      if (this.#pending.get(sa)?.request !== undefined && sa.state === "established") {
        this.failed(sa, { kind: "notify-received", notify: notifyLabel(notifyType), phase2: true });
      }
    });
    this.engine.on("sa-dead", (sa) => this.failed(sa, this.#pending.get(sa)?.request && sa.establishedAt !== undefined ? { kind: "aborted", phase2: true } : { kind: "aborted" }));

    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#t0 = performance.now();
    const timers: NodeJS.Timeout[] = [];
    let stopTimer: TimerHandle | undefined;
    const onAbort = (): void => this.end();
    this.hooks.signal?.addEventListener("abort", onAbort, { once: true });
    if (this.hooks.signal?.aborted) this.end();
    timers.push(setInterval(() => this.hooks.onProgress?.(this.progress()), PROGRESS_MS));
    if (this.o.durationMs !== undefined) stopTimer = refClock.setTimer(() => this.stopStarting(), this.o.durationMs);
    if (this.o.pacing.kind === "closed") {
      for (let slot = 0; slot < this.o.pacing.concurrency && this.canStart(); slot++) this.start(slot);
    } else {
      const perMs = this.o.pacing.perSecond / 1000;
      const tick = (): void => {
        const due = Math.floor((performance.now() - this.#t0) * perMs) + 1;
        while (this.#started < due && this.canStart() && this.#pending.size < MAX_IN_FLIGHT) this.start(this.#next++);
        if (!this.canStart()) this.maybeDone();
      };
      tick();
      timers.push(setInterval(tick, timerDelay(Math.max(1, Math.min(50, Math.floor(1 / perMs))))));
    }
    this.maybeDone();
    await done;
    if (this.#deleting > 0) await new Promise<void>((resolve) => (this.#deletesDone = resolve));
    for (const t of timers) clearInterval(t);
    if (stopTimer !== undefined) refClock.clearTimer(stopTimer);
    this.hooks.signal?.removeEventListener("abort", onAbort);
    this.hooks.onProgress?.(this.progress());
    return this.report();
  }

  private start(slot: number): void {
    const address = this.sources[slot % this.sources.length]!;
    this.#started++;
    const { sa, request } = this.starter(address);
    this.#pending.set(sa, { slot, t0: performance.now(), request });
  }

  private onPhase1Up(sa: IsakmpSa): void {
    const p = this.#pending.get(sa);
    if (p === undefined) return;
    const ms = performance.now() - p.t0;
    this.#p1.add(ms);
    this.#p1Established++;
    if (p.request === undefined) {
      this.hooks.onNegotiation?.(p.t0, ms);
      return this.succeeded(sa);
    }
    if (!this.engine.quickMode(sa, p.request)) this.failed(sa, { kind: "internal", phase2: true });
  }

  private succeeded(sa: IsakmpSa): void {
    const p = this.#pending.get(sa);
    if (p === undefined) return;
    this.#pending.delete(sa);
    if (p.request !== undefined) {
      const ms = performance.now() - p.t0;
      this.#p12.add(ms);
      this.hooks.onNegotiation?.(p.t0, ms);
    }
    this.#established++;
    this.#tEnd = performance.now();
    this.release(sa);
    this.next(p.slot);
  }

  private failed(sa: IsakmpSa, f: Failure): void {
    const p = this.#pending.get(sa);
    if (p === undefined) return;
    this.#pending.delete(sa);
    this.#failures.add(f);
    this.#tEnd = performance.now();
    // A Quick Mode failure leaves an established ISAKMP SA: delete it at the target too.
    if (sa.state === "established") this.release(sa);
    this.next(p.slot);
  }

  /** Delete the SA at the target (or just drop it): the measurement is over. */
  private release(sa: IsakmpSa): void {
    if (this.o.hold) {
      if (!this.#held.has(sa.local.address)) this.#held.set(sa.local.address, sa);
      else sa.destroy("ikeload: measured");
    } else if (this.o.sendDelete && sa.state === "established") {
      this.#deletes++;
      const d = this.engine.deleteSa(sa, "ikeload: measured").then(
        () => {},
        // The SA dies either way; a failed Delete only means the target keeps it until its lifetime.
        () => sa.destroy("ikeload: delete failed"),
      );
      this.#deleting++;
      void d.finally(() => {
        if (--this.#deleting === 0) this.#deletesDone?.();
      });
    } else {
      sa.destroy("ikeload: measured");
    }
  }

  private next(slot: number): void {
    if (this.o.pacing.kind === "closed" && this.canStart()) this.start(slot);
    else this.maybeDone();
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
    systemClock.setTimer(() => this.end(), this.o.expireMs + 1000);
    this.maybeDone();
  }

  private maybeDone(): void {
    if (!this.canStart()) this.stopStarting();
    if (this.#stopStarting && this.#pending.size === 0) this.#finish?.();
  }

  /** End now: whatever is still negotiating is unfinished. */
  private end(): void {
    this.#stopStarting = true;
    const left = this.#pending.drain();
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

  /** The report but its start-up time, which runLoad measured before the run began. */
  private report(): Omit<LoadReport, "startupMs"> {
    const o = this.o;
    const elapsedMs = Math.max(0, (this.#tEnd || performance.now()) - this.#t0);
    return {
      target: endpointKey(o.target),
      mode: o.mode,
      auth: o.auth.kind,
      transform: { encr: o.encr, hash: o.hash, dhGroup: o.dhGroup, lifetimeSecs: o.p1LifetimeSecs },
      phase2: o.phase2 ? { proposal: o.ipsecAction, pfsGroup: o.pfsGroup } : null,
      pacing: o.pacing,
      sources: o.sources,
      workers: o.workers,
      phases: o.phase2 ? ["phase1", "phase2"] : ["phase1"],
      started: this.#started,
      established: this.#established,
      phase1Established: this.#p1Established,
      failed: this.#failures.total,
      elapsedMs,
      establishedPerSec: elapsedMs > 0 ? (this.#established * 1000) / elapsedMs : 0,
      latencyMs: o.phase2 ? { phase1: this.#p1.summary(), phase1and2: this.#p12.summary() } : { phase1: this.#p1.summary() },
      failures: this.#failures.toJSON(),
      deletesSent: this.#deletes,
      dhKeyPairs: o.reuseDh ? "reused" : "fresh",
      retransmitsSent: this.engine.stats.engine.retransmitsSent,
    };
  }
}

