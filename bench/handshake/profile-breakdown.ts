/**
 * Where a thread's busy time goes, from V8 `.cpuprofile` files (`node --cpu-prof`): each sample's
 * time is charged to one category, found by walking its stack from the leaf up to the first frame
 * that decides (our source file, a package, or a Node internal module), and reported as a share of
 * the busy samples (idle excluded) and, given the negotiations the run did, as ms per negotiation.
 *
 *   node dist/bench/handshake/profile-breakdown.js --negotiations 800 [--scale-ms M] [--top 25] FILE...
 *
 * `--scale-ms M` spreads a main-thread CPU figure measured without the profiler (M ms per
 * negotiation, from the bench's /proc columns) over the shares instead of the profile's own busy
 * time, which includes time the thread was runnable but preempted (the profiler samples wall
 * time; on a loaded machine that inflates syscalls that wake another process, such as sendmsg).
 * Run the profiled process under `nice -n -10` to keep that small. Samples before the first one
 * in the IKE engine (src/ike) are left out: start-up (module loading, configuration) is not
 * per-negotiation work.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * Our files and packages: tried against each frame from the leaf up, the first match decides, so
 * Node internals (a Buffer allocation, an HMAC binding, `sendmsg`) are charged to the code of
 * ours that called them.
 */
const OURS: readonly [string, RegExp][] = [
  ["logging (src/log, pino)", /\/src\/log\/|\/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free|atomic-sleep|safe-stable-stringify)\//],
  ["piscina dispatch (pool.ts, piscina, msgpackr)", /\/src\/crypto\/(pool|tasks)\.js|\/node_modules\/(piscina|msgpackr|@piscina)\/|\/workers\//],
  ["metrics (prom-client)", /\/src\/metrics\/|\/node_modules\/prom-client\//],
  ["secure memory (sodium, slab)", /\/src\/crypto\/(secure|secure-slab|unpooled-copy)\.js|\/node_modules\/sodium-native\/|\/src\/kernel\/secure-keys\.js/],
  ["Diffie-Hellman (dh.ts)", /\/src\/crypto\/dh\.js/],
  ["key derivation (kdf.ts)", /\/src\/crypto\/kdf\.js/],
  ["cipher (cipher.ts, IV chain)", /\/src\/crypto\/(cipher|iv-chain|des-keys)\.js/],
  ["HMAC/PRF/hash (prf.ts)", /\/src\/crypto\/prf\.js/],
  ["key holder (keymat.ts)", /\/src\/crypto\/keymat\.js/],
  ["crypto other (src/crypto)", /\/src\/crypto\//],
  ["codec (src/codec)", /\/src\/codec\//],
  ["kernel (memory SADB)", /\/src\/kernel\//],
  ["UDP (src/net, dgram)", /\/src\/net\/|^node:dgram$|internal\/dgram/],
  ["engine: Phase 1 (handler, tasks)", /\/src\/ike\/(phase1-handler|phase1\/)/],
  ["engine: Quick Mode, IPsec SAs", /\/src\/ike\/(quick-handler|phase2\/|ipsec-sas)/],
  ["engine: Informational, Delete", /\/src\/ike\/(info-handler|informational|delete)\.js/],
  ["engine: dispatch, SA table, I/O", /\/src\/ike\//],
  ["policy/config", /\/src\/(policy|config|pki)\//],
  ["daemon wiring", /\/src\/daemon\//],
  ["load generator (src/load)", /\/src\/load\//],
];

/** Node internals with no frame of ours above them: the event loop's own machinery. */
const NODE: readonly [string, RegExp][] = [
  ["UDP receive (dgram)", /^node:dgram$|internal\/dgram/],
  ["timers (node)", /internal\/timers|^node:timers$/],
  ["promises, microtasks, events (node)", /internal\/process\/task_queues|internal\/process\/promises|^node:events$|internal\/event_target|internal\/abort_controller|internal\/async_hooks/],
  ["crypto bindings (node:crypto)", /internal\/crypto\//],
  ["buffers (node:buffer)", /^node:buffer$|internal\/buffer/],
];

function categoryOf(stack: readonly CallFrame[]): string {
  const leaf = stack[0]!;
  if (leaf.functionName === "(garbage collector)") return "GC (main thread)";
  if (leaf.functionName === "(program)") return "V8/native, no JS frame (program)";
  for (const rules of [OURS, NODE]) {
    for (const frame of stack) {
      for (const [name, re] of rules) if (re.test(frame.url)) return name;
    }
  }
  return leaf.url === "" ? `native: ${leaf.functionName || "(anonymous)"}` : "node internals, other";
}

/** Self time by category and by function, in microseconds, idle excluded. */
export function breakdown(p: Profile): { busyUs: number; byCategory: Map<string, number>; byFunction: Map<string, number> } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stackCache = new Map<number, CallFrame[]>();
  const stackOf = (id: number): CallFrame[] => {
    let s = stackCache.get(id);
    if (s === undefined) {
      s = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) s.push(byId.get(at)!.callFrame);
      stackCache.set(id, s);
    }
    return s;
  };
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  const first = p.samples.findIndex((id) => stackOf(id).some((f) => f.url.includes("/src/ike/")));
  p.samples.forEach((id, i) => {
    if (i < first) return;
    const dt = p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0;
    const stack = stackOf(id);
    const leaf = stack[0]!;
    // A Piscina worker waits for work in Atomics.wait (atomicsWaitLoop): idle, though V8 sees JS.
    if (leaf.functionName === "(idle)" || leaf.functionName === "(root)" || leaf.functionName === "atomicsWaitLoop") return;
    busyUs += dt;
    const cat = categoryOf(stack);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + dt);
    const fn = `${leaf.functionName || "(anonymous)"} ${leaf.url.replace(/^.*\/(src|node_modules|workers)\//, "$1/")}:${leaf.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
  });
  return { busyUs, byCategory, byFunction };
}

function main(): void {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: { negotiations: { type: "string" }, "scale-ms": { type: "string" }, top: { type: "string", default: "25" } },
  });
  const n = Number(v.negotiations ?? Number.NaN);
  for (const file of positionals) {
    const r = breakdown(JSON.parse(readFileSync(file, "utf8")) as Profile);
    const perNeg = v["scale-ms"] !== undefined ? Number(v["scale-ms"]) : r.busyUs / 1000 / n;
    console.log(`\n${file}: busy ${(r.busyUs / 1000).toFixed(0)} ms${Number.isFinite(n) ? `, ${((r.busyUs / 1000) / n).toFixed(3)} ms per negotiation in the profile` : ""}`);
    const rows = [...r.byCategory.entries()].sort((a, b) => b[1] - a[1]).map(([category, us]) => ({
      category,
      share: `${((100 * us) / r.busyUs).toFixed(1)}%`,
      "ms/negotiation": Number.isFinite(perNeg) ? ((perNeg * us) / r.busyUs).toFixed(3) : "-",
    }));
    console.table(rows);
    const top = [...r.byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(v.top));
    console.table(top.map(([fn, us]) => ({ function: fn, share: `${((100 * us) / r.busyUs).toFixed(1)}%` })));
  }
}

if (process.argv[1]?.endsWith("profile-breakdown.js")) main();
