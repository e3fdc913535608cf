/**
 * Shared pieces of the interop tests: config text for our host, polling, and the capture that
 * every interop case records and hands to `capture.sh check`.
 *
 * Resource plan (other engineers run peers at the same time, and a colleague's `npm test` may run
 * these very files while we do): everything lives in 127.0.5.0/24 and UDP 15000-15999, in one of
 * eight slots picked by the process id ({@link plan}). Our engine binds a non-500 port, strongSwan
 * runs with its own IKE and NAT-T ports (charon binds the wildcard address, so ports must differ
 * between slots), and neither is 500, so both add the RFC 3948 non-ESP marker (the README's marker
 * rule). Libreswan always listens on <its address>:500, so each slot has its own pluto address, and
 * its traffic with us carries no marker.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Capture, checkPcap, type CheckResult, type InteropPeer } from "../helpers/interop.js";

/** Addresses and port blocks of this process's slot. */
export interface Plan {
  /** Our engine's address (interop files). */
  readonly us: string;
  readonly strongswan: string;
  /** pluto's address (always port 500) for libreswan.test. */
  readonly libreswan: string;
  /**
   * pluto's address for libreswan-tunnel.test: its own, because the two files run at the same time
   * (`--test-concurrency`) and pluto holds port 500 of its address.
   */
  readonly libreswanTunnel: string;
  /** The UDP hostile test: our engine, the honest engine, the attacker, the MM1 sniffer. */
  readonly victim: string;
  readonly honest: string;
  readonly attacker: string;
  readonly sniffer: string;
  /**
   * First port of each file's block: strongswan 48 ports, rekey 8, libreswan 12, hostile UDP 4. After
   * the UDP block, files take fixed offsets from `udp`: strongswan-tunnel +4..+19 and +38..+41,
   * strongswan-lossy +20..+31, libreswan-tunnel +32..+37 (all below the slot's 120 ports).
   */
  readonly ports: { readonly strongswan: number; readonly rekey: number; readonly libreswan: number; readonly udp: number };
}

/**
 * This process's slot: 8 slots of 8 addresses (from .16) and 120 ports; pluto on .4 to .11
 * (libreswan.test) and .80 to .87 (libreswan-tunnel.test).
 */
export function plan(): Plan {
  const slot = process.pid % 8;
  const a = (n: number): string => `127.0.5.${16 + slot * 8 + n}`;
  const base = 15000 + slot * 120;
  return {
    us: a(1),
    strongswan: a(2),
    libreswan: `127.0.5.${4 + slot}`,
    libreswanTunnel: `127.0.5.${80 + slot}`,
    victim: a(3),
    honest: a(4),
    attacker: a(5),
    sniffer: a(6),
    ports: { strongswan: base, rekey: base + 48, libreswan: base + 56, udp: base + 68 },
  };
}

/** ike.config text: one rule, labelled `label`, between `local` and `remote`. */
export function ikeConfig(label: string, local: string, remote: string, body: string): string {
  return `{\n  label "${label}"\n  local_addr ${local}\n  remote_addr ${remote}\n  ${body}\n}\n`;
}

/** ike.preshared text: one IP-identified entry, for Main Mode unless `mode` says otherwise. */
export function preshared(local: string, remote: string, key: string, mode: "main" | "aggressive" = "main"): string {
  return `{\n  localidtype ip\n  localid ${local}\n  remoteidtype ip\n  remoteid ${remote}\n  ike_mode ${mode}\n  key "${key}"\n}\n`;
}

/** Poll `pred` every 100 ms until it holds; reject with `what` after `ms`. */
export async function poll(pred: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A capture of our port only, so other tests' traffic stays out of it. */
export async function captureOn(name: string, port: number): Promise<Capture> {
  return Capture.start({ name, ports: String(port) });
}

/**
 * Stop the capture and run `capture.sh check` on it; fail with its per-packet lines unless it is
 * clean. `keysFromLog` (strongSwan level-4 logs) and `keyLines` (icookie,Ka lines, see ka.ts) let
 * tshark decrypt and check inner payloads; with keys, every encrypted packet must then decrypt,
 * unless `requireDecrypted` is false.
 */
export async function checkCapture(
  cap: Capture,
  opts: { keysFromLog?: string[]; keyLines?: (pcap: string) => string[]; expect: string; requireDecrypted?: boolean },
): Promise<CheckResult> {
  await cap.stop();
  // `--keys` lines (icookie,Ka) go to a private file that is removed right after the check.
  const dir = opts.keyLines ? mkdtempSync(path.join(tmpdir(), "iop-keys-")) : undefined;
  let r: CheckResult;
  try {
    const keys = dir === undefined ? undefined : path.join(dir, "keys.csv");
    if (keys !== undefined) writeFileSync(keys, opts.keyLines!(cap.pcap).join("\n") + "\n", { mode: 0o600 });
    r = await checkPcap(cap.pcap, { expect: opts.expect, ...(opts.keysFromLog ? { keysFromLog: opts.keysFromLog } : {}), ...(keys ? { keys } : {}) });
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(r.ok, `capture.sh check failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.result.malformed, "0", r.stdout);
  if ((opts.keyLines || opts.keysFromLog) && opts.requireDecrypted !== false) assert.equal(r.result.encrypted_not_decrypted, "0", `some encrypted packets were not decrypted:\n${r.stdout}`);
  // Kept only when the check failed, for a look at it (with dumpcap's .log and .path beside it).
  for (const f of [cap.pcap, ...[".log", ".path"].map((x) => path.join(path.dirname(cap.pcap), cap.name + x))]) rmSync(f, { force: true });
  return r;
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
  if (dir !== undefined && /\/(strongswan|libreswan)\/iop-[A-Za-z0-9.-]+$/.test(dir)) rmSync(dir, { recursive: true, force: true });
}
