/**
 * Shared pieces of the interop tests: config text for our host, polling, and the capture that
 * every interop case records and hands to `capture.sh check`.
 *
 * Resource plan (other engineers run peers at the same time): our engine binds 127.0.5.1 on a
 * port in 15000-15999, strongSwan runs on 127.0.5.2 with its own IKE and NAT-T ports in the same
 * range, Libreswan on 127.0.5.4 / 127.0.5.5 port 500. Neither our port nor strongSwan's is 500, so
 * both add the RFC 3948 non-ESP marker (the README's marker rule); Libreswan sits on 500, so its
 * traffic with us carries none. Each file owns a port block:
 *   strongswan.test.ts 15000-15199, strongswan-rekey.test.ts 15300-15319,
 *   libreswan.test.ts 15400-15449, hostile UDP tests 15600-15649.
 */
import assert from "node:assert/strict";
import { Capture, checkPcap, type CheckResult } from "../helpers/interop.js";

/** Our address, strongSwan's, and Libreswan's. */
export const US = "127.0.5.1";
export const STRONGSWAN = "127.0.5.2";
export const LIBRESWAN = ["127.0.5.4", "127.0.5.5"] as const;

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
 * clean. `keysFromLog` (strongSwan level-4 logs) lets tshark decrypt and check inner payloads.
 */
export async function checkCapture(cap: Capture, opts: { keysFromLog?: string[]; expect: string }): Promise<CheckResult> {
  await cap.stop();
  const r = await checkPcap(cap.pcap, { expect: opts.expect, ...(opts.keysFromLog ? { keysFromLog: opts.keysFromLog } : {}) });
  assert.ok(r.ok, `capture.sh check failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.result.malformed, "0", r.stdout);
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
