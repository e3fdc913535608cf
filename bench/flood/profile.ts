/**
 * Where our responder's time goes during a random MM1 flood (issue 11): starts in.iked as the
 * flood bench does (this tree, or `--tree DIR`'s build) under `node --cpu-prof`, floods it from
 * 127.64.0.0/16 with bench/flood/flood-tool.c for `--seconds` with no legitimate load, stops it and
 * prints the daemon's main-thread profile: the functions with the most self time, their share of
 * the samples, and the daemon's CPU time per datagram read over the flood. Needs root and cc; run
 * it in a private network namespace, under the bench lock:
 *
 *     /work/wt-tools/nsrun NAME node --openssl-legacy-provider dist/bench/flood/profile.js [--seconds 10] [--tree DIR] [--flood-replies drop|icmp] [--top 30]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { captureMm1, ourResponder } from "./responders.js";
import { buildTool, cpuMs, kv, sinkFloodReplies, startTool } from "./tool.js";

const OURS = { address: "127.0.7.43", port: 17430 };
const RANDOM_PREFIX = "127.64.0.0/16";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self samples per function of a .cpuprofile, most first. */
function selfTime(file: string): { name: string; share: number }[] {
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as { nodes: ProfileNode[] };
  const by = new Map<string, number>();
  let total = 0;
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const f = n.callFrame;
    const where = f.url === "" ? "" : ` ${f.url.replace(/^.*\/dist\//, "")}:${f.lineNumber + 1}`;
    const name = `${f.functionName || "(anonymous)"}${where}`;
    by.set(name, (by.get(name) ?? 0) + hits);
  }
  return [...by.entries()].map(([name, hits]) => ({ name, share: hits / total })).sort((a, b) => b.share - a.share);
}

export async function profileFlood(o: { seconds: number; tree?: string; replies: "drop" | "icmp"; top: number }): Promise<void> {
  const tool = buildTool();
  if (typeof tool !== "string") return console.log(`flood profile: skipped, ${tool.skip}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-flood-prof-"));
  const mm1 = await captureMm1(14, "flood-profile");
  const removeSink = o.replies === "drop" ? sinkFloodReplies(RANDOM_PREFIX, [OURS.port]) : undefined;
  try {
    const ours = await ourResponder({
      ...OURS, psk: "flood-profile", dh: 14, workers: 1, sources: "127.7.4.0/24", nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
      ...(o.tree !== undefined ? { tree: o.tree } : {}),
    });
    let read = 0;
    let cpu = 0;
    let main = 0;
    let sent = 0;
    try {
      const before = await ours.transportStats();
      const cpuBefore = cpuMs(ours.pid);
      const mainBefore = cpuMs(ours.pid, true);
      const flood = startTool(tool, ["send", OURS.address, String(OURS.port), mm1.toString("hex"), String(o.seconds), "random", RANDOM_PREFIX]);
      const f = kv(await flood.output);
      sent = f.sent! / f.seconds!;
      cpu = cpuMs(ours.pid) - cpuBefore;
      main = cpuMs(ours.pid, true) - mainBefore;
      read = (await ours.transportStats()).received! - before.received!;
    } finally {
      await ours.stop();
    }
    // The daemon's profile: the newest file (the launcher, which exited first, wrote one too).
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    if (files.length === 0) return console.log("flood profile: the daemon wrote no profile");
    console.log(`${o.tree ?? "this tree"}: flood ${Math.round(sent)} MM1/s for ${o.seconds} s, read ${Math.round(read / o.seconds)}/s, cpu us/read ${read > 0 ? ((cpu * 1000) / read).toFixed(1) : "-"} (main thread ${read > 0 ? ((main * 1000) / read).toFixed(1) : "-"}); profile ${files[0]}`);
    console.table(selfTime(files[0]!).slice(0, o.top).map((r) => ({ function: r.name, "self %": (r.share * 100).toFixed(1) })));
  } finally {
    removeSink?.();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({ options: { seconds: { type: "string", default: "10" }, tree: { type: "string" }, "flood-replies": { type: "string", default: "drop" }, top: { type: "string", default: "30" } } });
  await profileFlood({ seconds: Number(v.seconds), replies: v["flood-replies"] === "icmp" ? "icmp" : "drop", top: Number(v.top), ...(v.tree !== undefined ? { tree: path.resolve(v.tree) } : {}) });
}
