/**
 * Two IKE engines in one process over the in-memory network, with the configuration parsed from
 * ike.config / ike.preshared text, a manual clock for the engines' timers and deterministic nonces
 * and DH private values (so a failing run can be replayed).
 */
import { createHash } from "node:crypto";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine, type EngineOptions } from "../../src/ike/engine.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { configPolicy, type DhPort, type Phase1Policy } from "../../src/ike/ports.js";
import { deterministicDh } from "../helpers/dh.js";
import type { Endpoint, Transport } from "../../src/ike/transport.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "../../src/net/memory-transport.js";
import { MemoryKernel, type MemoryKernelOptions } from "../../src/kernel/memory.js";
import type { Clock } from "../../src/clock.js";
import { parseIpsecPolicy, type IpsecPolicy } from "../../src/policy/index.js";

/** A reproducible byte stream: SHA-256 over (label, counter). */
export function seededRandom(label: string): (n: number) => Buffer {
  let counter = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let off = 0; off < n; off += 32) {
      const block = createHash("sha256").update(`${label}/${counter++}`).digest();
      block.copy(out, off, 0, Math.min(32, n - off));
    }
    return out;
  };
}

/** The deterministic DH of the engine named `name` (private values from SHA-256, top bit set). */
export function namedDh(name: string): DhPort {
  return deterministicDh((group, n) => {
    const x = createHash("sha256").update(`${name}-dh-${group}-${n}`).digest();
    x[0] = x[0]! | 0x80;
    return x;
  });
}

/** Policy from config text; throws on a config error (a test bug). */
export function policyFrom(ikeConfig: string, preshared: string): Phase1Policy {
  const c = parseIkeConfig(ikeConfig, "ike.config");
  if (!c.ok) throw new Error(`ike.config: ${JSON.stringify(c.diagnostics)}`);
  const p = parsePreshared(preshared, "ike.preshared");
  if (!p.ok) throw new Error(`ike.preshared: ${JSON.stringify(p.diagnostics)}`);
  return configPolicy(() => ({ config: c.value, preshared: p.value }));
}

/** One side of a test pair. */
export interface Side {
  readonly engine: IkeEngine;
  readonly policy: Phase1Policy;
  readonly endpoint: Endpoint;
  readonly kernel: MemoryKernel;
  readonly ipsec: IpsecPolicy | undefined;
}

/** Two engines, `a` at 10.0.0.1:500 and `b` at 10.0.0.2:500 unless other addresses are given. */
export interface Pair {
  readonly network: MemoryNetwork;
  readonly clock: ManualClock;
  readonly a: Side;
  readonly b: Side;
}

/** Options of {@link makePair}. */
export interface PairOptions {
  readonly configA: string;
  readonly configB: string;
  readonly pskA: string;
  readonly pskB: string;
  readonly network?: MemoryNetworkOptions;
  readonly engine?: Partial<EngineOptions>;
  /** The kernels' clock (lifetimes); default real time. */
  readonly kernelClock?: Clock;
  /** More settings of both in-memory kernels. */
  readonly kernelOptions?: MemoryKernelOptions;
  /** Addresses of the two sides (default 10.0.0.1 and 10.0.0.2). */
  readonly addressA?: string;
  readonly addressB?: string;
  /** ipsecinit.conf text per side (Quick Mode tests). */
  readonly ipsecA?: string;
  readonly ipsecB?: string;
  /** Wraps a side's deterministic DH port (to count or delay pool work). */
  readonly wrapDh?: (side: "a" | "b", dh: DhPort) => DhPort;
  /** A side's policy built elsewhere (certificates: test/exchange/cert-harness.ts); its text options are then unused. */
  readonly policyA?: Phase1Policy;
  readonly policyB?: Phase1Policy;
  /** Engine options of one side only (after `engine`). */
  readonly engineA?: Partial<EngineOptions>;
  readonly engineB?: Partial<EngineOptions>;
  /** Wraps a side's transport (to watch or fail its sends: fault-injection tests). */
  readonly wrapTransport?: (side: "a" | "b", t: Transport) => Transport;
  /** Wraps a side's policy (to fail its lookups: fault-injection tests). */
  readonly wrapPolicy?: (side: "a" | "b", p: Phase1Policy) => Phase1Policy;
}

/** Parse ipsecinit.conf text; throws on errors (a test bug). */
export function ipsecFrom(text: string): IpsecPolicy {
  const r = parseIpsecPolicy(text);
  if (r.errors.length > 0) throw new Error(`ipsecinit.conf: ${JSON.stringify(r.errors)}`);
  return r.policy;
}

/** Build the pair; both engines use the same manual clock. */
export function makePair(o: PairOptions): Pair {
  const clock = new ManualClock();
  const network = new MemoryNetwork(o.network ?? {});
  const wrap = (name: string, dh: DhPort): DhPort => (o.wrapDh === undefined ? dh : o.wrapDh(name as "a" | "b", dh));
  const mk = (name: string, address: string, config: string, psk: string, ipsecText: string | undefined, given?: Phase1Policy): Side => {
    const endpoint = { address, port: 500 };
    const attached = network.attach([endpoint]);
    const transport = o.wrapTransport === undefined ? attached : o.wrapTransport(name as "a" | "b", attached);
    const built = given ?? policyFrom(config, psk);
    const policy = o.wrapPolicy === undefined ? built : o.wrapPolicy(name as "a" | "b", built);
    const kernel = new MemoryKernel({ ...o.kernelOptions, ...(o.kernelClock !== undefined ? { clock: o.kernelClock } : {}) });
    const ipsec = ipsecText === undefined ? undefined : ipsecFrom(ipsecText);
    const rnd = seededRandom(name);
    const engine = new IkeEngine({
      transport,
      policy,
      clock,
      random: rnd,
      cookies: new CookieJar({ clock, random: seededRandom(`${name}-cookies`) }),
      dh: wrap(name, namedDh(name)),
      kernel,
      ipsecPolicy: () => ipsec,
      ...o.engine,
      ...(name === "a" ? o.engineA : o.engineB),
    });
    return { engine, policy, endpoint, kernel, ipsec };
  };
  return {
    network,
    clock,
    a: mk("a", o.addressA ?? "10.0.0.1", o.configA, o.pskA, o.ipsecA, o.policyA),
    b: mk("b", o.addressB ?? "10.0.0.2", o.configB, o.pskB, o.ipsecB, o.policyB),
  };
}

/** Start Main Mode from `a` to `b` under the rule labelled `label`. */
export function initiate(pair: Pair, label: string): IsakmpSa {
  const rule = pair.a.policy.ruleByLabel(label);
  if (rule === undefined) throw new Error(`no rule ${label}`);
  return pair.a.engine.initiate(rule, pair.a.endpoint, pair.b.endpoint);
}

/** Let the network and the engines' queues drain (real event loop turns, no clock movement). */
export async function settle(pair: Pair, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await pair.network.idle();
    await new Promise((r) => setImmediate(r));
  }
}

/** ike.config text for one side. */
export function ruleText(label: string, local: string, remote: string, xforms: string): string {
  return `{\n  label "${label}"\n  local_addr ${local}\n  remote_addr ${remote}\n  ${xforms}\n}\n`;
}

/** ike.preshared text for one entry. */
export function pskText(local: string, remote: string, key: string): string {
  const t = local.includes(":") ? "ipv6" : "ip";
  return `{\n  localidtype ${t}\n  localid ${local}\n  remoteidtype ${t}\n  remoteid ${remote}\n  key "${key}"\n}\n`;
}

/**
 * Addresses and ports for one interop test file in this process: our side and the peer in
 * 127.0.3.0/24, peer ports in 13000-13999, both offset by the process id so that two test runs at
 * once (ours and a colleague's `npm test`) do not share a port: our UDP sockets use SO_REUSEADDR,
 * so a clash would not fail, it would silently split the traffic.
 */
export function interopPlan(file: 0 | 1 | 2 | 3): { us: string; them: string; port: number } {
  // 20 slots of 8 addresses and 50 ports; within a slot, Main Mode uses ports +0..11, Quick Mode
  // +12..19, Aggressive Mode +20..23 (Libreswan needs none: pluto is always on 500/4500).
  const slot = process.pid % 20;
  const host = 1 + slot * 8 + file * 2;
  return { us: `127.0.3.${host}`, them: `127.0.3.${host + 1}`, port: 13000 + slot * 50 + [0, 12, 20, 24][file]! };
}
