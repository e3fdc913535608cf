/**
 * Measures why the in-memory SADB keeps SA deadlines in one min-heap: arming two lifetimes (soft,
 * hard) for N SAs with one `setTimeout` each, against pushing them into `TimerHeap` with a single
 * armed timer. Run by hand (not a test):
 *
 *   node --openssl-legacy-provider dist/test/kernel/measure-timers.js [N]
 */
import { TimerHeap } from "../../src/kernel/timer-heap.js";
import { MemoryKernel } from "../../src/kernel/memory.js";

const N = Number(process.argv[2] ?? 100_000);

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function measure(name: string, run: () => () => void): { name: string; ms: number; mb: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const cleanup = run();
  const ms = performance.now() - t0;
  gc();
  const mb = (process.memoryUsage().heapUsed - before) / 1048576;
  cleanup();
  return { name, ms, mb };
}

const perSa = measure(`setTimeout per deadline (${2 * N} timers)`, () => {
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < N; i++) {
    const soft = setTimeout(() => undefined, 3_000_000 + i);
    const hard = setTimeout(() => undefined, 3_600_000 + i);
    soft.unref();
    hard.unref();
    timers.push(soft, hard);
  }
  return () => timers.forEach(clearTimeout);
});

const heap = measure(`TimerHeap (${2 * N} entries, 1 timer)`, () => {
  const h = new TimerHeap<object>();
  const owner = {};
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    h.push({ at: now + 3_000_000 + i, owner, gen: 0, kind: 1 });
    h.push({ at: now + 3_600_000 + i, owner, gen: 0, kind: 2 });
  }
  const t = setTimeout(() => undefined, 3_000_000);
  t.unref();
  return () => {
    clearTimeout(t);
    h.clear();
  };
});

const kernel = new MemoryKernel();
const encKey = Buffer.alloc(16, 1);
const authKey = Buffer.alloc(20, 2);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  await kernel.add({ src: "10.0.0.1", dst: `10.1.${(i >> 8) & 0xff}.${i & 0xff}`, proto: "esp", spi: 0x1000 + i, mode: "tunnel", encAlg: 12, encKey, authAlg: 3, authKey, lifetimes: { soft: { addSeconds: 3000 }, hard: { addSeconds: 3600 } } });
}
const addMs = performance.now() - t0;
await kernel.close();

console.log(`N = ${N} SAs`);
console.table(
  [perSa, heap].map((r) => ({
    method: r.name,
    "total ms": r.ms.toFixed(1),
    "µs per SA": ((r.ms * 1000) / N).toFixed(2),
    "heap MiB": r.mb.toFixed(1),
    "time vs per-SA timers": (r.ms / perSa.ms).toFixed(2),
  })),
);
console.log(`MemoryKernel.add with both lifetimes: ${((addMs * 1000) / N).toFixed(2)} µs per SA (${addMs.toFixed(0)} ms total)`);
