/**
 * in.iked in the kernel VM (guest side): a root tree per daemon under the guest's /tmp, the compiled
 * launcher run in a side's network namespace (`-d`, one process, crypto on the main thread), its
 * output kept for waiting and for failure messages, `ikeadm` against it, and the kernel's view of
 * the SAs (`ip -s xfrm state`) for the counters.
 *
 * Configuration of a pair: one ike.config rule per address family, labelled "v4" and "v6" (the
 * tunnel names of ipsecinit.conf: the rule's addresses are the tunnel's endpoints), pre-shared keys
 * for both, and the ipsecinit.conf text the case gives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "../../helpers/netns.js";
import type { Side } from "./world.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const IN_IKED = path.resolve(here, "../../../src/cli/in-iked.js");
const IKEADM = path.resolve(here, "../../../src/cli/ikeadm.js");

/** The pre-shared key of every pair (test material, hex). */
export const PSK_HEX = "6b65726e656c2d766d2d706169722d6b6579";

/** ike.config for `self` talking to `peer`; `extra` goes into both rules (lifetimes ...). */
export function ikeConfig(self: Side, peer: Side, extra = ""): string {
  const rule = (label: string, l: string, r: string) => `{\n  label "${label}"\n  local_addr ${l}\n  remote_addr ${r}\n  ${extra}\n}\n`;
  return [
    "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }",
    "p1_lifetime_secs 3600",
    rule("v4", self.v4, peer.v4),
    rule("v6", self.v6, peer.v6),
  ].join("\n");
}

/** ike.preshared for `self` and `peer`, both families. */
export function preshared(self: Side, peer: Side): string {
  const entry = (l: string, r: string) => `{\n  localidtype IP\n  localid ${l}\n  remoteidtype IP\n  remoteid ${r}\n  key ${PSK_HEX}\n}\n`;
  return entry(self.v4, peer.v4) + entry(self.v6, peer.v6);
}

/** Lines that keep IPv6 neighbour discovery out of host-to-host policies (as Libreswan does). */
export const ND_BYPASS = "{ ulp ipv6-icmp type 135 } bypass {}\n{ ulp ipv6-icmp type 136 } bypass {}\n";

/** A running in.iked. */
export interface Iked {
  readonly side: Side;
  readonly root: string;
  output(): string;
  /** Waits until the output matches (generous: node runs ten times slower here). */
  waitFor(what: string | RegExp, ms?: number): Promise<void>;
  /** How often the output matches. */
  count(what: RegExp): number;
  ikeadm(...args: string[]): Promise<string>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Writes a root for `side` and starts `in.iked -d --kernel <kind>` in its namespace; `files`
 * replaces the pair's ike.config and ike.preshared (a topology other than the two sides').
 */
export async function startIked(side: Side, peer: Side, kind: string, ipsecinit: string, extra = "", files?: { config: string; preshared: string }): Promise<Iked> {
  const root = mkdtempSync(`/tmp/iked-${side.dev}-`);
  mkdirSync(path.join(root, "etc/inet/ike"), { recursive: true });
  mkdirSync(path.join(root, "etc/inet/secret"), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(root, "etc/inet/ike/config"), files?.config ?? ikeConfig(side, peer, extra));
  writeFileSync(path.join(root, "etc/inet/secret/ike.preshared"), files?.preshared ?? preshared(side, peer), { mode: 0o600 });
  writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), ipsecinit);
  const child: ChildProcess = spawn("ip", ["netns", "exec", side.ns.name, process.execPath, "--openssl-legacy-provider", IN_IKED, "-d", "--root", root, "--kernel", kind, "--workers", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const matches = (what: string | RegExp) => (typeof what === "string" ? out.includes(what) : what.test(out));
  const d: Iked = {
    side,
    root,
    output: () => out,
    async waitFor(what, ms = 90_000) {
      try {
        await until(`in.iked (${side.dev}) to log ${String(what)}`, () => matches(what) || (done ? "exited" : false), ms);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- in.iked ${side.dev} output ---\n${out.slice(-6000)}`);
      }
      if (!matches(what)) throw new Error(`in.iked (${side.dev}) exited before logging ${String(what)}:\n${out.slice(-6000)}`);
    },
    count: (what) => (out.match(new RegExp(what.source, "g")) ?? []).length,
    ikeadm: (...args) =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, ["--openssl-legacy-provider", IKEADM, "--root", root, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let o = "";
        let e = "";
        p.stdout.on("data", (b: Buffer) => (o += b.toString()));
        p.stderr.on("data", (b: Buffer) => (e += b.toString()));
        p.on("exit", (code) => (code === 0 ? resolve(o) : reject(new Error(`ikeadm ${args.join(" ")}: exit ${code}: ${e}`))));
      }),
    async stop() {
      if (!done) child.kill("SIGTERM");
      return exited;
    },
  };
  await d.waitFor("in.iked started");
  return d;
}

/** One SA as `ip -s xfrm state` shows it. */
export interface KernelSa {
  src: string;
  dst: string;
  proto: string;
  spi: number;
  reqid: number;
  mode: string;
  packets: number;
  /** The configured anti-replay window (the first `replay-window`, not the stats' counter). */
  replayWindow: number;
  /** Configured limits (`lifetime config`); null where the kernel shows (INF). */
  bytes: { soft: number | null; hard: number | null };
  seconds: { soft: number; hard: number };
}

/** The SAs of a namespace with their packet counters (`ip -s xfrm state`). */
export async function kernelSas(side: Side): Promise<KernelSa[]> {
  const text = await side.ns.ip("-s", "xfrm", "state");
  const out: KernelSa[] = [];
  for (const block of text.split(/^(?=src )/m)) {
    const head = /^src (\S+) dst (\S+)\s+proto (\S+) spi 0x([0-9a-f]+)(?:\(\d+\))? reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)/m.exec(block);
    if (head === null) continue;
    const cur = /lifetime current:\s+(\d+)\(bytes\), (\d+)\(packets\)/.exec(block);
    const replay = /replay-window (\d+)/.exec(block);
    const limit = /limit: soft (\S+)\(bytes\), hard (\S+)\(bytes\)/.exec(block);
    const add = /expire add: soft (\d+)\(sec\), hard (\d+)\(sec\)/.exec(block);
    const num = (v: string | undefined) => (v === undefined || v === "(INF)" ? null : Number(v));
    out.push({
      src: head[1]!, dst: head[2]!, proto: head[3]!, spi: Number.parseInt(head[4]!, 16), reqid: Number(head[5]), mode: head[6]!,
      packets: cur === null ? 0 : Number(cur[2]),
      replayWindow: replay === null ? 0 : Number(replay[1]),
      bytes: { soft: num(limit?.[1]), hard: num(limit?.[2]) },
      seconds: { soft: add === null ? 0 : Number(add[1]), hard: add === null ? 0 : Number(add[2]) },
    });
  }
  return out.filter((s) => s.spi !== 0);
}

/** The policies of a namespace, one line each (`ip -o xfrm policy`), sockets' own left out. */
export async function kernelPolicies(side: Side): Promise<string[]> {
  return (await side.ns.ip("-o", "xfrm", "policy")).split("\n").filter((l) => l.trim() !== "" && !/dir \d+ /.test(l) && !l.includes(" socket "));
}
