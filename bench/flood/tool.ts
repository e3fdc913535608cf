/**
 * The flood bench's helpers outside the daemon: the flood tool (bench/flood/flood-tool.c, compiled
 * here with `cc -O2`) and the sink that stands in for the network behind the flood's spoofed
 * addresses (an nftables rule in the bench's own network namespace).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SINK_TABLE = "iked_flood_bench";

/** The compiled flood tool, or why there is none. */
export function buildTool(): string | { skip: string } {
  const out = path.join(os.tmpdir(), `iked-flood-tool-${process.getuid?.() ?? 0}`);
  try {
    execFileSync("cc", ["-O2", "-o", out, path.join(HERE, "../../../bench/flood/flood-tool.c")], { stdio: "pipe" });
    return out;
  } catch (err) {
    return { skip: `cannot compile bench/flood/flood-tool.c with cc: ${(err as Error).message.split("\n")[0]}` };
  }
}

/** Start the tool (`cpu`: pinned to that core with taskset); `output` its stdout once it exits. */
export function startTool(tool: string, args: string[], cpu?: number): { child: ChildProcess; output: Promise<string> } {
  const child = cpu === undefined
    ? spawn(tool, args, { stdio: ["ignore", "pipe", "inherit"] })
    : spawn("taskset", ["-c", String(cpu), tool, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const output = once(child, "exit").then(() => out);
  return { child, output };
}

/** `key=number` pairs of the tool's output. */
export function kv(text: string): Record<string, number> {
  return Object.fromEntries([...text.matchAll(/(\w+)=([0-9.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/**
 * What the responder sends to the flood's spoofed addresses goes where a real interface would send
 * it: away, unanswered. On loopback each such datagram would otherwise be delivered to a port
 * nobody listens on and answered with an ICMP port unreachable (loopback does not rate-limit
 * them), work done inside the responder's own send call that no real network puts on it. The rule
 * drops UDP from `ports` to `prefix` at lo's ingress hook (netdev family): after the send path and
 * the loopback transmit (so the sender pays for the whole send and `flood-tool count`, a packet
 * socket, still sees the datagram leave), before the IP layer receives it (so nothing answers).
 * Needs root and nft, in a private network namespace; returns a remover.
 */
export function sinkFloodReplies(prefix: string, ports: readonly number[]): () => void {
  removeSink();
  const rules = `table netdev ${SINK_TABLE} {\n chain sink {\n  type filter hook ingress device "lo" priority 0; policy accept;\n` +
    `  ip daddr ${prefix} udp sport { ${ports.join(", ")} } counter drop\n }\n}\n`;
  execFileSync("nft", ["-f", "-"], { input: rules, stdio: ["pipe", "pipe", "pipe"] });
  return removeSink;
}

function removeSink(): void {
  try {
    execFileSync("nft", ["delete", "table", "netdev", SINK_TABLE], { stdio: "pipe" });
  } catch {
    // Not there: nothing to remove.
  }
}

/** Counters of this network namespace's /proc/net/snmp, `Udp:` and `Icmp:` lines by name (e.g. `Udp.RcvbufErrors`). */
export function snmp(): Record<string, number> {
  const lines = fs.readFileSync("/proc/net/snmp", "utf8").split("\n");
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const group = names[0]!.replace(":", "");
    for (let j = 1; j < names.length; j++) out[`${group}.${names[j]}`] = Number(values[j]);
  }
  return out;
}

/**
 * CPU time (user + system) so far, ms (100 ticks/s): of every thread of process `pid`
 * (/proc/PID/stat), or with `mainOnly` of its main thread alone (/proc/PID/task/PID/stat).
 */
export function cpuMs(pid: number, mainOnly = false): number {
  const f = fs.readFileSync(mainOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}
