/**
 * What it would cost the main thread to only move datagrams, with the IKE engine in worker threads
 * (shards keyed by the initiator cookie): the smallest structural change that could bring the main
 * thread's share of a negotiation under issue 14's 0.4 ms. Not a design of that change: a
 * measurement of its floor.
 *
 * A client (a worker thread with its own event loop) keeps 16 datagrams of 300 bytes in flight to a
 * UDP socket served by the main thread, which answers each one either
 *   - "inline": straight back from the main thread (receive + send: the syscalls every design pays),
 *   - "via shard": after a round trip through a shard worker (the main thread reads the cookie,
 *     posts the datagram's bytes to the shard by transfer, the shard posts a reply back, the main
 *     thread sends it).
 * It prints the main thread's CPU per datagram (user + system, /proc/self/task/PID/stat, 10 ms
 * ticks) for each, measured in the same run, and the ratio to "inline". A Main Mode + Quick Mode
 * negotiation with a Delete is about 10 datagrams at the responder (6 in, 4 out).
 *
 * `npm run bench -- datagram-handoff [--count N]`, inside a network namespace of your own (binds
 * 127.0.7.51:17510); not run in CI.
 */
import dgram from "node:dgram";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

const ADDRESS = "127.0.7.51";
const PORT = 17510;
const IN_FLIGHT = 16;

const CLIENT = `
const dgram = require("node:dgram");
const { parentPort, workerData } = require("node:worker_threads");
const s = dgram.createSocket("udp4");
const payload = Buffer.alloc(300, 7);
let sent = 0, answered = 0;
const next = () => { if (sent < workerData.count) { payload.writeUInt32BE(sent++, 0); s.send(payload, workerData.port, workerData.address); } };
s.on("message", () => { answered++; if (answered === workerData.count) { s.close(); parentPort.postMessage("done"); } else next(); });
s.bind(0, workerData.address, () => { for (let i = 0; i < workerData.inFlight; i++) next(); });
`;

const SHARD = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => { const b = new Uint8Array(m.bytes); b[1] ^= 1; parentPort.postMessage({ to: m.to, bytes: m.bytes }, [m.bytes]); });
`;

/** CPU seconds the main thread has used (user + system). */
function mainThreadSecs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function measure(mode: "inline" | "via shard", count: number): Promise<number> {
  const server = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => server.bind(PORT, ADDRESS, resolve));
  const shards = mode === "via shard" ? [new Worker(SHARD, { eval: true }), new Worker(SHARD, { eval: true })] : [];
  const peers = new Map<number, dgram.RemoteInfo>();
  let nextId = 0;
  for (const w of shards) {
    w.on("message", (m: { to: number; bytes: ArrayBuffer }) => {
      const r = peers.get(m.to)!;
      peers.delete(m.to);
      server.send(new Uint8Array(m.bytes), r.port, r.address);
    });
  }
  server.on("message", (msg, rinfo) => {
    if (shards.length === 0) {
      server.send(msg, rinfo.port, rinfo.address);
      return;
    }
    const id = nextId++;
    peers.set(id, rinfo);
    const bytes = msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.length);
    shards[msg[0]! & 1]!.postMessage({ to: id, bytes }, [bytes]);
  });
  const client = new Worker(CLIENT, { eval: true, workerData: { address: ADDRESS, port: PORT, count, inFlight: IN_FLIGHT } });
  const before = mainThreadSecs();
  await once(client, "message");
  const secs = mainThreadSecs() - before;
  await client.terminate();
  for (const w of shards) await w.terminate();
  server.close();
  return (secs * 1e6) / count;
}

export default async function run(args: readonly string[] = []): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: { count: { type: "string", default: "40000" }, rounds: { type: "string", default: "3" } } });
  const count = Number(values.count);
  const results: Record<string, number[]> = { inline: [], "via shard": [] };
  await measure("inline", 2000);
  await measure("via shard", 2000);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const mode of r % 2 === 0 ? (["inline", "via shard"] as const) : (["via shard", "inline"] as const)) results[mode]!.push(await measure(mode, count));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.inline!);
  console.table(Object.entries(results).map(([mode, xs]) => ({
    mode,
    "main-thread us/datagram (median)": median(xs).toFixed(1),
    rounds: xs.map((x) => x.toFixed(1)).join(", "),
    "vs inline": (median(xs) / base).toFixed(2),
    "ms per negotiation (10 datagrams)": ((median(xs) * 10) / 1000).toFixed(3),
  })));
}

if (process.argv[1]?.endsWith("datagram-handoff.bench.js")) await run(process.argv.slice(2));
