/**
 * Two engines with a NAT between them, for the NAT-T exchange tests (nat-traversal.test.ts,
 * nat-rebinding.test.ts): `home` behind a NAT of the in-memory network (test/helpers/memory-nat.ts),
 * `gw` on the outside, each with its in-memory SADB, on a manual clock.
 */
import assert from "node:assert/strict";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine } from "../../src/ike/engine.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { IkeLog } from "../../src/ike/log.js";
import type { Endpoint, Transport } from "../../src/ike/transport.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { MemoryNetwork, type TapRecord } from "../../src/net/memory-transport.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { MemoryNat } from "../helpers/memory-nat.js";
import { ipsecFrom, namedDh, policyFrom, pskText, ruleText, seededRandom } from "./harness.js";

export const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }";
export const HOME = "192.168.1.2";
export const NAT = "203.0.113.1";
export const GW = "10.0.0.2";

export interface Side {
  engine: IkeEngine;
  kernel: MemoryKernel;
  local: Endpoint;
}

/** Log lines at warn or above, and debug lines, as `level: message` (the gateway's). */
export function recordingLog(lines: string[]): IkeLog {
  return { debug: (_f, m) => lines.push(`debug: ${m}`), info: () => {}, warn: (_f, m) => lines.push(`warn: ${m}`), error: (_f, m) => lines.push(`error: ${m}`) };
}

export function side(name: string, transport: Transport, clock: ManualClock, config: string, psk: string, ipsec: string, local: Endpoint, natt: boolean, extra: { log?: IkeLog; commit?: boolean } = {}): Side {
  const policy = policyFrom(config, psk);
  const kernel = new MemoryKernel();
  const policyIpsec = ipsecFrom(ipsec);
  const engine = new IkeEngine({
    transport,
    policy,
    clock,
    random: seededRandom(name),
    cookies: new CookieJar({ clock, random: seededRandom(`${name}-cookies`) }),
    dh: namedDh(name),
    kernel,
    ipsecPolicy: () => policyIpsec,
    ...(natt ? { nattPort: 4500 } : {}),
    ...(extra.log !== undefined ? { log: extra.log } : {}),
    ...(extra.commit === true ? { quickModeCommit: true } : {}),
  });
  return { engine, kernel, local };
}

export interface World {
  network: MemoryNetwork;
  clock: ManualClock;
  nat: MemoryNat | undefined;
  home: Side;
  gw: Side;
  tap: TapRecord[];
  /** The rules' transforms (and DPD setting). */
  xf: string;
  /** The gateway's debug, warn and error log lines. */
  gwLog: string[];
}

/** `home` behind a NAT (unless `noNat`) and `gw` on the outside, both NAT-T capable unless told. */
export function world(o: { mode?: "aggressive"; noNat?: boolean; gwNatt?: boolean; dpdSecs?: number; gwCommit?: boolean } = {}): World {
  const xf = o.dpdSecs === undefined ? XF : `${XF}\n  dpd_interval_secs ${o.dpdSecs}`;
  const clock = new ManualClock();
  const network = new MemoryNetwork();
  const tap: TapRecord[] = [];
  network.tap((r) => tap.push(r));
  const nat = o.noNat === true ? undefined : new MemoryNat(network, NAT);
  const homeAddr = o.noNat === true ? "10.0.0.1" : HOME;
  const peerSeen = o.noNat === true ? "10.0.0.1" : NAT;
  const homeTransport: Transport = nat ?? network.attach([{ address: homeAddr, port: 500 }, { address: homeAddr, port: 4500 }]);
  const gwTransport = network.attach([{ address: GW, port: 500 }, { address: GW, port: 4500 }]);
  const mode = o.mode === "aggressive" ? "\n  ike_mode aggressive" : "";
  const gwLog: string[] = [];
  // Aggressive Mode chooses the key by identity, Main Mode by the peer's address (the NAT's).
  const homePsk = pskText(homeAddr, GW, "natt-secret").replace("}", `${mode}\n}`);
  const gwPsk = (o.mode === "aggressive" ? pskText(GW, homeAddr, "natt-secret") : pskText(GW, peerSeen, "natt-secret")).replace("}", `${mode}\n}`);
  const home = side("home", homeTransport, clock, ruleText("to-gw", homeAddr, GW, xf), homePsk, `{ raddr ${GW} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`, { address: homeAddr, port: 500 }, true);
  const gw = side(
    "gw", gwTransport, clock, ruleText("from-home", GW, `${peerSeen}`, xf).replace("remote_addr", "remote_id \"\"\n  remote_addr"),
    gwPsk, `{ raddr ${homeAddr} } ipsec { encr_algs aes encr_auth_algs sha1 }\n{ raddr ${peerSeen} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
    { address: GW, port: 500 }, o.gwNatt !== false, { log: recordingLog(gwLog), commit: o.gwCommit === true },
  );
  return { network, clock, nat, home, gw, tap, xf, gwLog };
}

export async function settle(w: World, rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await w.network.idle();
    await new Promise((r) => setImmediate(r));
  }
}

export function up(w: World, mode?: "main" | "aggressive"): IsakmpSa {
  // The engine's policy is its own; the rule is rebuilt from the same text.
  const rule = policyFrom(ruleText("to-gw", HOME, GW, w.xf), pskText(HOME, GW, "x")).ruleByLabel("to-gw")!;
  return w.home.engine.initiate(rule, w.home.local, { address: GW, port: 500 }, mode);
}

export function established(e: IkeEngine): IsakmpSa {
  const sa = e.sas.all().find((s) => s.state === "established");
  assert.ok(sa !== undefined, "an established ISAKMP SA");
  return sa;
}

export function close(w: World): void {
  w.home.engine.close();
  w.gw.engine.close();
}

export async function quickMode(w: World, mode: "transport" = "transport"): Promise<void> {
  const sa = established(w.home.engine);
  const pol = ipsecFrom(`{ raddr ${GW} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const sel = selectForAcquire(pol, { src: { address: HOME, port: 0 }, dst: { address: GW, port: 0 }, ulp: 0 });
  if (sel.kind !== "ipsec") throw new Error("no ipsec policy");
  assert.equal(sel.mode, mode);
  w.home.engine.quickMode(sa, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
  await settle(w);
}

/** The gateway's mature SAs, with their direction and encapsulation ports. */
export async function gwSas(w: World): Promise<{ spi: number; out: boolean; sport?: number; dport?: number }[]> {
  return (await w.gw.kernel.dump()).filter((s) => s.state === "mature").map((s) => ({ spi: s.spi, out: s.src === GW, sport: s.encap?.sport, dport: s.encap?.dport }));
}

/**
 * The first datagram from the NAT to the gateway that `pick` chooses leaves through a new mapping:
 * the NAT forgets its mappings as it goes out, and it goes again from the new one (the first copy
 * is lost with the old mapping). True once that happened.
 */
export function rebindOn(w: World, pick: (d: Buffer, headerAt: number) => boolean): () => boolean {
  let rebound = false;
  w.network.setImpairment({
    filter: (d, from, to) => {
      const off = d.readUInt32BE(0) === 0 ? 4 : 0; // the non-ESP marker, where one is carried
      if (rebound || from.address !== NAT || to.address !== GW || !pick(d, off)) return "pass";
      rebound = true;
      w.nat!.rebind();
      setImmediate(() => w.nat!.send(d, { address: HOME, port: 4500 }, { address: GW, port: 4500 }));
      return "drop";
    },
  });
  return () => rebound;
}
