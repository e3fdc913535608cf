/**
 * What the in-memory SADB (`--kernel memory`) itself holds per established IPsec SA pair, apart
 * from the rest of in.iked: the share of bench/handshake/memory.ts's per-pair figure that a kernel
 * backend (XFRM, PF_KEY) would hold outside the daemon. Measurement only (not run in CI).
 *
 * Each pair is installed as in.iked's responder installs one (src/ike/phase2/install.ts): GETSPI
 * then UPDATE for the inbound SA, ADD for the outbound one; ESP transport, AES-128-CBC +
 * HMAC-SHA1, the daemon's reqid, replay window 32, pair SPI, label, soft/hard add lifetimes of
 * 2700/3000 s. JS heap used (after full GCs) and secure memory in use, per pair, between `--from`
 * and `--to` pairs. `--tree DIR`: measure another built tree's SADB (a baseline) in the same run.
 *
 *   node --expose-gc --openssl-legacy-provider dist/bench/kernel/sadb-memory.js [--from 2000]
 *     [--to 20000] [--tree DIR]
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import type { MemoryKernel as MemoryKernelType } from "../../src/kernel/memory.js";

const { values: v } = parseArgs({ options: { from: { type: "string" }, to: { type: "string" }, tree: { type: "string" } } });
const from = Number(v.from ?? 2000);
const to = Number(v.to ?? 20000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

async function measure(tree: string | undefined): Promise<void> {
  const file = tree === undefined ? new URL("../../src/kernel/memory.js", import.meta.url) : pathToFileURL(path.resolve(tree, "dist/src/kernel/memory.js"));
  const { MemoryKernel } = (await import(file.href)) as { MemoryKernel: typeof MemoryKernelType };
  const kernel = new MemoryKernel();
  const local = "127.0.7.31";
  const encKey = Buffer.alloc(16, 0xa5);
  const authKey = Buffer.alloc(20, 0x5a);
  const lifetimes = { hard: { addSeconds: 3000 }, soft: { addSeconds: 2700 } };
  let n = 0;
  const addPairs = async (upTo: number): Promise<void> => {
    for (; n < upTo; n++) {
      const remote = `127.${7 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
      const common = { mode: "transport" as const, reqid: 1, replayWindow: 32, encAlg: EncAlg.AesCbc, encKey, authAlg: AuthAlg.HmacSha1, authKey, lifetimes, label: "memory" };
      const larval = await kernel.getSpi(remote, local, "esp", undefined, { mode: "transport", reqid: 1 });
      const outSpi = 0x10000 + n;
      await kernel.update({ ...common, src: remote, dst: local, proto: "esp", spi: larval.spi, pairSpi: outSpi });
      await kernel.add({ ...common, src: local, dst: remote, proto: "esp", spi: outSpi, pairSpi: larval.spi });
    }
  };
  await addPairs(from);
  const h0 = heapUsed();
  await addPairs(to);
  const h1 = heapUsed();
  const sizes = kernel.debugSizes();
  console.log(`${tree ?? "this tree"}: ${((h1 - h0) / (to - from)).toFixed(0)} bytes of JS heap per pair (${from} -> ${to} pairs); deadline heap ${sizes.deadlines} entries for ${sizes.sas} SAs`);
  await kernel.close();
}

if (v.tree !== undefined) await measure(v.tree);
await measure(undefined);
