/**
 * In-process setting for hostile-peer tests: our engine ("victim", 10.0.5.2:500) and an honest
 * engine ("peer", 10.0.5.1:500) on the in-memory network with a manual clock, plus an attacker
 * endpoint that injects raw datagrams. Both engines' DH ports and kernels count their calls, so a
 * test can prove that a replayed or duplicated message cost no second computation and installed
 * no second SA; {@link baseline} captures the victim's tables so "no state leak" is one assertion.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Notify, ExchangeType, PayloadType, decodeMessage } from "../../src/codec/index.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine, type EngineOptions } from "../../src/ike/engine.js";
import type { DhPort, Phase1Policy } from "../../src/ike/ports.js";
import { deterministicDh } from "../helpers/dh.js";
import type { Endpoint } from "../../src/ike/transport.js";
import type { GetSpiOptions, SaInfo, SaProto, SaSpec, SpiRange } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { MemoryNetwork, type MemoryNetworkOptions, type MemoryTransport, type TapRecord } from "../../src/net/memory-transport.js";
import { selectForAcquire, type IpsecPolicy } from "../../src/policy/index.js";
import { ipsecFrom, policyFrom, pskText, ruleText, seededRandom } from "../exchange/harness.js";

export { Notify };

/** The in-memory SADB, counting the calls that create or fill SAs. */
export class CountingKernel extends MemoryKernel {
  readonly calls = { getSpi: 0, update: 0, add: 0, delete: 0 };

  override async getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo> {
    this.calls.getSpi++;
    return super.getSpi(src, dst, proto, range, options);
  }

  override async update(spec: SaSpec): Promise<SaInfo> {
    this.calls.update++;
    return super.update(spec);
  }

  override async add(spec: SaSpec): Promise<SaInfo> {
    this.calls.add++;
    return super.add(spec);
  }

  override async delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void> {
    this.calls.delete++;
    return super.delete(src, dst, proto, spi);
  }
}

/** DH calls of one engine (each is a pool task in the daemon). */
export interface DhCounts {
  generate: number;
  agree: number;
}

function countingDh(name: string, counts: DhCounts): DhPort {
  const inner = deterministicDh((group, n) => {
    const x = createHash("sha256").update(`${name}-dh-${group}-${n}`).digest();
    x[0] = x[0]! | 0x80;
    return x;
  });
  return {
    dhGenerate: (g, o) => (counts.generate++, inner.dhGenerate(g, o)),
    dhAgree: (g, x, y, o) => (counts.agree++, inner.dhAgree(g, x, y, o)),
  };
}

/** One engine of the setting. */
export interface Node {
  readonly engine: IkeEngine;
  readonly policy: Phase1Policy;
  readonly endpoint: Endpoint;
  readonly kernel: CountingKernel;
  readonly dh: DhCounts;
  readonly ipsec: IpsecPolicy | undefined;
}

/** Peer, victim, attacker, and everything that crossed the network. */
export interface Setting {
  readonly clock: ManualClock;
  readonly network: MemoryNetwork;
  readonly peer: Node;
  readonly victim: Node;
  readonly attacker: MemoryTransport;
  readonly attackerEndpoint: Endpoint;
  /** Every datagram and its fate, in order. */
  readonly wire: TapRecord[];
}

export const PEER = "10.0.5.1";
export const VICTIM = "10.0.5.2";
export const ATTACKER = "10.0.5.66";

/** The transforms both sides use unless a test says otherwise. */
export const XFORM = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
/** ipsecinit.conf action both sides use. */
export const IPSEC = "encr_algs aes encr_auth_algs sha1";

/** Options of {@link setting}. */
export interface SettingOptions {
  readonly peerXform?: string;
  readonly victimXform?: string;
  readonly peerPsk?: string;
  readonly victimPsk?: string;
  readonly peerIpsec?: string;
  readonly victimIpsec?: string;
  readonly network?: MemoryNetworkOptions;
  /** The victim rule's remote_addr (default: the peer's address). */
  readonly victimRuleRemote?: string;
  /** Victim engine options (half-open limits ...). */
  readonly victimEngine?: Partial<EngineOptions>;
}

/** Build the setting; the rule labels are "to-victim" (peer) and "to-peer" (victim). */
export function setting(o: SettingOptions = {}): Setting {
  const clock = new ManualClock();
  const network = new MemoryNetwork(o.network ?? {});
  const wire: TapRecord[] = [];
  network.tap((r) => wire.push(r));
  const mk = (name: string, address: string, remote: string, label: string, xform: string, psk: string, ipsecBody: string, extra: Partial<EngineOptions>, ruleRemote = remote): Node => {
    const endpoint = { address, port: 500 };
    const transport = network.attach([endpoint]);
    const policy = policyFrom(ruleText(label, address, ruleRemote, xform), pskText(address, remote, psk));
    // The SADB runs on the same manual clock, so lifetime expiry happens inside tick(); larval SAs
    // live an hour, so a test sees a GETSPI the engine forgot instead of the kernel tidying up.
    const kernel = new CountingKernel({
      larvalSeconds: 3600,
      clock,
    });
    const ipsec = ipsecFrom(`{ raddr ${remote} } ipsec { ${ipsecBody} }\n`);
    const dh: DhCounts = { generate: 0, agree: 0 };
    const engine = new IkeEngine({
      transport,
      policy,
      clock,
      random: seededRandom(name),
      cookies: new CookieJar({ clock, random: seededRandom(`${name}-cookies`) }),
      dh: countingDh(name, dh),
      kernel,
      ipsecPolicy: () => ipsec,
      ...extra,
    });
    return { engine, policy, endpoint, kernel, dh, ipsec };
  };
  const attackerEndpoint = { address: ATTACKER, port: 500 };
  return {
    clock,
    network,
    wire,
    peer: mk("peer", PEER, VICTIM, "to-victim", o.peerXform ?? XFORM, o.peerPsk ?? "hostile-psk", o.peerIpsec ?? IPSEC, {}),
    victim: mk("victim", VICTIM, PEER, "to-peer", o.victimXform ?? XFORM, o.victimPsk ?? "hostile-psk", o.victimIpsec ?? IPSEC, o.victimEngine ?? {}, o.victimRuleRemote),
    attacker: network.attach([attackerEndpoint]),
    attackerEndpoint,
  };
}

/** Let datagrams and queued SA work run (real event-loop turns; the manual clock stands still). */
export async function settle(s: Setting, rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await s.network.idle();
    await new Promise((r) => setImmediate(r));
  }
}

/** Move the manual clock on and let the consequences run. */
export async function tick(s: Setting, ms: number): Promise<void> {
  s.clock.advance(ms);
  await settle(s);
}

/** The peer starts Main Mode + Quick Mode towards the victim (host-to-host, ipsecinit.conf). */
export function negotiate(s: Setting): void {
  const rule = s.peer.policy.ruleByLabel("to-victim");
  assert.ok(rule);
  const sel = selectForAcquire(s.peer.ipsec!, { src: { address: PEER, port: 0 }, dst: { address: VICTIM, port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") return;
  s.peer.engine.negotiate(rule, s.peer.endpoint, s.victim.endpoint, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
}

/** A setting where the peer's Main and Quick Mode with the victim completed. */
export async function established(o: SettingOptions = {}): Promise<Setting> {
  const s = setting(o);
  negotiate(s);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 2, "Main and Quick Mode completed");
  return s;
}

/** Unprotected Informational notifies `from` sent, as notify type numbers, in order. */
export function cleartextNotifies(s: Setting, from: string): number[] {
  const out: number[] = [];
  for (const r of s.wire) {
    if (r.from.address !== from) continue;
    const m = decodeMessage(r.datagram);
    if (!m.ok || m.value.kind !== "plain" || m.value.header.exchangeType !== ExchangeType.Informational) continue;
    for (const p of m.value.payloads) if (p.type === PayloadType.N) out.push(p.notifyType);
  }
  return out;
}

/** Datagrams `from` sent (delivered or not), in order. */
export function sentBy(s: Setting, from: string): Buffer[] {
  return s.wire.filter((r) => r.from.address === from).map((r) => r.datagram);
}

/** The victim's tables: what "no state leak" compares against. */
export interface Tables {
  readonly sas: number;
  readonly halfOpen: number;
  readonly phase2: number;
  readonly kernelSas: number;
  /** Embryonic Main Mode records (MM1s answered, MM3 not yet come). */
  readonly embryos: number;
}

/** A snapshot of the victim's SA tables and SADB. */
export async function tables(n: Node): Promise<Tables> {
  return {
    sas: n.engine.sas.size,
    halfOpen: n.engine.sas.halfOpenCount,
    phase2: n.engine.sas.phase2Count,
    kernelSas: (await n.kernel.dump()).length,
    embryos: n.engine.debugSizes().embryos ?? 0,
  };
}

/** The empty tables of a fresh engine. */
export const EMPTY: Tables = { sas: 0, halfOpen: 0, phase2: 0, kernelSas: 0, embryos: 0 };

/** Tear both engines down. */
export async function close(s: Setting): Promise<void> {
  s.peer.engine.close();
  s.victim.engine.close();
  await s.peer.kernel.close();
  await s.victim.kernel.close();
}

/** The peer's genuine MM1, captured in a throwaway setting where it never arrives. */
export async function peerMm1(): Promise<Buffer> {
  const src = setting();
  src.network.setImpairment({ filter: () => "drop" });
  src.peer.engine.initiate(src.peer.policy.ruleByLabel("to-victim")!, src.peer.endpoint, src.victim.endpoint);
  await settle(src, 3);
  const mm1 = src.wire.find((r) => r.from.address === PEER && r.datagram[18] === ExchangeType.IdentityProtection)!.datagram;
  await close(src);
  return Buffer.from(mm1);
}
