/**
 * Shared pieces of the interop tests: the resource plan, config text for our host and the Delete
 * that ends a case (the case scaffolding is helpers/scenario.ts).
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
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { EngineHost } from "../helpers/engine-host.js";
import type { InteropPeer } from "../helpers/interop.js";
import { poll } from "../helpers/wait.js";

// Where other branches' tests still import these from here: they live in wait.ts and scenario.ts.
export { poll } from "../helpers/wait.js";
export { checkCapture, stopPeer, stopQuietly } from "../helpers/scenario.js";

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

/** Our host's three files for a host-to-host case with `them`: one rule, its key, one policy entry. */
export function hostToHost(o: {
  label: string;
  us: string;
  them: string;
  psk: string;
  p1: { readonly dh: number; readonly hash: string; readonly encr: string };
  /** `p2_pfs` group, or "none". */
  pfs: string;
  /** ipsecinit.conf action body. */
  ipsec: string;
  mode?: "main" | "aggressive";
}): { ikeConfig: string; preshared: string; ipsecinit: string } {
  const pfs = o.pfs === "none" ? "" : `p2_pfs ${o.pfs}`;
  return {
    ikeConfig: ikeConfig(o.label, o.us, o.them, `p1_xform { auth_method preshared oakley_group ${o.p1.dh} auth_alg ${o.p1.hash} encr_alg ${o.p1.encr} }\n  ${pfs}`),
    preshared: preshared(o.us, o.them, o.psk, o.mode),
    ipsecinit: `{ raddr ${o.them} } ipsec { ${o.ipsec} }\n`,
  };
}

/**
 * The Delete that ends a case. Ours: the peer drops its SAs (its status says not established) and
 * our SADB is empty. The peer's (a graceful stop): our SA tables and SADB empty out and `sa` died
 * "deleted by peer". Either way nothing is left half-open, there was one Phase 1 and no failure.
 */
export async function deleteAndCheck(host: EngineHost, peer: InteropPeer, sa: IsakmpSa, by: "us" | "peer"): Promise<void> {
  if (by === "us") {
    await host.engine.deleteSa(sa, "test Delete");
    await poll(async () => (await peer.status()).code === 1, `${peer.impl} to drop the SAs after our Delete`);
    assert.equal((await host.matureSas()).length, 0, "our SADB after our Delete");
  } else {
    await peer.stop();
    await poll(async () => host.engine.sas.size === 0 && (await host.kernel.dump()).length === 0, `our SAs to go after ${peer.impl}'s Delete`);
    assert.equal(sa.deathReason, "deleted by peer");
  }
  assert.equal(host.engine.sas.halfOpenCount, 0);
  assert.equal(host.of("phase1-up").length, 1, "one Phase 1 SA");
  assert.deepEqual(host.of("phase1-failed"), []);
  assert.deepEqual(host.of("phase2-failed"), []);
}
