/**
 * Scenario builder for the tests against real peers (interop, exchange, daemon-interop, load):
 * whatever a case opens — our engine on a UDP socket, an in.iked process, a dumpcap capture, a
 * strongSwan or Libreswan instance, a lossy relay, a temporary root, a network namespace — is
 * opened through the scenario, which closes it again when the case ends, passed or failed, last
 * opened first. A case is then only the steps that matter:
 *
 *   interopTest("we initiate to strongSwan", async (s) => {
 *     const host = await s.host({ address: US, port, ikeConfig, preshared, ipsecinit });
 *     const cap = await s.capture("iop-x", port);
 *     const peer = await s.strongSwan({ name: "iop-x", role: "responder", local: THEM, remote: US, localPort: ssPort, remotePort: port, logLevel: 4 });
 *     host.negotiate("ss", { address: THEM, port: ssPort });
 *     await host.waitFor("phase2-up");
 *     await s.established(peer);
 *     assertSameSas(await host.matureSas(), (await peer.keys()).sa);
 *     await checkCapture(cap, { keysFromLog: [peer.log], expect: "main:6,quick:3" });
 *   });
 *
 * Waits on peers use the generous bounds of wait.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { makeRoot, startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { EngineHost, type EngineHostOptions } from "./engine-host.js";
import { Capture, checkPcap, InteropPeer, interopSkip, type CaptureOptions, type CheckResult, type LibreswanOptions, type StrongSwanOptions } from "./interop.js";
import { LossyRelay, type LossyRelayOptions } from "./lossy-relay.js";
import { PEER_WAIT_S } from "./wait.js";

/** Time limit of one case (peers start, negotiate, stop; captures are checked). */
const CASE_TIMEOUT_MS = 180_000;

/** `test()` for a case against real peers: skipped without the harness (failed under CI). */
export function interopTest(title: string, fn: (s: Scenario, t: TestContext) => Promise<void>): void;
export function interopTest(title: string, opts: { timeout?: number }, fn: (s: Scenario, t: TestContext) => Promise<void>): void;
export function interopTest(title: string, a: unknown, b?: unknown): void {
  const [opts, fn] = (typeof a === "function" ? [{}, a] : [a, b]) as [{ timeout?: number }, (s: Scenario, t: TestContext) => Promise<void>];
  test(title, { skip: interopSkip(), timeout: opts.timeout ?? CASE_TIMEOUT_MS }, (t) => Scenario.run((s) => fn(s, t)));
}

/** The resources of one case. */
export class Scenario {
  readonly #cleanups: (() => unknown)[] = [];

  private constructor() {}

  /**
   * Run `fn` with a fresh scenario, then close everything it opened, last first. A failure of the
   * case wins over a failure while cleaning up; a cleanup failure alone fails the case.
   */
  static async run<T>(fn: (s: Scenario) => Promise<T>): Promise<T> {
    const s = new Scenario();
    let result: T;
    try {
      result = await fn(s);
    } catch (err) {
      await s.#close();
      throw err;
    }
    const errors = await s.#close();
    if (errors.length > 0) throw new AggregateError(errors, `cleanup failed: ${errors.map((e) => (e as Error).message).join("; ")}`);
    return result;
  }

  /** Run `fn` when the case ends (after everything opened later has been closed). */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  async #close(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    return errors;
  }

  /** Our engine on a UDP socket with the in-memory SADB (engine-host.ts). */
  async host(o: EngineHostOptions): Promise<EngineHost> {
    const h = await EngineHost.open(o);
    this.defer(() => h.close());
    return h;
  }

  /** A dumpcap capture of `port` only (or of `opts.ports`), so other tests' traffic stays out. */
  async capture(name: string, port: number | Omit<CaptureOptions, "name">): Promise<Capture> {
    const cap = await Capture.start(typeof port === "number" ? { name, ports: String(port) } : { name, ...port });
    this.defer(() => stopQuietly(cap));
    return cap;
  }

  /** A strongSwan instance, killed and purged at the end. */
  async strongSwan(o: StrongSwanOptions): Promise<InteropPeer> {
    const p = await InteropPeer.startStrongSwan(o);
    this.defer(() => stopPeer(p));
    return p;
  }

  /** A Libreswan instance, killed and purged at the end. */
  async libreswan(o: LibreswanOptions): Promise<InteropPeer> {
    const p = await InteropPeer.startLibreswan(o);
    this.defer(() => stopPeer(p));
    return p;
  }

  /** A lossy UDP relay (lossy-relay.ts). */
  async relay(o: LossyRelayOptions): Promise<LossyRelay> {
    const r = await LossyRelay.open(o);
    this.defer(() => r.close());
    return r;
  }

  /** A temporary in.iked root (daemon/harness.ts `makeRoot`), removed at the end. */
  root(...args: Parameters<typeof makeRoot>): string {
    const r = makeRoot(...args);
    this.defer(() => rmSync(r, { recursive: true, force: true }));
    return r;
  }

  /** `in.iked -d` on `root` (daemon/harness.ts `startDaemon`), stopped with SIGTERM at the end. */
  async daemon(...args: Parameters<typeof startDaemon>): Promise<RunningDaemon> {
    const d = await startDaemon(...args);
    this.defer(() => d.stop());
    return d;
  }

  /** A private network namespace with loopback up, deleted at the end. */
  netns(name: string): string {
    execFileSync("ip", ["netns", "add", name]);
    this.defer(() => execFileSync("ip", ["netns", "del", name]));
    execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** The peer reports its SAs up (`status --wait`, generous bound); fails with what it says. */
  async established(peer: InteropPeer, opts: { ikeOnly?: boolean; context?: () => string } = {}): Promise<void> {
    const st = await peer.status({ wait: PEER_WAIT_S, ...(opts.ikeOnly ? { ikeOnly: true } : {}) });
    assert.ok(st.established, `${peer.impl} says ${JSON.stringify(st.kv)}${opts.context ? `\n${opts.context()}` : ""}`);
  }
}

/** Stop a capture that may already be stopped (cleanup paths). */
export async function stopQuietly(cap: Capture | undefined): Promise<void> {
  if (cap === undefined) return;
  try {
    await cap.stop();
  } catch {
    // Already stopped by checkCapture(): nothing left to release.
  }
}

/**
 * Stop a peer for good and remove its state directory, which holds its logs (with this run's keys).
 * `stop --purge` after a graceful `stop` finds the instance gone and leaves the directory behind, so
 * the directory `start` reported is removed here as well.
 */
export async function stopPeer(peer: InteropPeer | undefined): Promise<void> {
  if (peer === undefined) return;
  await peer.stop({ kill: true, purge: true });
  const dir = peer.info.dir;
  if (dir !== undefined && /\/(strongswan|libreswan)\/[A-Za-z0-9_.-]+$/.test(dir)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Stop the capture and run `capture.sh check` on it; fail with its per-packet lines unless it is
 * clean. `keysFromLog` (strongSwan level-4 logs) and `keyLines` (icookie,Ka lines, see
 * interop/ka.ts) or `keys` (a file of such lines) let tshark decrypt and check inner payloads;
 * with keys, every encrypted packet must then decrypt, unless `requireDecrypted` is false.
 */
export async function checkCapture(
  cap: Capture,
  opts: { keysFromLog?: string[]; keyLines?: (pcap: string) => string[]; keys?: string; expect: string; requireDecrypted?: boolean },
): Promise<CheckResult> {
  await cap.stop();
  // `--keys` lines (icookie,Ka) go to a private file that is removed right after the check.
  const dir = opts.keyLines ? mkdtempSync(path.join(tmpdir(), "iop-keys-")) : undefined;
  let r: CheckResult;
  try {
    let keys = opts.keys;
    if (dir !== undefined) {
      keys = path.join(dir, "keys.csv");
      writeFileSync(keys, opts.keyLines!(cap.pcap).join("\n") + "\n", { mode: 0o600 });
    }
    r = await checkPcap(cap.pcap, { expect: opts.expect, ...(opts.keysFromLog ? { keysFromLog: opts.keysFromLog } : {}), ...(keys ? { keys } : {}) });
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(r.ok, `capture.sh check failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.result.malformed, "0", r.stdout);
  if ((opts.keyLines || opts.keysFromLog || opts.keys) && opts.requireDecrypted !== false) {
    assert.equal(r.result.encrypted_not_decrypted, "0", `some encrypted packets were not decrypted:\n${r.stdout}`);
  }
  // Kept only when the check failed, for a look at it (with dumpcap's .log and .path beside it).
  for (const f of [cap.pcap, ...[".log", ".path"].map((x) => path.join(path.dirname(cap.pcap), cap.name + x))]) rmSync(f, { force: true });
  return r;
}
