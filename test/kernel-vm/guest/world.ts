/**
 * The test network of the kernel-VM suite (guest side), and what cases do with it:
 *
 *   namespace "left"  va  192.0.2.1/24  2001:db8::1/64   inner 198.51.100.1  2001:db8:1::1 (on lo)
 *   namespace "right" vb  192.0.2.2/24  2001:db8::2/64   inner 203.0.113.1   2001:db8:2::1 (on lo)
 *
 * with routes to the other side's inner network through the veth, for tunnel mode. Each side has a
 * kernel backend (XfrmKernel or PfkeyKernel) opened in its namespace; SAs and policies are installed
 * through it with keys the test picks. Traffic is busybox ping; `sniff` counts what crosses the veth.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AuthAlg, findAlgorithm, AUTH_ALGORITHMS, type SaProto } from "../../../src/kernel/algorithms.js";
import type { LifetimesSpec, SaMode, SaSpec, UdpEncap } from "../../../src/kernel/kernel.js";
import { openKernel, type KernelKind, type RealKernel } from "../../../src/kernel/open.js";
import type { SpdPolicy } from "../../../src/kernel/spd.js";
import { createNetns, until, type Netns } from "../../helpers/netns.js";

/** One end of the test network. */
export interface Side {
  readonly ns: Netns;
  readonly dev: string;
  readonly v4: string;
  readonly v6: string;
  readonly inner4: string;
  readonly inner6: string;
}

let world: Promise<[Side, Side]> | undefined;

/** The two namespaces, made on first use and kept for the whole boot. */
export function network(): Promise<[Side, Side]> {
  world ??= build();
  return world;
}

async function build(): Promise<[Side, Side]> {
  const a = await createNetns();
  const b = await createNetns();
  await a.exec("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b.name);
  const left: Side = { ns: a, dev: "va", v4: "192.0.2.1", v6: "2001:db8::1", inner4: "198.51.100.1", inner6: "2001:db8:1::1" };
  const right: Side = { ns: b, dev: "vb", v4: "192.0.2.2", v6: "2001:db8::2", inner4: "203.0.113.1", inner6: "2001:db8:2::1" };
  for (const [s, peer] of [[left, right], [right, left]] as const) {
    await s.ns.ip("link", "set", s.dev, "up");
    await s.ns.ip("addr", "add", `${s.v4}/24`, "dev", s.dev);
    await s.ns.ip("addr", "add", `${s.v6}/64`, "dev", s.dev, "nodad");
    await s.ns.ip("addr", "add", `${s.inner4}/32`, "dev", "lo");
    await s.ns.ip("addr", "add", `${s.inner6}/128`, "dev", "lo");
    await s.ns.ip("route", "add", `${peer.inner4.replace(/\.1$/, ".0")}/24`, "via", peer.v4, "src", s.inner4);
    await s.ns.ip("-6", "route", "add", `${peer.inner6.replace(/::1$/, "::")}/64`, "via", peer.v6, "src", s.inner6);
  }
  return [left, right];
}

/**
 * The kernel's answer deadline in the guest. The production default (5 s) is for a real machine;
 * this guest is emulated (QEMU TCG, one vCPU) beside other test files on a small host, where one
 * answer was seen to take longer (a PF_KEY REGISTER, under two CPU hogs). A lost answer still
 * fails, only later.
 */
export const GUEST_KERNEL_TIMEOUT_MS = 60_000;

/** A backend of `kind` in the namespace at `netns`, with the guest's answer deadline. */
export function openGuestKernel(kind: KernelKind, netns: string): Promise<RealKernel> {
  return openKernel(kind, { netns, timeoutMs: GUEST_KERNEL_TIMEOUT_MS });
}

/** Opens a backend of `kind` on each side; `use` runs; then SAs and policies go and both close. */
export async function withKernels(kind: KernelKind, use: (l: RealKernel, r: RealKernel, left: Side, right: Side) => Promise<void>): Promise<void> {
  const [left, right] = await network();
  const l = await openGuestKernel(kind, left.ns.path);
  const r = await openGuestKernel(kind, right.ns.path);
  try {
    // As the daemon does at start: PF_KEY sends ACQUIRE and EXPIRE to registered sockets only.
    for (const k of [l, r]) for (const proto of ["esp", "ah"] as const) await k.register(proto);
    await use(l, r, left, right);
  } finally {
    for (const k of [l, r]) {
      await k.removePolicies().catch(() => undefined); // the case may have closed or failed midway
      await k.flush().catch(() => undefined);
      await k.close();
    }
  }
}

/** Keys for an SA: random bytes of the sizes the algorithms take. */
export function keysFor(encBits: number, authAlg: number): { encKey?: Buffer; authKey?: Buffer } {
  const out: { encKey?: Buffer; authKey?: Buffer } = {};
  if (encBits > 0) out.encKey = randomBytes(encBits / 8);
  if (authAlg !== AuthAlg.None) out.authKey = randomBytes(findAlgorithm(AUTH_ALGORITHMS, authAlg)!.maxBits / 8);
  return out;
}

/** What a protected pair of hosts or networks needs. */
export interface PairSpec {
  proto: SaProto;
  mode: SaMode;
  family: 4 | 6;
  encAlg?: number;
  encBits?: number;
  authAlg?: number;
  /** SPIs of the left→right and right→left SAs. */
  spis: [number, number];
  lifetimes?: LifetimesSpec;
  encap?: UdpEncap;
}

/** The two SAs of a pair, keyed by the test: left→right, then right→left. */
export function pairSas(left: Side, right: Side, p: PairSpec): [SaSpec, SaSpec] {
  const v = (s: Side) => (p.family === 4 ? s.v4 : s.v6);
  const keys = [keysFor(p.encBits ?? 0, p.authAlg ?? 0), keysFor(p.encBits ?? 0, p.authAlg ?? 0)];
  const sa = (from: Side, to: Side, spi: number, k: { encKey?: Buffer; authKey?: Buffer }): SaSpec => ({
    src: v(from),
    dst: v(to),
    proto: p.proto,
    spi,
    mode: p.mode,
    reqid: 0,
    ...(p.encAlg !== undefined ? { encAlg: p.encAlg } : {}),
    ...(p.authAlg !== undefined && p.authAlg !== 0 ? { authAlg: p.authAlg } : {}),
    ...k,
    replayWindow: 32,
    ...(p.lifetimes !== undefined ? { lifetimes: p.lifetimes } : {}),
    ...(p.encap !== undefined ? { encap: p.encap } : {}),
  });
  return [sa(left, right, p.spis[0], keys[0]!), sa(right, left, p.spis[1], keys[1]!)];
}

/** Outbound and inbound policies of one side for a pair (host to host, or inner network to inner network). */
export function pairPolicies(self: Side, peer: Side, p: { proto: SaProto; mode: SaMode; family: 4 | 6 }, id = 1): SpdPolicy[] {
  const tunnel = p.mode === "tunnel";
  const host = (s: Side) => (p.family === 4 ? `${s.v4}/32` : `${s.v6}/128`);
  const net = (s: Side) => (p.family === 4 ? `${s.inner4.replace(/\.1$/, ".0")}/24` : `${s.inner6.replace(/::1$/, "::")}/64`);
  const end = (s: Side) => (p.family === 4 ? s.v4 : s.v6);
  const sel = (from: Side, to: Side) => ({ src: tunnel ? net(from) : host(from), dst: tunnel ? net(to) : host(to), ulp: 0, srcPort: 0, dstPort: 0 });
  const tmpl = (from: Side, to: Side) => [tunnel ? { proto: p.proto, mode: p.mode, src: end(from), dst: end(to) } : { proto: p.proto, mode: p.mode }];
  return [
    { id, dir: "out", selector: sel(self, peer), action: "ipsec", rank: 0, templates: tmpl(self, peer) },
    { id, dir: "in", selector: sel(peer, self), action: "ipsec", rank: 0, templates: tmpl(peer, self) },
  ];
}

/** Installs both SAs on both sides and each side's policies. */
export async function protect(l: RealKernel, r: RealKernel, left: Side, right: Side, p: PairSpec): Promise<[SaSpec, SaSpec]> {
  const sas = pairSas(left, right, p);
  for (const k of [l, r]) for (const sa of sas) await k.add(sa);
  await l.installPolicies(pairPolicies(left, right, p));
  await r.installPolicies(pairPolicies(right, left, p));
  return sas;
}

/** busybox ping from one side; resolves true when every echo was answered. */
export async function ping(from: Side, to: string, opts: { count?: number; size?: number; source?: string; wait?: number } = {}): Promise<boolean> {
  const args = ["ping", "-c", String(opts.count ?? 1), "-W", String(opts.wait ?? 3), "-w", String((opts.wait ?? 3) + (opts.count ?? 1))];
  if (to.includes(":")) args.push("-6");
  if (opts.size !== undefined) args.push("-s", String(opts.size));
  if (opts.source !== undefined) args.push("-I", opts.source);
  args.push(to);
  try {
    await from.ns.exec("busybox", ...args);
    return true;
  } catch {
    // ping exits non-zero when replies are missing: that is the answer, not an error.
    return false;
  }
}

/** Packets an SA has carried, as the kernel counts them (read through the backend). */
export async function packets(k: RealKernel, sa: SaSpec): Promise<number> {
  return (await k.get(sa.src, sa.dst, sa.proto, sa.spi)).counters.packets;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const SNIFF = path.resolve(here, "../../../../test/kernel-vm/guest/sniff.py");

/**
 * Counts the IP packets between the two sides' addresses (outer and inner) that cross the veth
 * while `during` runs, by protocol: what each end sends, so every packet on the wire once, and
 * never a decrypted tunnel-mode packet handed back to the receiving interface. `other` describes
 * the first packets that are neither ESP, AH nor UDP.
 */
export async function sniff(during: () => Promise<void>): Promise<Sniffed> {
  const sides = await network();
  return sniffOn(sides, sides.flatMap((s) => [s.v4, s.v6, s.inner4, s.inner6]), during);
}

/** {@link sniff} on other links: both ends (`ns`, `dev`) of one, the packets between `hosts`. */
export async function sniffOn(ends: ReadonlyArray<{ readonly ns: Netns; readonly dev: string }>, hosts: readonly string[], during: () => Promise<void>): Promise<Sniffed> {
  const dir = mkdtempSync(path.join(tmpdir(), "sniff-"));
  const stop = path.join(dir, "stop");
  const runs = ends.map((side, i) => {
    const ready = path.join(dir, `ready${i}`);
    const child = spawn("ip", ["netns", "exec", side.ns.name, "/usr/bin/python3", SNIFF, side.dev, ready, stop, "120", ...hosts], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<string>((resolve) => child.on("exit", () => resolve(out)));
    return { ready, done };
  });
  let outputs: string[];
  try {
    for (const r of runs) await until("a sniffer to start", () => existsSync(r.ready), 60_000);
    await during();
  } finally {
    writeFileSync(stop, "");
    outputs = await Promise.all(runs.map((r) => r.done));
    rmSync(dir, { recursive: true, force: true });
  }
  const seen: Sniffed = { byProto: {}, udp: {}, other: [] };
  for (const o of outputs) {
    const { other, udp, ...counts } = JSON.parse(o) as Record<string, number> & { other?: string[]; udp?: Record<string, number> };
    for (const [p, n] of Object.entries(counts)) seen.byProto[p] = (seen.byProto[p] ?? 0) + n;
    for (const [k, n] of Object.entries(udp ?? {})) seen.udp[k] = (seen.udp[k] ?? 0) + n;
    seen.other.push(...(other ?? []));
  }
  return seen;
}

/** What `sniff` saw. */
export interface Sniffed {
  byProto: Record<string, number>;
  /** IPv4 UDP packets by kind (sniff.py): "ike", "esp" (ESP in UDP), "keepalive", "other". */
  udp: Record<string, number>;
  other: string[];
}

/** Asserts that the packets between the sides were `proto` only (at least `min`), and says what else crossed. */
export function onlyProto(seen: Sniffed, proto: string, min = 2, alsoAllowed: string[] = []): void {
  const n = seen.byProto[proto] ?? 0;
  const stray = Object.keys(seen.byProto).filter((p) => p !== proto && !alsoAllowed.includes(p));
  if (n < min || stray.length > 0) throw new Error(`expected only protocol ${proto} (at least ${min}) between the hosts, saw ${JSON.stringify(seen)}`);
}
