/**
 * Why the in-memory SADB keeps SA lifetimes in one min-heap (src/kernel/deadlines.ts) with a single
 * armed clock timer: arming the soft and hard deadline of N SAs as 2N `setTimeout`s (the baseline)
 * against setting N SAs into `TimerHeap` (one slot per SA, at its earliest deadline) and arming one timer; plus what a whole
 * `MemoryKernel.add` with both lifetimes costs per SA. Each task arms N SAs and clears them again,
 * so every sample starts from an empty state.
 */
import { Bench } from "tinybench";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { TimerHeap } from "../../src/timer-heap.js";

/** SAs per sample: enough that per-timer costs dominate fixed ones. */
const N = 10_000;

function perSaTimers(): void {
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < N; i++) {
    const soft = setTimeout(() => undefined, 3_000_000 + i);
    const hard = setTimeout(() => undefined, 3_600_000 + i);
    soft.unref();
    hard.unref();
    timers.push(soft, hard);
  }
  for (const t of timers) clearTimeout(t);
}

const owners = Array.from({ length: N }, () => ({ dueAt: Infinity, heapIndex: -1 }));

function heapOneTimer(): void {
  const h = new TimerHeap<(typeof owners)[number]>();
  const now = Date.now();
  for (let i = 0; i < N; i++) h.set(owners[i]!, now + 3_000_000 + ((i * 7919) % N));
  const t = setTimeout(() => undefined, 3_000_000);
  t.unref();
  clearTimeout(t);
  h.clear();
}

const encKey = Buffer.alloc(16, 1);
const authKey = Buffer.alloc(20, 2);

async function kernelAdds(): Promise<void> {
  const kernel = new MemoryKernel();
  for (let i = 0; i < N; i++) {
    await kernel.add({
      src: "10.0.0.1", dst: `10.1.${(i >> 8) & 0xff}.${i & 0xff}`, proto: "esp", spi: 0x1000 + i, mode: "tunnel",
      encAlg: 12, encKey, authAlg: 3, authKey, lifetimes: { soft: { addSeconds: 3000 }, hard: { addSeconds: 3600 } },
    });
  }
  await kernel.close();
}

export default async function (): Promise<void> {
  const bench = new Bench({ time: 1500, warmup: true });
  bench
    .add(`baseline: setTimeout per deadline (${2 * N} timers)`, perSaTimers)
    .add(`TimerHeap (${N} SAs, 1 timer)`, heapOneTimer)
    .add(`MemoryKernel.add x${N} with soft+hard lifetimes`, kernelAdds);
  await bench.run();
  // Medians: on a shared machine a preempted sample inflates the mean.
  const medianMs = (i: number): number => (bench.tasks[i]?.result as { latency?: { p50: number } } | undefined)?.latency?.p50 ?? 0;
  const base = medianMs(0);
  console.table(bench.tasks.map((t, i) => {
    const ms = medianMs(i);
    return { task: t.name, "p50 ms": ms.toFixed(2), "µs per SA": ((ms * 1000) / N).toFixed(3), "time vs baseline": base > 0 ? (ms / base).toFixed(2) : "-" };
  }));
}
