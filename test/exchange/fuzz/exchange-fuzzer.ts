/**
 * Whole-exchange fuzzing (issue 11; not a test file): Main, Aggressive, Quick and Informational
 * exchanges between two in-process engines, with one or two of their messages changed on the way
 * (interceptor.ts: typed payload edits re-authenticated with the real keys, garbled plaintext
 * encrypted with the real keys, raw datagram and ciphertext edits, replays). Each exchange runs:
 *
 *   1. Phase 1 (Main or Aggressive Mode), then Quick Mode; if Phase 1 came up, a DPD R-U-THERE and
 *      the initiator's Delete (IPsec SAs, then the ISAKMP SA) — every message a mutation target;
 *   2. manual time in steps past every retransmission budget, `expire_timer` and linger: by then
 *      every exchange must have ended by success, failure or timeout, so no SA may still be
 *      negotiating, no Quick Mode in the Phase 2 table, no DH call in flight (else: a hang);
 *   3. clean-up without mutations: every remaining SA deleted, the kernels' clock past every SA
 *      lifetime; then every table of both engines and kernels and the engines' timers must equal
 *      the pair's baseline (else: a leak, reported with the tables that differ).
 *
 * A crash is anything only a bug can cause: an uncaught exception or unhandled rejection, an error
 * line from an engine (its per-exchange boundary caught an exception), a Phase 1 or Quick Mode
 * ending in an "internal error", a call of the engine's `fatal`. The run is deterministic for a
 * seed: exchange i of a failing run is replayed by running the same seed with count i + 1.
 */
import { isDeepStrictEqual } from "node:util";
import { Notify } from "../../../src/codec/index.js";
import type { EngineIo } from "../../../src/ike/engine-io.js";
import { dpdNotify } from "../../../src/ike/informational.js";
import type { IsakmpSa } from "../../../src/ike/isakmp-sa.js";
import { Rng } from "../../property/mutate.js";
import { snapshot } from "../tables.js";
import { installEncodeHook, Plan, setPlan, type MutationKind } from "./interceptor.js";
import { payloadPool } from "./mutators.js";
import { fuzzPairs, startExchange, type Crash, type FuzzPair } from "./pairs.js";

/** Options of a run. */
export interface FuzzOptions {
  /** Mutated exchanges to run (exchanges whose mutations all missed are run on top). */
  readonly count: number;
  readonly seed: number;
  /** Stop early (counted) after this long. */
  readonly timeLimitMs?: number;
  /** Called every `progressEvery` exchanges. */
  readonly onProgress?: (r: FuzzReport) => void;
  readonly progressEvery?: number;
}

/** What a run did and found. */
export interface FuzzReport {
  seed: number;
  exchanges: number;
  /** Exchanges in which at least one mutation was applied. */
  mutated: number;
  /** Mutations applied, by kind. */
  kinds: Record<string, number>;
  /** Mutations applied, by the message they changed (MM1-MM6, AM1-AM3, QM1-QM3, INFO1; `datagram` for wire-once and replay). */
  targets: Record<string, number>;
  /** How the exchanges ended for the initiator: Phase 1 and Quick Mode up, Phase 1 only, failed. */
  ended: { quickMode: number; phase1Only: number; failed: number };
  crashes: string[];
  hangs: string[];
  leaks: string[];
  elapsedMs: number;
}

/** Manual-time steps after an exchange, ms: past 5.5 s of retransmissions, expire_timer (30 s), linger (60 s). */
const TIME_STEPS = [500, 1000, 2000, 2000, 2000, 25_000, 70_000];
const KINDS: readonly [MutationKind, number][] = [["typed", 45], ["plaintext", 20], ["wire", 20], ["wire-once", 10], ["replay", 5]];
/** Datagrams on the wire in the longest flow (its messages, retransmissions, answers from caches). */
const DATAGRAMS = 18;

function pickKind(rng: Rng): MutationKind {
  let r = rng.int(100);
  for (const [k, w] of KINDS) if ((r -= w) < 0) return k;
  return "typed";
}

/** `messages`: how many messages the pair's unchanged flow builds (up to MM1-6, CONNECTED, QM1-3, DPD, ACK, two Deletes). */
function makePlan(rng: Rng, pool: ReturnType<typeof payloadPool>, messages: number): Plan {
  const atMessage = new Map<number, MutationKind>();
  const atDatagram = new Map<number, MutationKind>();
  for (let n = rng.next() < 0.7 ? 1 : 2; n > 0; n--) {
    const kind = pickKind(rng);
    if (kind === "wire-once" || kind === "replay") atDatagram.set(rng.int(DATAGRAMS), kind);
    else atMessage.set(rng.int(messages), kind);
  }
  return new Plan(rng, atMessage, atDatagram, pool);
}

/** Whether nothing is left to do without moving the clock: no datagram in flight, no SA queue busy, no DH call. */
function quiet(p: FuzzPair): boolean {
  const busy = (s: typeof p.pair.a) => s.engine.sas.all().some((sa) => sa.queue.busy);
  const n = p.pair.network.stats;
  const dh = p.dhInFlight;
  return n.sent === n.delivered + n.lost + n.undeliverable && !busy(p.pair.a) && !busy(p.pair.b) && dh.a === 0 && dh.b === 0;
}

/** Let datagrams and queued work run (no clock movement); false if it never goes quiet. */
async function drain(p: FuzzPair): Promise<boolean> {
  for (let round = 0; round < 400; round++) {
    await p.pair.network.idle();
    await new Promise((r) => setImmediate(r));
    if (quiet(p)) return true;
  }
  return false;
}

async function advance(p: FuzzPair, ms: number): Promise<boolean> {
  p.pair.clock.advance(ms);
  return drain(p);
}

const ioOf = (p: FuzzPair): EngineIo => (p.pair.a.engine as unknown as { io: EngineIo }).io;

/** Tables, timers and DH calls in flight of a pair. */
function tablesOf(p: FuzzPair): Record<string, unknown> {
  return { ...snapshot(p.pair), kernelClockTimers: p.kclock.timerCount, dh: p.dhInFlight };
}

/** What differs between two table snapshots, as `path: before -> after`. */
function diff(before: unknown, after: unknown, path = ""): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  if (typeof before !== "object" || typeof after !== "object" || before === null || after === null) return [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((k) => diff((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
}

/** SAs of both sides still negotiating, Quick Modes still held, DH calls still in flight. */
function unfinished(p: FuzzPair): string[] {
  const out: string[] = [];
  for (const [name, side] of [["a", p.pair.a], ["b", p.pair.b]] as const) {
    for (const sa of side.engine.sas.all()) if (sa.state === "larval" || sa.state === "negotiating") out.push(`${name}: SA ${sa.tag} still ${sa.state}`);
    if (side.engine.sas.phase2Count > 0) out.push(`${name}: ${side.engine.sas.phase2Count} Quick Mode(s) still in the Phase 2 table`);
  }
  const dh = p.dhInFlight;
  if (dh.a + dh.b > 0) out.push(`DH calls in flight: ${JSON.stringify(dh)}`);
  return out;
}

/** One exchange under `plan`; returns how it ended for the initiator and any hang or leak found. */
async function runExchange(p: FuzzPair, plan: Plan, baseline: Record<string, unknown>): Promise<{ ended: keyof FuzzReport["ended"]; hang?: string; leak?: string }> {
  const { a } = p.pair;
  let qmUp = false;
  const onUp = (): void => void (qmUp = true);
  a.engine.on("phase2-up", onUp);
  setPlan(plan);
  let sa: IsakmpSa | undefined;
  const hangs: string[] = [];
  try {
    startExchange(p);
    sa = a.engine.sas.all().at(-1);
    if (!(await drain(p))) hangs.push("no quiet after the exchange started");
    if (sa !== undefined && sa.state === "established") {
      ioOf(p).sendInformational(sa, [dpdNotify(sa, Notify.RUThere, Buffer.from([0, 0, 0, 1]))]);
      if (!(await drain(p))) hangs.push("no quiet after DPD");
      if (sa.state === "established") await a.engine.deleteSa(sa, "fuzz: done");
      if (!(await drain(p))) hangs.push("no quiet after the Delete");
    }
    for (const ms of TIME_STEPS) if (!(await advance(p, ms))) hangs.push(`no quiet after ${ms} ms`);
    hangs.push(...unfinished(p));
  } finally {
    setPlan(undefined);
    a.engine.off("phase2-up", onUp);
  }
  const ended = qmUp ? "quickMode" : sa?.phase1 !== undefined ? "phase1Only" : "failed";
  // Clean-up: what lives on (established SAs, IPsec SAs in the kernels) is deleted or expires.
  for (const side of [p.pair.a, p.pair.b]) for (const s of side.engine.sas.all()) await side.engine.deleteSa(s, "fuzz: clean-up");
  await drain(p);
  p.kclock.advance(1_000_000);
  await drain(p);
  await advance(p, 200_000);
  const after = tablesOf(p);
  const leak = isDeepStrictEqual(after, baseline) ? undefined : diff(baseline, after).join("; ");
  return { ended, ...(hangs.length > 0 ? { hang: hangs.join("; ") } : {}), ...(leak !== undefined ? { leak } : {}) };
}

/** Runs until `count` exchanges were mutated (fewer if the time limit comes first); never throws for findings. */
export async function fuzzExchanges(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const crashes: Crash[] = [];
  const pairs = fuzzPairs(crashes);
  const unhook = installEncodeHook();
  const r: FuzzReport = { seed: o.seed, exchanges: 0, mutated: 0, kinds: {}, targets: {}, ended: { quickMode: 0, phase1Only: 0, failed: 0 }, crashes: [], hangs: [], leaks: [], elapsedMs: 0 };
  let where = "before the first exchange";
  const onUncaught = (err: unknown): void => void crashes.push({ pair: where, what: `uncaught: ${(err as Error)?.stack ?? String(err)}` });
  const onRejection = (err: unknown): void => void crashes.push({ pair: where, what: `unhandled rejection: ${(err as Error)?.stack ?? String(err)}` });
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);
  const pool = payloadPool(o.seed);
  const baselines = pairs.map(tablesOf);
  const rng = new Rng(o.seed);
  // Messages each pair's flow builds, learnt from its exchanges (an unchanged Main Mode flow builds 13).
  const flow = pairs.map(() => 10);
  try {
    for (let i = 0; r.mutated < o.count; i++) {
      if (o.timeLimitMs !== undefined && Date.now() - started > o.timeLimitMs) break;
      const k = rng.int(pairs.length);
      const p = pairs[k]!;
      const plan = makePlan(new Rng((o.seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0), pool, flow[k]!);
      where = `exchange ${i} (${p.name})`;
      const seen = crashes.length;
      const out = await runExchange(p, plan, baselines[k]!);
      r.exchanges++;
      r.ended[out.ended]++;
      flow[k] = Math.max(flow[k]!, plan.messages);
      if (plan.applied.length > 0) r.mutated++;
      for (const m of plan.applied) {
        const kind = m.slice(0, m.indexOf("@"));
        r.kinds[kind] = (r.kinds[kind] ?? 0) + 1;
        const target = /:([A-Z]+\d+)/.exec(m)?.[1] ?? "datagram";
        r.targets[target] = (r.targets[target] ?? 0) + 1;
      }
      const tag = `#${i} ${p.name} [${plan.applied.join(" ")}]`;
      for (const c of crashes.slice(seen)) r.crashes.push(`${tag} ${c.pair}: ${c.what}`);
      if (out.hang !== undefined) r.hangs.push(`${tag}: ${out.hang}`);
      if (out.leak !== undefined) {
        r.leaks.push(`${tag}: ${out.leak}`);
        baselines[k] = tablesOf(p); // one leak is reported once, not again by every later exchange
      }
      if (o.onProgress !== undefined && r.exchanges % (o.progressEvery ?? 1000) === 0) o.onProgress({ ...r, elapsedMs: Date.now() - started });
    }
  } finally {
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onRejection);
    unhook();
    for (const p of pairs) {
      p.pair.a.engine.close();
      p.pair.b.engine.close();
      await p.pair.a.kernel.close();
      await p.pair.b.kernel.close();
    }
  }
  r.elapsedMs = Date.now() - started;
  return r;
}
