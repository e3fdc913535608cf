/**
 * Private network namespaces for kernel tests (not a test file itself): each test gets namespaces
 * of its own, named `ikt<pid>-<n>`, so the XFRM policies, SAs, sysctls and addresses it sets touch
 * nothing else on the machine, whichever namespace the test runner itself is in. The kernel backends
 * open their sockets inside one through `netns: ns.path`.
 *
 * `kernelGate()` says whether such tests can run (root, the `ip` tool, NETLINK_XFRM). Outside CI a
 * test that cannot run is skipped with the reason; under CI it fails naming it (helpers/skip.ts).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { skipFor } from "./skip.js";

const run = promisify(execFile);

/** One namespace. */
export interface Netns {
  readonly name: string;
  /** `/run/netns/<name>`, for `netns:` options. */
  readonly path: string;
  /** `ip -n <name> args...`; resolves with stdout. */
  ip(...args: string[]): Promise<string>;
  /** A command inside the namespace (`ip netns exec`); resolves with stdout. */
  exec(cmd: string, ...args: string[]): Promise<string>;
  /** Sets sysctls inside the namespace (`key=value` each). */
  sysctl(...settings: string[]): Promise<void>;
  /** Deletes the namespace (idempotent). */
  remove(): Promise<void>;
}

let counter = 0;

/** Creates a namespace with `lo` up. */
export async function createNetns(): Promise<Netns> {
  const name = `ikt${process.pid}-${++counter}`;
  await run("ip", ["netns", "add", name]);
  const ns = netnsNamed(name);
  await ns.ip("link", "set", "lo", "up");
  return ns;
}

/** A namespace that exists already (made by another helper: nat-topology.ts), by name. */
export function netnsNamed(name: string): Netns {
  let removed = false;
  const ns: Netns = {
    name,
    path: `/run/netns/${name}`,
    ip: async (...args) => (await run("ip", ["-n", name, ...args])).stdout,
    exec: async (cmd, ...args) => (await run("ip", ["netns", "exec", name, cmd, ...args], { maxBuffer: 16 << 20 })).stdout,
    sysctl: async (...settings) => {
      await run("ip", ["netns", "exec", name, "sysctl", "-q", "-w", ...settings]);
    },
    remove: async () => {
      if (removed) return;
      removed = true;
      await run("ip", ["netns", "del", name]).catch(() => undefined); // already gone: nothing to undo
    },
  };
  return ns;
}

/**
 * Joins two fresh namespaces with a veth pair `va`/`vb` carrying 192.0.2.1/24 | 192.0.2.2/24 and
 * 2001:db8::1/64 | 2001:db8::2/64 (no duplicate address detection, so IPv6 works at once).
 */
export async function vethPair(): Promise<[Netns, Netns]> {
  const a = await createNetns();
  const b = await createNetns();
  await run("ip", ["link", "add", "va", "netns", a.name, "type", "veth", "peer", "name", "vb", "netns", b.name]);
  for (const [ns, dev, n] of [[a, "va", 1], [b, "vb", 2]] as const) {
    await ns.ip("link", "set", dev, "up");
    await ns.ip("addr", "add", `192.0.2.${n}/24`, "dev", dev);
    await ns.ip("addr", "add", `2001:db8::${n}/64`, "dev", dev, "nodad");
  }
  return [a, b];
}

/** Whether kernel tests can run here, and if not, why. */
export function kernelGate(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, reason: "kernel tests need root (network namespaces, XFRM)" };
  if (!["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].some(existsSync)) return { ok: false, reason: "kernel tests need the ip tool (iproute2)" };
  return { ok: true };
}

/** For `test(name, { skip: kernelSkip() }, fn)`: the reason outside CI; under CI a throw naming it (helpers/skip.ts). */
export function kernelSkip(): string | false {
  const g = kernelGate();
  return skipFor(!g.ok && g.reason);
}

/** Waits until `check` returns a value (not undefined/false), polling; fails after `ms`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
