/**
 * The crypto pool against calling OpenSSL directly on the main thread.
 *
 * Saturation: each iteration starts N operations at once and waits for all; the time per operation
 * is the iteration time / N. Rows: "direct" (dh.ts / pubkey.ts called in a loop: the baseline, ratio
 * 1.00), the pool inline (threads 0: the queue without threads), and pools of 1 and 2 worker threads.
 * A DH "exchange" is dhGenerate then dhAgree, as each IKE peer does once per phase 1; a DH
 * "responder" is the same work as one `dhGenerateAndAgree` task (one round trip instead of two).
 *
 * Dispatch overhead: one group-2 dhAgree at a time (nothing to batch), pooled vs direct; and the
 * effect of micro-batching at saturation (maxBatch 1 vs the default 16).
 *
 * The direct baseline uses one core; a pool of n threads can use n cores while the main thread
 * mostly waits, so on an idle 2-core machine "pool 2" can beat "direct" and approach 2x "pool 1".
 */
import { Bench } from "tinybench";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { CryptoPool } from "../../src/crypto/pool.js";
import { dhAgree, dhGenerate, dhGenerateAndAgree } from "../../src/crypto/dh.js";
import { encrypt, loadPrivateKey, loadPublicKey, sign, verify, decrypt } from "../../src/crypto/pubkey.js";
import type { TaskResult } from "../../src/crypto/tasks.js";

/** Operations started at once per iteration (saturation). */
const N = 32;

function must<T>(r: TaskResult<T>): T {
  if (!r.ok) throw new Error(`bench operation failed: ${r.error.code}`);
  return r.value;
}

/** Table of time per operation, ratio to the row's baseline and, where given, a second reference. */
function report(bench: Bench, perIteration: number, baselines: Map<string, string>): Map<string, number> {
  const perOp = new Map<string, number>();
  for (const t of bench.tasks) {
    const r = t.result;
    if ("period" in r) perOp.set(t.name, r.period / (t.name.includes("single") ? 1 : perIteration));
  }
  console.table(
    bench.tasks.map((t) => {
      const p = perOp.get(t.name) ?? NaN;
      const base = perOp.get(baselines.get(t.name) ?? "") ?? NaN;
      return { task: t.name, "ms/op": p.toFixed(4), "ops/s": (1000 / p).toFixed(0), "time vs baseline": (p / base).toFixed(2) };
    }),
  );
  return perOp;
}

export default async function run(): Promise<void> {
  const pools = {
    inline: new CryptoPool({ threads: 0 }),
    one: new CryptoPool({ threads: 1, warmGroups: [2, 5, 14] }),
    two: new CryptoPool({ threads: 2, warmGroups: [2, 5, 14] }),
    oneUnbatched: new CryptoPool({ threads: 1, maxBatch: 1, warmGroups: [2] }),
    oneSingleFlight: new CryptoPool({ threads: 1, batchesPerThread: 1, warmGroups: [2] }),
  };
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const rsaPem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const dsaPem = dsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const rsaSpki = rsa.publicKey.export({ type: "spki", format: "der" });
  const dsaSpki = dsa.publicKey.export({ type: "spki", format: "der" });
  for (const pool of Object.values(pools)) {
    must(await pool.addPrivateKey("rsa", { pem: rsaPem }));
    must(await pool.addPrivateKey("dsa", { pem: dsaPem }));
  }
  const rsaPriv = must(loadPrivateKey(rsaPem));
  const dsaPriv = must(loadPrivateKey(dsaPem));
  const rsaPub = must(loadPublicKey(rsaSpki));
  const dsaPub = must(loadPublicKey(dsaSpki));
  const hash = createHash("sha1").update("HASH_I").digest();
  const rsaSig = must(sign(rsaPriv, hash));
  const dsaSig = must(sign(dsaPriv, hash));
  const ciphertext = must(encrypt(rsaPub, hash));

  const baselines = new Map<string, string>();
  // Few iterations: each one is N operations already.
  const bench = new Bench({ name: "pool", time: 500, iterations: 4, warmupTime: 100, warmupIterations: 2 });
  const group = (label: string, direct: () => void, pooled: (pool: CryptoPool) => Promise<unknown>, inline = false): void => {
    const base = `${label} direct`;
    bench.add(base, () => {
      for (let i = 0; i < N; i++) direct();
    });
    baselines.set(base, base);
    const rows: Array<[string, CryptoPool]> = [["pool 1 thread", pools.one], ["pool 2 threads", pools.two]];
    if (inline) rows.unshift(["pool inline", pools.inline]);
    for (const [name, pool] of rows) {
      const task = `${label} ${name}`;
      bench.add(task, async () => {
        await Promise.all(Array.from({ length: N }, () => pooled(pool)));
      });
      baselines.set(task, base);
    }
  };

  for (const id of [2, 5, 14] as const) {
    const peerY = must(dhGenerate(id)).publicValue;
    group(
      `DH g${id} exchange`,
      () => {
        must(dhAgree(id, must(dhGenerate(id)).privateValue, peerY));
      },
      async (pool) => {
        const pair = must(await pool.dhGenerate(id));
        must(await pool.dhAgree(id, pair.privateValue, peerY));
      },
      true,
    );
    group(
      `DH g${id} responder`,
      () => void must(dhGenerateAndAgree(id, peerY)),
      async (pool) => void must(await pool.dhGenerateAndAgree(id, peerY)),
      true,
    );
  }
  group("RSA-2048 sign", () => void must(sign(rsaPriv, hash)), async (p) => must(await p.sign("rsa", hash)));
  group("RSA-2048 verify", () => void must(verify(rsaPub, hash, rsaSig)), async (p) => must(await p.verify(rsaSpki, hash, rsaSig)));
  group("RSA-2048 decrypt", () => void must(decrypt(rsaPriv, ciphertext)), async (p) => must(await p.decrypt("rsa", ciphertext)));
  group("RSA-2048 encrypt", () => void must(encrypt(rsaPub, hash)), async (p) => must(await p.encrypt(rsaSpki, hash)));
  group("DSA-1024 sign", () => void must(sign(dsaPriv, hash)), async (p) => must(await p.sign("dsa", hash)));
  group("DSA-1024 verify", () => void must(verify(dsaPub, hash, dsaSig)), async (p) => must(await p.verify(dsaSpki, hash, dsaSig)));

  // Dispatch overhead and batching, group 2.
  const g2 = must(dhGenerate(2));
  const peer2 = must(dhGenerate(2)).publicValue;
  const singleBase = "DH g2 agree single direct";
  bench.add(singleBase, () => void must(dhAgree(2, g2.privateValue, peer2)));
  baselines.set(singleBase, singleBase);
  bench.add("DH g2 agree single pool 1 thread", async () => void must(await pools.one.dhAgree(2, g2.privateValue, peer2)));
  baselines.set("DH g2 agree single pool 1 thread", singleBase);
  const satBase = "DH g2 exchange direct";
  bench.add("DH g2 exchange pool 1 thread, maxBatch 1", async () => {
    await Promise.all(
      Array.from({ length: N }, async () => {
        const pair = must(await pools.oneUnbatched.dhGenerate(2));
        must(await pools.oneUnbatched.dhAgree(2, pair.privateValue, peer2));
      }),
    );
  });
  baselines.set("DH g2 exchange pool 1 thread, maxBatch 1", satBase);
  bench.add("DH g2 exchange pool 1 thread, 1 batch in flight", async () => {
    await Promise.all(
      Array.from({ length: N }, async () => {
        const pair = must(await pools.oneSingleFlight.dhGenerate(2));
        must(await pools.oneSingleFlight.dhAgree(2, pair.privateValue, peer2));
      }),
    );
  });
  baselines.set("DH g2 exchange pool 1 thread, 1 batch in flight", satBase);

  await bench.run();
  const perOp = report(bench, N, baselines);
  const speedups = [...perOp.keys()]
    .filter((k) => k.endsWith("pool 1 thread"))
    .map((k) => ({ operation: k.replace(/ pool 1 thread$/, ""), "2 threads vs 1": ((perOp.get(k) ?? NaN) / (perOp.get(k.replace("1 thread", "2 threads")) ?? NaN)).toFixed(2) }))
    .filter((r) => r["2 threads vs 1"] !== "NaN");
  console.table(speedups);
  const single = perOp.get("DH g2 agree single pool 1 thread") ?? NaN;
  const direct = perOp.get(singleBase) ?? NaN;
  console.log(`dispatch overhead, one group-2 dhAgree at a time: ${(single - direct).toFixed(4)} ms = ${((single - direct) / direct * 100).toFixed(0)}% of the operation`);
  for (const pool of Object.values(pools)) await pool.close();
  await cpuPerOperation();
}

/** CPU ms per thread id from /proc (Linux; 10 ms ticks, so only totals over many operations mean much). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The thread ended between the listing and the read; its time is simply not counted.
    }
  }
  return out;
}

/**
 * CPU time per DH exchange, split by thread: the main thread, the pool's worker threads, and the
 * process's helper threads (V8 GC and platform threads, libuv). On a machine shared with other work,
 * wall-clock ratios swing with the neighbours' load; CPU time per operation barely does. A worker's
 * time against the direct time is the overhead that limits a pool's throughput; the main thread's
 * share is what dispatch costs the daemon.
 */
async function cpuPerOperation(): Promise<void> {
  const rounds = 60;
  const rows = [];
  const pid = String(process.pid);
  for (const id of [2, 14] as const) {
    const peerY = must(dhGenerate(id)).publicValue;
    let before = threadCpu();
    for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) must(dhAgree(id, must(dhGenerate(id)).privateValue, peerY));
    const directMs = ((threadCpu().get(pid) ?? 0) - (before.get(pid) ?? 0)) / (rounds * N);
    rows.push({ exchange: `DH g${id}`, path: "direct", "main ms": directMs.toFixed(4), "workers ms": "-", "helpers ms": "-", "total vs direct": "1.00" });
    const configs = [[1, 2, false], [2, 2, false], [1, 1, false], [2, 1, false], [1, 2, true], [2, 2, true]] as const;
    for (const [threads, batchesPerThread, combined] of configs) {
      const existing = threadCpu();
      const pool = new CryptoPool({ threads, batchesPerThread, warmGroups: [id] });
      await Promise.all(Array.from({ length: 2 * threads }, () => pool.dhGenerate(id)));
      before = threadCpu();
      for (let r = 0; r < rounds; r++) {
        await Promise.all(
          Array.from({ length: N }, async () => {
            if (combined) {
              must(await pool.dhGenerateAndAgree(id, peerY));
              return;
            }
            const pair = must(await pool.dhGenerate(id));
            must(await pool.dhAgree(id, pair.privateValue, peerY));
          }),
        );
      }
      const after = threadCpu();
      await pool.close();
      let main = 0;
      let workers = 0;
      let helpers = 0;
      for (const [tid, ms] of after) {
        const d = ms - (before.get(tid) ?? 0);
        if (tid === pid) main += d;
        else if (existing.has(tid)) helpers += d;
        else workers += d;
      }
      const per = (ms: number): number => ms / (rounds * N);
      rows.push({
        exchange: `DH g${id}`,
        path: `pool ${threads} thread${threads > 1 ? "s" : ""}, ${batchesPerThread} in flight${combined ? ", combined task" : ""}`,
        "main ms": per(main).toFixed(4),
        "workers ms": per(workers).toFixed(4),
        "helpers ms": per(helpers).toFixed(4),
        "total vs direct": (per(main + workers + helpers) / directMs).toFixed(2),
      });
    }
  }
  console.log("CPU per exchange by thread (/proc/self/task):");
  console.table(rows);
}
