/**
 * Flood benchmark (issue 11): legitimate Main Mode handshakes per second against a responder with
 * no flood and during an MM1 flood at the highest rate one core can send, for our responder (the
 * real in.iked daemon, temporary --root, --kernel memory) and a strongSwan 5.9.8 responder in the
 * same run. Two floods: MM1s spoofed from the real peer's own addresses (the load generator's
 * sources, port 500), and MM1s from random addresses of 127.64.0.0/16. Prints per responder and
 * scenario: the flood's rate, legitimate handshakes/s, the ratio flood/no-flood, the real peer's
 * successes and failures, and for the random flood the bytes the responder sent to the flood's
 * addresses per byte they sent (counted on the wire; ours also from its own counters).
 *
 * The flood comes from bench/flood/flood-tool.c (compiled here with `cc -O2`: raw socket,
 * sendmmsg, one core), the legitimate load from ikeload's engine in this process (closed loop,
 * `--phase1-only`, PSK aes128/sha1, DH group 14 by default). Needs root, `cc` and the strongSwan
 * harness; run it in a private network namespace (`/work/wt-tools/nsrun NAME npm run bench -- flood`).
 * Not run in CI. The machine is shared: compare ratios measured in the same run, not rates across runs.
 *
 * `node --openssl-legacy-provider dist/bench/flood/flood.bench.js [--seconds S] [--dh G]
 * [--workers N] [--concurrency N] [--baseline-tree DIR [--baseline-first]] [--flood-replies drop|icmp]`
 * runs it standalone (`npm run bench -- flood` takes the same options);
 * `--baseline-tree` also measures the in.iked built in another checkout (DIR/dist), right after
 * this one's (before it with `--baseline-first`). For ours,
 * `read/s` and `sent/s` are the daemon's own transport counters over the cell (under a flood
 * nearly all MM1s read and MM2s sent), `cpu us/read` the daemon's CPU time (all threads, user and
 * system) over the cell per datagram read: what one MM1 costs it, whatever share of the shared
 * cores it got (all threads: the pool's DH for the legitimate handshakes too, so it rises with
 * them); `main us/read` the same for the main thread alone (reading, answering, sending).
 * Answers to the random flood's addresses are dropped at lo's ingress by an nft rule (as a real
 * interface sends them away, unanswered; tool.ts), or with `--flood-replies icmp` left to
 * loopback, which answers each with an ICMP port unreachable; `icmp unreach/s` counts those
 * (/proc/net/snmp).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InteropPeer, interopSkip } from "../../test/helpers/interop.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad, type LoadReport } from "../../src/load/runner.js";
import { captureMm1, ourResponder, type OurResponder } from "./responders.js";
import { buildTool, cpuMs, kv, sinkFloodReplies, snmp, startTool } from "./tool.js";

const PSK = "flood-bench-secret";
const SS = { address: "127.0.7.40", port: 17400, natt: 17401 };
const OURS = { address: "127.0.7.41", port: 17410 };
const SOURCE = "127.7.4.1";
const RANDOM_PREFIX = "127.64.0.0/16";

/** What one run of the bench is asked for. */
export interface FloodParams {
  readonly seconds: number;
  readonly dh: number;
  readonly workers: number;
  readonly concurrency: number;
  /** Another checkout whose build is measured too (`--baseline-tree`). */
  readonly baselineTree?: string;
  /** Measure the baseline tree before this one (`--baseline-first`), to see what the order does. */
  readonly baselineFirst?: boolean;
  /**
   * What becomes of the responders' answers to the random flood's spoofed addresses: `drop` (the
   * default) models a real interface, the sink rule of tool.ts dropping them at lo's ingress;
   * `icmp` leaves them to loopback, which delivers each to a port nobody listens on and answers it
   * with an ICMP port unreachable.
   */
  readonly floodReplies: "drop" | "icmp";
}

interface Target {
  readonly label: string;
  readonly endpoint: { address: string; port: number };
  readonly ours?: OurResponder;
}

interface Flood {
  readonly kind: "none" | "peer-address" | "random";
  readonly sent?: number;
  readonly bytes?: number;
  readonly seconds?: number;
  readonly answered?: { packets: number; bytes: number };
}

function loadOptions(p: FloodParams, target: { address: string; port: number }) {
  const a = parseLoadArgs([
    "--target", `${target.address}:${target.port}`,
    "--source", SOURCE,
    "--concurrency", String(p.concurrency),
    "--duration", String(p.seconds),
    "--psk", PSK,
    "--cipher", "aes128",
    "--hash", "sha1",
    "--dh", String(p.dh),
    "--workers", "1",
    "--phase1-only",
    "--expire", "15",
  ]);
  if (!a.ok || a.help) throw new Error(`bench options: ${JSON.stringify(a)}`);
  return a.value;
}

/** The generator's source addresses (ikeload: one per negotiation in flight). */
function sources(p: FloodParams): string[] {
  return Array.from({ length: p.concurrency }, (_, i) => `127.7.4.${1 + i}`);
}

/** One legitimate load run against `t`, with `kind` of flood going on meanwhile. */
async function measure(p: FloodParams, tool: string, t: Target, mm1: Buffer, kind: Flood["kind"]): Promise<{ report: LoadReport; flood: Flood; ours?: Record<string, number>; io?: { read: number; sent: number; cpuUsPerRead: number; mainUsPerRead: number }; icmp: number }> {
  const before = t.ours !== undefined ? await t.ours.engineStats() : undefined;
  const ioBefore = t.ours !== undefined ? await t.ours.transportStats() : undefined;
  const cpuBefore = t.ours !== undefined ? cpuMs(t.ours.pid) : 0;
  const mainBefore = t.ours !== undefined ? cpuMs(t.ours.pid, true) : 0;
  const icmpBefore = snmp()["Icmp.OutDestUnreachs"]!;
  // The cell lasts longer than --seconds (the load waits for its negotiations in flight; the
  // counters are read after the flood stops): rates are over the time actually measured.
  const startedAt = performance.now();
  const io = async (): Promise<{ read: number; sent: number; cpuUsPerRead: number; mainUsPerRead: number } | undefined> => {
    if (t.ours === undefined || ioBefore === undefined) return undefined;
    const after = await t.ours.transportStats();
    const read = after.received! - ioBefore.received!;
    const cpuUsPerRead = read > 0 ? ((cpuMs(t.ours.pid) - cpuBefore) * 1000) / read : 0;
    const mainUsPerRead = read > 0 ? ((cpuMs(t.ours.pid, true) - mainBefore) * 1000) / read : 0;
    const seconds = (performance.now() - startedAt) / 1000;
    return { read: read / seconds, sent: (after.sent! - ioBefore.sent!) / seconds, cpuUsPerRead, mainUsPerRead };
  };
  if (kind === "none") {
    const r = await runLoad(loadOptions(p, t.endpoint));
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    const rates = await io();
    return { report: r.value, flood: { kind }, ...(rates !== undefined ? { io: rates } : {}), icmp: (snmp()["Icmp.OutDestUnreachs"]! - icmpBefore) / ((performance.now() - startedAt) / 1000) };
  }
  const srcArgs = kind === "random" ? ["random", RANDOM_PREFIX] : ["list", sources(p).join(",")];
  const counter = kind === "random" ? startTool(tool, ["count", t.endpoint.address, String(t.endpoint.port), RANDOM_PREFIX, String(p.seconds + 60)]) : undefined;
  const flooder = startTool(tool, ["send", t.endpoint.address, String(t.endpoint.port), mm1.toString("hex"), String(p.seconds + 60), ...srcArgs]);
  try {
    const r = await runLoad(loadOptions(p, t.endpoint));
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    flooder.child.kill("SIGTERM");
    const f = kv(await flooder.output);
    // Answers still in flight when the flood stops are counted too.
    await new Promise((res) => setTimeout(res, 500));
    counter?.child.kill("SIGTERM");
    const c = counter !== undefined ? kv(await counter.output) : undefined;
    const after = t.ours !== undefined ? await t.ours.engineStats() : undefined;
    const ours = before !== undefined && after !== undefined ? Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)])) : undefined;
    const rates = await io();
    return {
      ...(rates !== undefined ? { io: rates } : {}),
      icmp: (snmp()["Icmp.OutDestUnreachs"]! - icmpBefore) / ((performance.now() - startedAt) / 1000),
      report: r.value,
      flood: { kind, sent: f.sent!, bytes: f.bytes!, seconds: f.seconds!, ...(c !== undefined ? { answered: { packets: c.packets!, bytes: c.bytes! } } : {}) },
      ...(ours !== undefined ? { ours } : {}),
    };
  } finally {
    if (flooder.child.exitCode === null) flooder.child.kill("SIGKILL");
    if (counter !== undefined && counter.child.exitCode === null) counter.child.kill("SIGKILL");
  }
}

/** Run the comparison and print its table. */
export async function floodBench(p: FloodParams): Promise<void> {
  const skip = interopSkip();
  if (skip !== false) return console.log(`flood: skipped, strongSwan harness unavailable: ${skip}`);
  if (process.getuid?.() !== 0) return console.log("flood: skipped, raw sockets need root");
  const tool = buildTool();
  if (typeof tool !== "string") return console.log(`flood: skipped, ${tool.skip}`);
  const mm1 = await captureMm1(p.dh, PSK);
  console.log(
    `Legitimate load: ikeload in this process, Main Mode only (PSK aes128/sha1/MODP group ${p.dh}), closed loop, concurrency ${p.concurrency}, ` +
      `${p.seconds} s per cell, sources ${SOURCE}.. port 500, retransmissions 0.5 s doubling, 3 tries. Flood: bench/flood/flood-tool.c, one process, ` +
      `MM1 of ${mm1.length} bytes with fresh cookies, from the generator's own addresses (port 500) or from ${RANDOM_PREFIX}. ` +
      `Ours: in.iked --kernel memory --workers ${p.workers}. strongSwan 5.9.8: remote %any, default thresholds. ` +
      (p.floodReplies === "drop"
        ? `Answers to ${RANDOM_PREFIX} dropped at lo's ingress (nft, as a real interface sends them away).`
        : `Answers to ${RANDOM_PREFIX} delivered by loopback and answered with ICMP port unreachable (--flood-replies icmp).`),
  );
  let removeSink: (() => void) | undefined;
  if (p.floodReplies === "drop") {
    try {
      removeSink = sinkFloodReplies(RANDOM_PREFIX, [SS.port, SS.natt, OURS.port, OURS.port + 1]);
    } catch (err) {
      throw new Error(`flood: cannot install the nft rule that drops answers to ${RANDOM_PREFIX} (${(err as Error).message.split("\n")[0]}); --flood-replies icmp runs without it`);
    }
  }
  try {
    await compare(p, tool, mm1);
  } finally {
    removeSink?.();
  }
}

async function compare(p: FloodParams, tool: string, mm1: Buffer): Promise<void> {
  const peer = await InteropPeer.startStrongSwan({
    name: "perf-flood", role: "responder", local: SS.address, remote: "%any", localPort: SS.port, nattPort: SS.natt, remotePort: 500,
    psk: PSK, cipher: "aes128", hash: "sha1", dh: p.dh, unique: "no", fragmentation: "no", esp: "aes128-sha1", espMode: "transport",
    retransmitTries: 3, retransmitTimeout: 2, logLevel: 0,
  });
  const rows: Record<string, string | number>[] = [];
  try {
    const baseline = p.baselineTree !== undefined ? [{ label: "ours, baseline tree", endpoint: OURS, ours: true, tree: p.baselineTree }] : [];
    const targets: { label: string; endpoint: { address: string; port: number }; ours: boolean; tree?: string }[] = [
      { label: "strongSwan 5.9.8", endpoint: SS, ours: false },
      ...(p.baselineFirst === true ? baseline : []),
      { label: "ours (in.iked)", endpoint: OURS, ours: true },
      ...(p.baselineFirst === true ? [] : baseline),
    ];
    for (const spec of targets) {
      // Our responders one at a time on the same address: each starts fresh for its cells.
      const ours = !spec.ours ? undefined
        : await ourResponder({ ...OURS, psk: PSK, dh: p.dh, workers: p.workers, sources: "127.7.4.0/24", ...(spec.tree !== undefined ? { tree: spec.tree } : {}) });
      const t: Target = { label: spec.label, endpoint: spec.endpoint, ...(ours !== undefined ? { ours } : {}) };
      try {
        await runLoad({ ...loadOptions(p, t.endpoint), durationMs: undefined, count: 16 });
        let base = 0;
        for (const kind of ["none", "peer-address", "random"] as const) {
          const m = await measure(p, tool, t, mm1, kind);
          const rate = m.report.establishedPerSec;
          if (kind === "none") base = rate;
          const f = m.flood;
          const outIn = f.answered !== undefined && f.bytes ? (f.answered.bytes / f.bytes).toFixed(3) : "-";
          const own = m.ours !== undefined && kind === "random" && m.ours.unverifiedBytesIn! > 0 ? (m.ours.unverifiedBytesOut! / m.ours.unverifiedBytesIn!).toFixed(3) : "-";
          rows.push({
            responder: t.label,
            flood: kind,
            "flood pps": f.sent !== undefined ? Math.round(f.sent / f.seconds!) : 0,
            "legit/s": rate.toFixed(1),
            "flood/no-flood": kind === "none" ? "1.00 (baseline)" : base > 0 ? (rate / base).toFixed(2) : "n/a",
            "peer ok": m.report.established,
            "peer failed": m.report.failed,
            "out/in bytes to flood (wire)": outIn,
            "out/in (own counters)": own,
            "read/s": m.io !== undefined ? Math.round(m.io.read) : "-",
            "sent/s": m.io !== undefined ? Math.round(m.io.sent) : "-",
          "cpu us/read": m.io !== undefined && kind !== "none" ? m.io.cpuUsPerRead.toFixed(1) : "-",
          "main us/read": m.io !== undefined && kind !== "none" ? m.io.mainUsPerRead.toFixed(1) : "-",
          "icmp unreach/s": Math.round(m.icmp),
          });
        }
      } finally {
        await ours?.stop();
      }
    }
  } finally {
    await peer.stop({ kill: true, purge: true });
  }
  console.table(rows);
}

/** Parse the bench's options (`npm run bench -- flood --baseline-tree DIR ...`). */
export function floodParams(args: readonly string[]): FloodParams {
  const { values: v } = parseArgs({
    args: [...args],
    options: {
      seconds: { type: "string", default: "10" },
      dh: { type: "string", default: "14" },
      workers: { type: "string", default: "1" },
      concurrency: { type: "string", default: "16" },
      "baseline-tree": { type: "string" },
      "baseline-first": { type: "boolean", default: false },
      "flood-replies": { type: "string", default: "drop" },
    },
  });
  const replies = v["flood-replies"];
  if (replies !== "drop" && replies !== "icmp") throw new Error(`flood: --flood-replies must be drop or icmp, not ${replies}`);
  return {
    seconds: Number(v.seconds), dh: Number(v.dh), workers: Number(v.workers), concurrency: Number(v.concurrency), floodReplies: replies,
    ...(v["baseline-tree"] !== undefined ? { baselineTree: path.resolve(v["baseline-tree"]), baselineFirst: v["baseline-first"] } : {}),
  };
}

/** `npm run bench -- flood [options]`. */
export default async function (args: readonly string[] = []): Promise<void> {
  await floodBench(floodParams(args));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await floodBench(floodParams(process.argv.slice(2)));
}
