/**
 * The engine pairs the whole-exchange fuzzer drives (not a test file): four variants of the
 * in-process pair (test/exchange/harness.ts) — Main or Aggressive Mode, Quick Mode with or without
 * PFS, with or without the commit bit, several ciphers, hashes and groups — each on the manual
 * clock with a manual kernel clock, short retransmission and `expire_timer` budgets (so an
 * exchange ends within a bounded stretch of manual time), the fuzzer's transport wrapper, a
 * counter of DH calls in flight (the pool's table in the daemon), and every error the engines
 * report collected as a crash.
 */
import type { IkeLog } from "../../../src/ike/log.js";
import type { DhPort } from "../../../src/ike/ports.js";
import { ManualClock } from "../../helpers/manual-clock.js";
import { makePair, ruleText, type Pair } from "../harness.js";
import { esp, requestFor } from "../qm-helpers.js";
import { planTransport } from "./interceptor.js";

/** One pair the fuzzer drives, and how its exchanges start. */
export interface FuzzPair {
  readonly name: string;
  readonly pair: Pair;
  readonly kclock: ManualClock;
  readonly mode: "main" | "aggressive";
  /** DH calls started and not yet settled, per side. */
  readonly dhInFlight: { a: number; b: number };
}

/** Something an engine reported that only a bug can cause. */
export interface Crash {
  readonly pair: string;
  readonly what: string;
}

interface Variant {
  readonly name: string;
  readonly mode: "main" | "aggressive";
  readonly p1: string;
  readonly pfs: number;
  readonly commit: boolean;
}

const VARIANTS: readonly Variant[] = [
  { name: "main", mode: "main", p1: "oakley_group 2 auth_alg sha1 encr_alg aes(128..128)", pfs: 0, commit: false },
  { name: "aggressive+pfs", mode: "aggressive", p1: "oakley_group 1 auth_alg md5 encr_alg 3des", pfs: 2, commit: false },
  { name: "main+pfs+commit", mode: "main", p1: "oakley_group 2 auth_alg sha256 encr_alg aes(256..256)", pfs: 2, commit: true },
  { name: "aggressive+commit", mode: "aggressive", p1: "oakley_group 1 auth_alg sha1 encr_alg aes(128..128)", pfs: 0, commit: true },
];

/** Retransmission budget: 0.5 + 1 + 2 + 2 s, then give up. */
export const FUZZ_RETRANSMIT = { initMs: 500, maxMs: 2000, limit: 3 } as const;
/** `expire_timer` of the fuzz pairs. */
export const FUZZ_EXPIRE_MS = 30_000;

function psk(mode: "main" | "aggressive", local: string, remote: string): string {
  const m = mode === "aggressive" ? " ike_mode aggressive" : "";
  return `{ localidtype ip localid ${local} remoteidtype ip remoteid ${remote}${m} key "fuzz-pre-shared-key" }\n`;
}

function counting(dh: DhPort, inFlight: { n: number }): DhPort {
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.n++;
    return p.finally(() => void inFlight.n--);
  };
  return {
    dhGenerate: (g, o) => track(dh.dhGenerate(g, o)),
    dhAgree: (g, x, p, o) => track(dh.dhAgree(g, x, p, o)),
    dhGenerateAndAgree: (g, p, o) => track(dh.dhGenerateAndAgree!(g, p, o)),
  };
}

/** The four pairs; `crashes` collects what their engines report. */
export function fuzzPairs(crashes: Crash[]): FuzzPair[] {
  return VARIANTS.map((v) => {
    const inFlight = { a: { n: 0 }, b: { n: 0 } };
    const report = (side: string) => (what: string) => void crashes.push({ pair: `${v.name}/${side}`, what });
    const log = (side: string): IkeLog => ({ debug() {}, info() {}, warn() {}, error: (f, msg) => report(side)(`${msg}: ${String(f.err)} ${String(f.stack ?? "")}`) });
    const kclock = new ManualClock();
    const xf = `p1_xform { auth_method preshared ${v.p1} }\n  p2_lifetime_secs 600`;
    const pair = makePair({
      configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${xf}${v.pfs > 0 ? `\n  p2_pfs ${v.pfs}` : ""}`),
      configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", xf),
      pskA: psk(v.mode, "10.0.0.1", "10.0.0.2"),
      pskB: psk(v.mode, "10.0.0.2", "10.0.0.1"),
      ipsecA: esp("10.0.0.2"),
      ipsecB: esp("10.0.0.1"),
      kernelClock: kclock,
      wrapTransport: (_side, t) => planTransport(t),
      wrapDh: (side, dh) => counting(dh, inFlight[side]),
      engine: { retransmit: FUZZ_RETRANSMIT, expireMs: FUZZ_EXPIRE_MS, quickModeCommit: v.commit },
      engineA: { log: log("a"), fatal: (err) => report("a")(`fatal: ${(err as Error).stack ?? String(err)}`) },
      engineB: { log: log("b"), fatal: (err) => report("b")(`fatal: ${(err as Error).stack ?? String(err)}`) },
    });
    for (const [name, side] of [["a", pair.a], ["b", pair.b]] as const) {
      side.engine.on("phase1-failed", (_sa, reason) => /internal error/.test(reason) && report(name)(`Phase 1: ${reason}`));
      side.engine.on("phase2-failed", (_sa, reason) => /internal error/.test(reason) && report(name)(`Quick Mode: ${reason}`));
      // Hard EXPIREs only: the IPsec SA is gone, forget how to rekey it (a soft one would start a rekey).
      side.kernel.on("expire", (ev) => void (ev.kind === "hard" && side.engine.expire(ev)));
    }
    return {
      name: v.name,
      pair,
      kclock,
      mode: v.mode,
      get dhInFlight() {
        return { a: inFlight.a.n, b: inFlight.b.n };
      },
    };
  });
}

/** Start the pair's exchange: Phase 1 (its mode) and then Quick Mode. */
export function startExchange(p: FuzzPair): void {
  const { a, b } = p.pair;
  const rule = a.policy.ruleByLabel("to-b")!;
  const sa = a.engine.initiate(rule, a.endpoint, b.endpoint, p.mode);
  // Quick Mode once that SA is up (the engine's own path for a pending ACQUIRE).
  (a.engine as unknown as { phase1: { afterPhase1(sa: unknown, r: unknown): void } }).phase1.afterPhase1(sa, requestFor(p.pair));
}
