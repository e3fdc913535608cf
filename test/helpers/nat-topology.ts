/**
 * A real NAT in network namespaces, for NAT-T tests (not a test file itself):
 *
 * ```
 *   natt-home-*                 natt-nat-*                          natt-gw-*
 *   192.168.77.2 ── veth ── 192.168.77.1 | 198.51.100.1 ── veth ── 198.51.100.2
 *   (default via .1)            MASQUERADE out of the gateway side
 *                               (nftables, else iptables) to ports 30000-30999
 * ```
 *
 * The home side reaches the gateway only through the NAT, which rewrites its address to
 * 198.51.100.1 and its ports into 30000-30999 (so a NAT-T peer must float, and the mapping is
 * never the port it came from). `rebind()` moves the masquerade to 31000-31999 and deletes the
 * NAT's UDP connection-tracking entries: the next datagram out gets a new mapping, as after a NAT
 * reboot. Namespaces are named `natt-<role>-<pid>-<n>` and removed by `remove()`.
 *
 * `natGate()` says whether this can run (root, ip, nft or iptables, conntrack); outside CI a test
 * that cannot is skipped with the reason, under CI=true it runs and fails naming what is missing.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { skipFor } from "./skip.js";

const run = promisify(execFile);

export const HOME_ADDR = "192.168.77.2";
export const NAT_INSIDE = "192.168.77.1";
export const NAT_ADDR = "198.51.100.1";
export const GW_ADDR = "198.51.100.2";

const BIN = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];
const which = (tool: string): string | undefined => BIN.map((d) => `${d}/${tool}`).find(existsSync);

/** Whether a NAT topology can be built here, and if not, why. */
export function natGate(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, reason: "NAT tests need root (network namespaces, nftables)" };
  if (which("ip") === undefined) return { ok: false, reason: "NAT tests need the ip tool (iproute2)" };
  if (which("nft") === undefined && which("iptables") === undefined) return { ok: false, reason: "NAT tests need nft (Debian nftables) or iptables" };
  if (which("conntrack") === undefined) return { ok: false, reason: "NAT tests need conntrack (Debian conntrack) to make the NAT rebind" };
  return { ok: true };
}

/** For `test(name, { skip: natSkip() }, fn)`: the reason outside CI; under CI a throw naming it (helpers/skip.ts). */
export function natSkip(): string | false {
  const g = natGate();
  return skipFor(!g.ok && g.reason);
}

/** One namespace of the topology. */
export interface Ns {
  readonly name: string;
  exec(cmd: string, ...args: string[]): Promise<string>;
}

/** The three namespaces and the NAT's controls. */
export interface NatTopology {
  readonly home: Ns;
  readonly nat: Ns;
  readonly gw: Ns;
  /** The NAT's current UDP mappings: `inside port -> outside port` per conntrack. */
  mappings(): Promise<string>;
  /** New masquerade port range and no UDP conntrack entries: every flow gets a new mapping. */
  rebind(): Promise<void>;
  remove(): Promise<void>;
}

let counter = 0;

function ns(name: string): Ns {
  return {
    name,
    exec: async (cmd, ...args) => (await run("ip", ["netns", "exec", name, cmd, ...args], { maxBuffer: 16 << 20 })).stdout,
  };
}

async function masquerade(nat: Ns, ports: string, replace: boolean): Promise<void> {
  if (which("nft") !== undefined) {
    if (replace) await nat.exec("nft", "flush", "chain", "ip", "natt", "post");
    else {
      await nat.exec("nft", "add", "table", "ip", "natt");
      await nat.exec("nft", "add", "chain", "ip", "natt", "post", "{ type nat hook postrouting priority 100 ; }");
    }
    await nat.exec("nft", "add", "rule", "ip", "natt", "post", "oifname", "ng1", "meta", "l4proto", "udp", "masquerade", "to", `:${ports}`);
    return;
  }
  if (replace) await nat.exec("iptables", "-t", "nat", "-F", "POSTROUTING");
  await nat.exec("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "ng1", "-p", "udp", "-j", "MASQUERADE", "--to-ports", ports);
}

/** Build the topology; throws (after removing what it made) if a step fails. */
export async function natTopology(): Promise<NatTopology> {
  const n = ++counter;
  const names = { home: `natt-home-${process.pid}-${n}`, nat: `natt-nat-${process.pid}-${n}`, gw: `natt-gw-${process.pid}-${n}` };
  const made: string[] = [];
  const remove = async (): Promise<void> => {
    for (const name of made.splice(0)) await run("ip", ["netns", "del", name]).catch(() => undefined); // gone already: nothing to undo
  };
  try {
    for (const name of Object.values(names)) {
      await run("ip", ["netns", "add", name]);
      made.push(name);
      await run("ip", ["-n", name, "link", "set", "lo", "up"]);
    }
    const ip = (name: string, ...args: string[]) => run("ip", ["-n", name, ...args]);
    await run("ip", ["link", "add", "nh0", "netns", names.home, "type", "veth", "peer", "name", "nh1", "netns", names.nat]);
    await run("ip", ["link", "add", "ng0", "netns", names.gw, "type", "veth", "peer", "name", "ng1", "netns", names.nat]);
    for (const [name, dev, addr] of [
      [names.home, "nh0", `${HOME_ADDR}/24`],
      [names.nat, "nh1", `${NAT_INSIDE}/24`],
      [names.nat, "ng1", `${NAT_ADDR}/24`],
      [names.gw, "ng0", `${GW_ADDR}/24`],
    ] as const) {
      await ip(name, "addr", "add", addr, "dev", dev);
      await ip(name, "link", "set", dev, "up");
    }
    await ip(names.home, "route", "add", "default", "via", NAT_INSIDE);
    const nat = ns(names.nat);
    await nat.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    await masquerade(nat, "30000-30999", false);
    return {
      home: ns(names.home),
      nat,
      gw: ns(names.gw),
      mappings: async () => (await nat.exec("conntrack", "-L", "-p", "udp").catch((e: { stdout?: string }) => e.stdout ?? "")).trim(),
      rebind: async () => {
        await masquerade(nat, "31000-31999", true);
        // conntrack -D exits 1 when nothing matched: then there was nothing to forget.
        await nat.exec("conntrack", "-D", "-p", "udp").catch(() => undefined);
      },
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}
