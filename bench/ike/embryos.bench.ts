/**
 * Memory of the embryonic Main Mode table (src/ike/embryos.ts): the engine answers N MM1s (fresh
 * initiator cookies, one address each) through its real path, with a table big enough to hold them
 * all, and the heap plus external memory it then holds is divided by N (after a full GC, before and
 * after). Two MM1 sizes: one transform (84 bytes, what ikeload sends) and twelve transforms
 * (~400 bytes, like strongSwan's default proposal). Also the time per MM1 answered, as a ratio
 * against decoding the MM1's header alone, measured in the same run.
 */
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { decodeHeader } from "../../src/codec/index.js";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { configPolicy } from "../../src/ike/ports.js";
import type { Transport } from "../../src/ike/transport.js";
import { inlineDh } from "../../test/helpers/dh.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const GROUPS = [14, 2, 5];
const HASHES = ["sha1", "sha256"];
const CIPHERS = ["aes(128..128)", "aes(256..256)"];

function policy(transforms: number) {
  const xforms: string[] = [];
  for (const g of GROUPS) for (const h of HASHES) for (const c of CIPHERS) xforms.push(`p1_xform { auth_method preshared oakley_group ${g} auth_alg ${h} encr_alg ${c} }`);
  const cfg = parseIkeConfig(`{\n label "e"\n local_addr 10.0.0.2\n remote_addr 10.0.0.0/8\n ${xforms.slice(0, transforms).join("\n ")}\n}\n`, "e");
  const keys = parsePreshared(`{ localidtype ip localid 10.0.0.2 remoteidtype ip remoteid 10.0.0.0/8 key "k" }\n`, "e");
  if (!cfg.ok || !keys.ok) throw new Error("embryos bench configuration");
  return configPolicy(() => ({ config: cfg.value, preshared: keys.value }));
}

/** An MM1 with `transforms` transforms, built by an initiator engine and never sent. */
async function mm1Of(transforms: number): Promise<Buffer> {
  let out: Buffer | undefined;
  const t: Transport = { send: (d) => ((out ??= Buffer.from(d)), true), onDatagram: () => undefined };
  const p = policy(transforms);
  const e = new IkeEngine({ transport: t, dh: inlineDh, policy: p });
  e.initiate(p.ruleByLabel("e")!, { address: "10.0.0.1", port: 500 }, { address: "10.0.0.2", port: 500 });
  for (let i = 0; i < 20 && out === undefined; i++) await new Promise((r) => setImmediate(r));
  e.close();
  return out!;
}

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function measure(transforms: number, n: number): Promise<Record<string, string | number>> {
  const mm1 = await mm1Of(transforms);
  const sink: Transport = { send: () => true, onDatagram: () => undefined };
  const engine = new IkeEngine({ transport: sink, dh: inlineDh, policy: policy(transforms), embryos: { capacity: n, lifetimeMs: 3_600_000, bytes: Infinity } });
  const local = { address: "10.0.0.2", port: 500 };
  const copies = Array.from({ length: n }, (_, i) => {
    const d = Buffer.from(mm1);
    d.writeUInt32BE(i + 1, 0);
    return d;
  });
  const remotes = Array.from({ length: n }, (_, i) => ({ address: `10.${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`, port: 500 }));
  const before = used();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) engine.receive(copies[i]!, local, remotes[i]!);
  const answerUs = ((performance.now() - t0) * 1000) / n;
  const after = used();
  const held = engine.debugSizes().embryos!;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) decodeHeader(copies[i]!);
  const headerUs = ((performance.now() - t1) * 1000) / n;
  engine.close();
  return {
    "MM1 transforms": transforms,
    "MM1 bytes": mm1.length,
    entries: held,
    "bytes per entry": Math.round((after - before) / held),
    "us per MM1 answered": answerUs.toFixed(2),
    "x header decode": (answerUs / headerUs).toFixed(1),
  };
}

/** `npm run bench -- embryos`. */
export default async function (): Promise<void> {
  const rows = [await measure(1, 50_000), await measure(12, 50_000)];
  console.log("Embryonic table: memory held per answered MM1 (heap + external after full GCs), and the cost of answering one (the remote endpoints and MM1 copies are made before measuring).");
  console.table(rows);
}
