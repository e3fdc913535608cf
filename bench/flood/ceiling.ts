/**
 * The flood bench's ceiling (issue 11): how many datagrams one Node process reads while
 * bench/flood/flood-tool.c sends MM1s at full rate from one core, with the project's own batched
 * reader (src/net/udp-batch.ts: the steered pair read with recvmmsg by the native addon) and a
 * handler that does nothing. No responder can answer more MM1s than this on the same machine, so
 * the share of the flood it reads bounds the share of a legitimate peer's MM1s that get in.
 *
 * Readers: `native` (the addon's recvmmsg batches, counted without touching a datagram in JS),
 * `batch` (BatchPort as the daemon uses it: each datagram copied and its source address made a
 * string, then dropped), `echo` (BatchPort, each datagram sent back to its source through the
 * batched send queue: what answering costs without the engine; to the flood's spoofed addresses,
 * dropped by the sink rule of tool.ts, or with `icmp` answered by loopback as before). Each cell is
 * run unpinned (the scheduler places the flood and the reader on the 2 cores) and pinned (flood on
 * core 0, this process on core 1, with taskset).
 *
 * Prints per cell the flood's rate, datagrams read per second, the share read, the kernel's
 * receive-buffer drops per second (/proc/net/snmp `Udp: RcvbufErrors`), ICMP port unreachables
 * sent per second (`Icmp: OutDestUnreachs`) and the reader's CPU time (user and system, all
 * threads) per datagram read. Needs root and cc (and nft for `echo-drop`); run it in a private
 * network namespace:
 *
 *     /work/wt-tools/nsrun NAME node --openssl-legacy-provider dist/bench/flood/ceiling.js [--seconds 5]
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadNative } from "../../native/index.js";
import { BatchBuffers, BatchPort } from "../../src/net/udp-batch.js";
import { buildTool, kv, sinkFloodReplies, snmp, startTool } from "./tool.js";
import { captureMm1 } from "./responders.js";

const ADDRESS = "127.0.7.42";
const PORT = 17420;
const RANDOM_PREFIX = "127.64.0.0/16";
const LIMITS = { maxInFlight: 64, maxQueued: 4096, maxQueuedBytes: 4 << 20 };

type Reader = "native" | "batch" | "echo-icmp" | "echo-drop";

interface Cell {
  reader: Reader;
  pinned: boolean;
}

/** Pin every thread of this process to `cpus` (taskset -a -p). */
function pinSelf(cpus: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "pipe" });
}

async function measure(tool: string, mm1: Buffer, seconds: number, cell: Cell): Promise<Record<string, string | number>> {
  const native = loadNative();
  const fds = native.udpSocketPair(4, ADDRESS, PORT, { bypass: false, reuseAddr: false });
  let read = 0;
  let port: BatchPort | undefined;
  let handle: ReturnType<typeof native.udpBatchOpen> | undefined;
  const buffers = new BatchBuffers();
  if (cell.reader === "native") {
    handle = native.udpBatchOpen([...fds], buffers.data, buffers.meta, buffers.slots, buffers.slotSize, (_sock, count) => {
      if (count > 0) read += count;
    });
  } else {
    const echo = cell.reader !== "batch";
    const p: BatchPort = new BatchPort(native, fds, buffers, {
      datagram: (msg, address, fromPort) => {
        read++;
        if (echo) p.queue.push(msg, fromPort, address);
      },
      unusable: () => undefined,
      error: () => undefined,
    }, LIMITS, () => undefined);
    port = p;
  }
  const removeSink = cell.reader === "echo-drop" ? sinkFloodReplies(RANDOM_PREFIX, [PORT]) : undefined;
  if (cell.pinned) pinSelf("1");
  try {
    const before = snmp();
    const cpu = process.cpuUsage();
    const flood = startTool(tool, ["send", ADDRESS, String(PORT), mm1.toString("hex"), String(seconds), "random", RANDOM_PREFIX], cell.pinned ? 0 : undefined);
    const f = kv(await flood.output);
    const used = process.cpuUsage(cpu);
    const after = snmp();
    const d = (k: string): number => (after[k]! - before[k]!) / f.seconds!;
    return {
      reader: cell.reader,
      cores: cell.pinned ? "flood 0, reader 1" : "unpinned",
      "flood pps": Math.round(f.sent! / f.seconds!),
      "read/s": Math.round(read / f.seconds!),
      "read share": (read / f.sent!).toFixed(3),
      "rcvbuf drops/s": Math.round(d("Udp.RcvbufErrors")),
      "icmp unreach/s": Math.round(d("Icmp.OutDestUnreachs")),
      "reader cpu %": (((used.user + used.system) / 1e6 / f.seconds!) * 100).toFixed(0),
      "cpu us/read": read > 0 ? ((used.user + used.system) / read).toFixed(2) : "-",
    };
  } finally {
    if (cell.pinned) pinSelf("0-1");
    removeSink?.();
    port?.close();
    if (handle !== undefined) native.udpBatchClose(handle);
  }
}

/** Every cell, or those of `readers`. */
export async function ceiling(seconds: number, readers: readonly Reader[]): Promise<void> {
  if (process.getuid?.() !== 0) return console.log("flood ceiling: skipped, raw sockets need root");
  const tool = buildTool();
  if (typeof tool !== "string") return console.log(`flood ceiling: skipped, ${tool.skip}`);
  const mm1 = await captureMm1(14, "flood-ceiling");
  console.log(`Flood: bench/flood/flood-tool.c, MM1 of ${mm1.length} bytes from ${RANDOM_PREFIX}, ${seconds} s per cell; reader: this process, ${ADDRESS}:${PORT}.`);
  const rows = [];
  for (const reader of readers) for (const pinned of [false, true]) rows.push(await measure(tool, mm1, seconds, { reader, pinned }));
  console.table(rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({ options: { seconds: { type: "string", default: "5" }, readers: { type: "string", default: "native,batch,echo-icmp,echo-drop" } } });
  await ceiling(Number(v.seconds), v.readers.split(",") as Reader[]);
}
