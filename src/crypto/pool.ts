/**
 * The crypto worker pool: runs DH, RSA/DSS signatures and RSA encryption off the main thread, so one
 * slow modular exponentiation never delays packet handling for every other SA.
 *
 * - Typed calls (`dhGenerate`, `dhAgree`, `dhGenerateAndAgree`, `sign`, `verify`, `encrypt`, `decrypt`,
 *   `tokenLogin`, `tokenLogout`) build the messages
 *   of src/crypto/tasks.ts. Input problems resolve as `TaskResult` errors; machinery problems reject
 *   with `WorkerError` (codes in `PoolErrorCode`).
 * - Micro-batching: calls made in the same tick, or while every worker is busy, wait in one FIFO
 *   queue; each dispatch sends up to `maxBatch` of them in one Piscina task (`batch`). A flush
 *   splits the queue evenly over at most as many batches as there are threads (two batches for
 *   one thread run one after the other anyway, and each costs a round trip and wake-ups); only
 *   where that would put more than `maxBatch` in a batch does it send more, up to the free slots.
 *   A lone request goes out alone, as its own named task, in the same tick's microtask.
 * - `maxQueue` bounds the queue; a full queue rejects at once (callers drop the packet, as a peer
 *   retransmits). An `AbortSignal` (SA teardown) removes a queued request; one already running is
 *   rejected at once and its result, when it comes, is wiped and dropped.
 * - `threads: 0` runs the same executor (workers/crypto-tasks.ts) inline on the main thread, through
 *   the same queue, for comparison and tiny deployments.
 * - A worker that dies (process.exit, a crash, `terminate()`) fails the requests it was running
 *   with `IKE_ERR_WORKER_DIED`; Piscina starts a replacement, and keys reload into it on demand.
 *
 * DH private values come back to the caller (to keep in the SA's Keymat) instead of staying in a
 * worker under a handle: a handle would pin every SA to one worker, defeat load balancing, and lose
 * the SA's keys whenever that worker dies. The value is ≤ 38 bytes, so carrying it costs nothing
 * measurable; it travels inside the task's byte string (src/crypto/tasks.ts wire format), which is
 * transferred, not cloned, and zero-filled by whichever side is done with it.
 *
 * Long-term private keys are registered by id with a `KeySource`; each worker loads one the first
 * time a request names it (one extra round trip per worker and key), so replacement workers need no
 * broadcast. Removal is broadcast on a per-pool BroadcastChannel.
 */
import diagnostics from "node:diagnostics_channel";
import { availableParallelism } from "node:os";
import { BroadcastChannel } from "node:worker_threads";
import { randomUUID } from "node:crypto";
import { Piscina } from "piscina";
import { WorkerError } from "../errors.js";
import type { AbortLike } from "./abort-like.js";
import type { DhExchange, DhGroupId, DhKeyPair } from "./dh.js";
import type { SignedDataAlgorithm } from "./signed-data.js";
import {
  KEY_NOT_LOADED,
  KEY_UNKNOWN,
  type KeyDescription,
  type KeySource,
  type TaskOp,
  type TaskRequest,
  type TaskResponse,
  type TaskResult,
  decodeResponses,
  encodeRequests,
} from "./tasks.js";
import { dropKey, runTask } from "../../workers/crypto-tasks.js";

/** Codes of the `WorkerError`s the pool rejects with. */
export const PoolErrorCode = {
  WorkerDied: "IKE_ERR_WORKER_DIED",
  QueueFull: "IKE_ERR_POOL_QUEUE_FULL",
  Aborted: "IKE_ERR_TASK_ABORTED",
  Closed: "IKE_ERR_POOL_CLOSED",
  /** A worker's answer did not decode or did not match its requests: a bug, never peer input. */
  BadAnswer: "IKE_ERR_WORKER_ANSWER",
} as const;

/** Pool construction options. */
export interface CryptoPoolOptions {
  /** Worker threads; 0 runs inline on the main thread. Default: the machine's available parallelism. */
  readonly threads?: number;
  /** Most requests waiting in the queue (not counting those running). Default 4096. */
  readonly maxQueue?: number;
  /** Most requests per Piscina task. Default 16. */
  readonly maxBatch?: number;
  /**
   * Piscina tasks (batches) in flight per worker thread: 2 (default) keeps the next batch waiting in
   * the worker's port when the current one finishes; 1 makes fewer, larger batches (fewer
   * dispatches, the worker idles for one round trip between them). See bench/crypto/pool.bench.ts.
   */
  readonly batchesPerThread?: 1 | 2;
  /** DH groups each worker prepares at start (their prime check takes up to ~30 ms). Default [2, 5, 14]. */
  readonly warmGroups?: readonly DhGroupId[];
  /** Worker module (tests substitute one); default the compiled workers/crypto.worker.js. */
  readonly workerFile?: string | URL;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborting rejects the call with `IKE_ERR_TASK_ABORTED` and removes it from the queue. */
  readonly signal?: AbortLike;
}

/** Counters since the pool started. */
export interface PoolStats {
  readonly threads: number;
  readonly queued: number;
  readonly running: number;
  /** Piscina tasks (or inline runs) dispatched, and requests they carried. */
  readonly dispatches: number;
  readonly requests: number;
  /** Requests that failed because their worker died, and worker errors outside any task. */
  readonly workerFailures: number;
  readonly workerErrors: number;
  /** Workers Piscina started to replace ones that died (beyond the first `threads`). */
  readonly workerRestarts: number;
  /** Requests dispatched, by task name (a retried request counts again). */
  readonly tasks: Readonly<Partial<Record<TaskOp, number>>>;
}

interface Pending {
  req: TaskRequest;
  resolve: (r: TaskResponse) => void;
  reject: (e: WorkerError) => void;
  signal: AbortLike | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
  retried: boolean;
}

/**
 * `iked:crypto:worker` diagnostics channel: `{ event: "worker-died", requests, ops }` when a worker
 * dies under running requests, and `{ event: "worker-error" }` for an error outside any task.
 * Messages carry counts and operation names only.
 */
export const workerChannel = diagnostics.channel("iked:crypto:worker");

const DEFAULT_WORKER = new URL("../../workers/crypto.worker.js", import.meta.url);

/** Zero the bytes of a result nobody will read (an aborted call's DH private value, g^xy, plaintext). */
function wipe(res: TaskResponse): void {
  if (!res.ok) return;
  const v: unknown = res.value;
  if (v instanceof Uint8Array) v.fill(0);
  else if (typeof v === "object" && v !== null && "privateValue" in v) (v as DhKeyPair).privateValue.fill(0);
  else if (typeof v === "object" && v !== null && "sharedSecret" in v) (v as DhExchange).sharedSecret.fill(0);
}

/** Decode a worker's answer (copies), then zero the transferred message: it held secrets of many SAs. */
function unpack(out: Uint8Array, expected: number): TaskResponse[] {
  try {
    const responses = decodeResponses(out);
    if (responses.length !== expected) throw new RangeError(`${responses.length} answers for ${expected} requests`);
    return responses;
  } catch (err) {
    throw new WorkerError(PoolErrorCode.BadAnswer, "crypto worker answer does not decode", { cause: err });
  } finally {
    new Uint8Array(out.buffer).fill(0);
  }
}

/** See the file comment. */
export class CryptoPool {
  /** Worker threads (0: inline). */
  readonly threads: number;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #piscina: Piscina | undefined;
  readonly #channel: BroadcastChannel | undefined;
  readonly #cap: number;
  readonly #keys = new Map<string, { version: number; source: KeySource }>();
  #keyVersion = 0;
  #queue: Pending[] = [];
  #running = 0;
  #flushScheduled = false;
  #closed = false;
  #dispatches = 0;
  #requests = 0;
  #workerFailures = 0;
  #workerErrors = 0;
  #workersStarted = 0;
  readonly #tasks: Partial<Record<TaskOp, number>> = {};

  constructor(options: CryptoPoolOptions = {}) {
    this.threads = Math.max(0, Math.floor(options.threads ?? availableParallelism()));
    this.#maxQueue = options.maxQueue ?? 4096;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 16);
    // Two tasks per worker: the next one is already in the worker's port when the current finishes.
    const perThread = options.batchesPerThread === 1 ? 1 : 2;
    this.#cap = this.threads === 0 ? 1 : this.threads * perThread;
    if (this.threads > 0) {
      const poolId = randomUUID();
      const file = options.workerFile ?? DEFAULT_WORKER;
      this.#piscina = new Piscina({
        filename: typeof file === "string" ? file : file.href,
        minThreads: this.threads,
        maxThreads: this.threads,
        concurrentTasksPerWorker: perThread,
        idleTimeout: Number.POSITIVE_INFINITY,
        // Piscina's per-task timing histograms are unused here; skip their cost on every dispatch.
        recordTiming: false,
        maxQueue: this.#cap + this.#maxQueue,
        workerData: { poolId, warmGroups: options.warmGroups ?? [2, 5, 14] },
      });
      // A worker error outside any task (its tasks, if any, are failed separately) must not become
      // an uncaught 'error' event that ends the daemon.
      this.#piscina.on("error", () => {
        this.#workerErrors++;
        workerChannel.publish({ event: "worker-error" });
      });
      this.#piscina.on("workerCreate", () => this.#workersStarted++);
      this.#channel = new BroadcastChannel(`iked-keyring-${poolId}`);
      this.#channel.unref();
    }
  }

  /** Counters and queue depth. */
  stats(): PoolStats {
    return {
      threads: this.threads,
      queued: this.#queue.length,
      running: this.#running,
      dispatches: this.#dispatches,
      requests: this.#requests,
      workerFailures: this.#workerFailures,
      workerErrors: this.#workerErrors,
      workerRestarts: Math.max(0, this.#workersStarted - this.threads),
      tasks: { ...this.#tasks },
    };
  }

  /**
   * Register (or replace) a long-term private key under `keyId` and check that it loads; on failure
   * the id stays unregistered. The main thread keeps only the source (a path, ideally).
   */
  async addPrivateKey(keyId: string, source: KeySource, options?: CallOptions): Promise<TaskResult<KeyDescription>> {
    const version = ++this.#keyVersion;
    this.#keys.set(keyId, { version, source });
    this.#dropEverywhere(keyId);
    const res = await this.#submit({ op: "loadKey", keyId, keyVersion: version, keySource: source }, options);
    if (!res.ok && this.#keys.get(keyId)?.version === version) this.#keys.delete(keyId);
    return res;
  }

  /** Forget a key here and in every worker. */
  removePrivateKey(keyId: string): boolean {
    this.#dropEverywhere(keyId);
    return this.#keys.delete(keyId);
  }

  /** A fresh DH key pair (KE payload value and the private value for the SA's Keymat). */
  dhGenerate(group: number, options?: CallOptions): Promise<TaskResult<DhKeyPair>> {
    return this.#submit({ op: "dhGenerate", group }, options);
  }

  /**
   * g^xy, left-padded, after validating the peer's public value. `privateValue` is copied (the copy is
   * transferred to the worker, which wipes it after use); the caller's buffer is left as it was, for
   * the caller to wipe once the call settles (`Phase1Keymat.withDhPrivateForTask` does).
   */
  dhAgree(group: number, privateValue: Uint8Array, peerPublic: Uint8Array, options?: CallOptions): Promise<TaskResult<Buffer>> {
    return this.#submit({ op: "dhAgree", group, privateValue, peerPublic }, options);
  }

  /**
   * The responder's DH in one round trip: validates the peer's g^y, then a fresh x, g^x and g^xy.
   * x is generated and wiped inside the worker and never reaches this thread.
   */
  dhGenerateAndAgree(group: number, peerPublic: Uint8Array, options?: CallOptions): Promise<TaskResult<DhExchange>> {
    return this.#submit({ op: "dhGenerateAndAgree", group, peerPublic }, options);
  }

  /** Sign HASH_I/HASH_R with the key registered as `keyId`. */
  sign(keyId: string, hash: Uint8Array, options?: CallOptions): Promise<TaskResult<Buffer>> {
    const key = this.#keys.get(keyId);
    if (key === undefined) return Promise.resolve({ ok: false, error: { code: KEY_UNKNOWN, message: `no key ${keyId}` } });
    return this.#submit({ op: "sign", keyId, keyVersion: key.version, hash }, options);
  }

  /** Verify a peer's signature; `publicKey` is SPKI/PKCS#1 DER, PEM, or an X.509 certificate. */
  verify(publicKey: Uint8Array | string, hash: Uint8Array, signature: Uint8Array, options?: CallOptions): Promise<TaskResult<boolean>> {
    return this.#submit({ op: "verify", publicKey, hash, signature }, options);
  }

  /**
   * Verify a certificate's or CRL's signature over its TBS bytes with the issuer's
   * SubjectPublicKeyInfo (src/pki sends chain links here so no signature runs on the main thread).
   */
  verifySignedData(spki: Uint8Array, alg: SignedDataAlgorithm, data: Uint8Array, signature: Uint8Array, options?: CallOptions): Promise<TaskResult<boolean>> {
    return this.#submit({ op: "verifySignedData", spki, alg, data, signature }, options);
  }

  /** RSA PKCS#1 v1.5 encryption to a peer's public key. */
  encrypt(publicKey: Uint8Array | string, plaintext: Uint8Array, options?: CallOptions): Promise<TaskResult<Buffer>> {
    return this.#submit({ op: "encrypt", publicKey, plaintext }, options);
  }

  /** RSA PKCS#1 v1.5 decryption (implicit rejection) with the key registered as `keyId`. */
  decrypt(keyId: string, ciphertext: Uint8Array, options?: CallOptions): Promise<TaskResult<Buffer>> {
    const key = this.#keys.get(keyId);
    if (key === undefined) return Promise.resolve({ ok: false, error: { code: KEY_UNKNOWN, message: `no key ${keyId}` } });
    return this.#submit({ op: "decrypt", keyId, keyVersion: key.version, ciphertext }, options);
  }

  /**
   * Log in to the PKCS#11 token `token` of `library` (ikeadm token login). One worker logs in; the
   * login holds for the whole process, so keys on the token unlock in every worker. `pin` is copied
   * into the task message (wiped by the worker); the caller wipes its own buffer.
   */
  tokenLogin(library: string, token: string, pin: Uint8Array, options?: CallOptions): Promise<TaskResult<boolean>> {
    return this.#submit({ op: "tokenLogin", library, token, pin }, options);
  }

  /** Log out of a token: its keys are locked again in every worker. */
  tokenLogout(library: string, token: string, options?: CallOptions): Promise<TaskResult<boolean>> {
    return this.#submit({ op: "tokenLogout", library, token }, options);
  }

  /** Reject everything queued, let running tasks finish, stop the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#queue.splice(0)) this.#settle(p, new WorkerError(PoolErrorCode.Closed, "crypto pool closed"));
    this.#channel?.close();
    await this.#piscina?.destroy();
  }

  #dropEverywhere(keyId: string): void {
    if (this.#channel) this.#channel.postMessage({ drop: keyId });
    else dropKey(keyId);
  }

  #submit<Op extends TaskOp>(req: TaskRequest & { op: Op }, options?: CallOptions): Promise<TaskResponse<Op>>;
  #submit(req: TaskRequest, options?: CallOptions): Promise<TaskResponse> {
    return new Promise<TaskResponse>((resolve, reject) => {
      if (this.#closed) return reject(new WorkerError(PoolErrorCode.Closed, "crypto pool closed"));
      const signal = options?.signal;
      if (signal?.aborted) return reject(new WorkerError(PoolErrorCode.Aborted, `${req.op} aborted`, { cause: signal.reason }));
      if (this.#queue.length >= this.#maxQueue) {
        return reject(new WorkerError(PoolErrorCode.QueueFull, `crypto queue full (${this.#maxQueue})`));
      }
      const p: Pending = { req, resolve, reject, signal, onAbort: undefined, settled: false, retried: false };
      if (signal) {
        p.onAbort = () => {
          const i = this.#queue.indexOf(p);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#settle(p, new WorkerError(PoolErrorCode.Aborted, `${req.op} aborted`, { cause: signal.reason }));
        };
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.#queue.push(p);
      this.#scheduleFlush();
    });
  }

  #settle(p: Pending, outcome: TaskResponse | WorkerError): void {
    if (p.settled) {
      if (!(outcome instanceof WorkerError)) wipe(outcome);
      return;
    }
    p.settled = true;
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    if (outcome instanceof WorkerError) p.reject(outcome);
    else p.resolve(outcome);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // A microtask, so calls made in the same tick travel together.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const free = this.#cap - this.#running;
    if (free <= 0 || this.#queue.length === 0) return;
    // As many batches as threads at most (Piscina hands each to the least busy thread), unless
    // maxBatch needs more: with two slots per thread, splitting over the free slots sent one
    // thread two batches to run one after the other, each with its own round trip and wake-ups,
    // where one batch does the same work. What is left past the free slots goes out as they free.
    const parts = Math.min(free, Math.max(1, this.threads));
    const size = Math.min(this.#maxBatch, Math.ceil(this.#queue.length / parts));
    while (this.#running < this.#cap && this.#queue.length > 0) this.#dispatch(this.#queue.splice(0, size));
  }

  #dispatch(batch: Pending[]): void {
    this.#running++;
    this.#dispatches++;
    this.#requests += batch.length;
    for (const p of batch) this.#tasks[p.req.op] = (this.#tasks[p.req.op] ?? 0) + 1;
    this.#execute(batch.map((p) => p.req)).then(
      (responses) => {
        this.#running--;
        batch.forEach((p, i) => this.#complete(p, responses[i]));
        this.#flush();
      },
      (err: unknown) => {
        this.#running--;
        // close() terminates workers under running tasks: that is the pool closing, not a death.
        const e =
          err instanceof WorkerError
            ? err
            : this.#closed
              ? new WorkerError(PoolErrorCode.Closed, "crypto pool closed", { cause: err })
              : new WorkerError(PoolErrorCode.WorkerDied, "crypto worker died while running a task", { cause: err });
        if (e.code === PoolErrorCode.WorkerDied) {
          this.#workerFailures += batch.length;
          workerChannel.publish({ event: "worker-died", requests: batch.length, ops: batch.map((p) => p.req.op) });
        }
        for (const p of batch) this.#settle(p, e);
        this.#flush();
      },
    );
  }

  #execute(reqs: TaskRequest[]): Promise<TaskResponse[]> {
    const piscina = this.#piscina;
    if (piscina === undefined) {
      // Inline: a later macrotask, so a burst of calls still yields to I/O between batches.
      return new Promise((resolve) => setImmediate(() => resolve(reqs.map((r) => runTask(r)))));
    }
    const msg = encodeRequests(reqs);
    const name = reqs.length === 1 ? reqs[0]!.op : "batch";
    return piscina.run(msg, { name, transferList: [msg.buffer as ArrayBuffer] }).then((out: Uint8Array) => unpack(out, reqs.length));
  }

  #complete(p: Pending, res: TaskResponse | undefined): void {
    if (res === undefined) {
      this.#settle(p, new WorkerError(PoolErrorCode.BadAnswer, "crypto worker returned no result"));
      return;
    }
    if (!res.ok && res.error.code === KEY_NOT_LOADED && !p.retried && "keyId" in p.req && !p.settled) {
      // This thread has not loaded the key yet: send it again with the key's source.
      const key = this.#keys.get(p.req.keyId);
      if (key === undefined || key.version !== p.req.keyVersion) {
        this.#settle(p, { ok: false, error: { code: KEY_UNKNOWN, message: `no key ${p.req.keyId}` } });
        return;
      }
      p.retried = true;
      p.req = { ...p.req, keySource: key.source };
      this.#queue.unshift(p);
      this.#scheduleFlush();
      return;
    }
    this.#settle(p, res);
  }
}
