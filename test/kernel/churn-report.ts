/**
 * By-hand churn report for the in-memory SADB (not a test): a gateway's cycle, repeated N times —
 * ACQUIRE for a new flow, GETSPI, UPDATE (answering the ACQUIRE for every other flow; the rest never
 * get an answer, as when the peer is down), hard expiry on a manual clock — plus ADD/DELETE and
 * ADD/FLUSH lives. Prints V8 heap used after forced GC, the process's mappings and every internal
 * table size per 100,000 cycles.
 *
 *   node --expose-gc --openssl-legacy-provider dist/test/kernel/churn-report.js [cycles=400000]
 */
import { readFileSync } from "node:fs";
import { ManualClock } from "../helpers/manual-clock.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { espSa } from "./helpers.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run node with --expose-gc");

const cycles = Number(process.argv[2] ?? 400_000);
const clock = new ManualClock();
const kernel = new MemoryKernel({ clock });
const SRC = "192.0.2.1";
const DST = "192.0.2.2";
const lifetimes = { hard: { addSeconds: 60 }, soft: { addSeconds: 50 } };

function line(n: number): void {
  gc!();
  gc!();
  const heap = (process.memoryUsage().heapUsed / 1048576).toFixed(2);
  const maps = readFileSync("/proc/self/maps", "utf8").split("\n").length - 1;
  console.log(`${n}\theap ${heap} MB\tmaps ${maps}\t${JSON.stringify(kernel.debugSizes())}`);
}

await kernel.register("esp");
line(0);
for (let i = 1; i <= cycles; i++) {
  const dst = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const seq = kernel.acquire({ src: { address: SRC, port: 0 }, dst: { address: dst, port: 0 } }) ?? 0;
  const larval = await kernel.getSpi(SRC, DST, "esp", undefined, { reqid: (i % 50) + 1 });
  await kernel.update(espSa(larval.spi, { reqid: (i % 50) + 1, seq: i % 2 === 1 ? seq : 0, lifetimes }));
  await kernel.add(espSa(0x100, { reqid: 7 }));
  if (i % 10 === 0) await kernel.flush();
  else await kernel.delete(SRC, DST, "esp", 0x100);
  if (i % 100 === 0) clock.advance(61_000);
  if (i % 100_000 === 0) line(i);
}
await kernel.close();
