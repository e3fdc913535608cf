/**
 * Piscina crypto worker: one named task per operation (Piscina's `name` option) plus `batch`, which
 * runs several requests in one round trip when the pool's queue is backed up.
 *
 * Requests arrive, and responses leave, as one byte string each (the wire format in
 * src/crypto/tasks.ts), transferred both ways (`Piscina.move` for results). Secrets leave no copy
 * behind in this thread: the request message and the original result buffers are zero-filled.
 *
 * Started by src/crypto/pool.ts with `workerData: { poolId, warmGroups }`. Removed keys arrive on the
 * BroadcastChannel `iked-keyring-<poolId>`. Node's OpenSSL (and the legacy provider the process
 * was started with) is shared with the main thread.
 */
import { BroadcastChannel } from "node:worker_threads";
import { move, workerData } from "piscina";
import { isDhGroupId, warmDh, type DhExchange, type DhGroupId, type DhKeyPair } from "../src/crypto/dh.js";
import { decodeRequests, encodeResponses, type TaskResponse } from "../src/crypto/tasks.js";
import { dropKey, runTask } from "./crypto-tasks.js";

/** What the pool passes to every worker it starts. */
export interface CryptoWorkerData {
  readonly poolId: string;
  readonly warmGroups?: readonly number[];
}

const data = (workerData ?? {}) as Partial<CryptoWorkerData>;
if (typeof data.poolId === "string") {
  const channel = new BroadcastChannel(`iked-keyring-${data.poolId}`);
  channel.onmessage = (event: unknown) => {
    const msg = (event as { data?: { drop?: unknown } }).data;
    if (typeof msg?.drop === "string") dropKey(msg.drop);
  };
  // The channel must not keep an idle worker alive.
  channel.unref();
}
// Building a group's DH object checks its prime (~30 ms for groups 1 and 2): do it before the first
// exchange needs it.
warmDh((data.warmGroups ?? []).filter((g): g is DhGroupId => isDhGroupId(g)));

/** Zero the original result buffers: g^xy, DH private values and plaintexts must not linger here. */
function wipeResults(responses: readonly TaskResponse[]): void {
  for (const res of responses) {
    if (!res.ok) continue;
    const v: unknown = res.value;
    if (v instanceof Uint8Array) v.fill(0);
    else if (typeof v === "object" && v !== null && "privateValue" in v) (v as DhKeyPair).privateValue.fill(0);
    else if (typeof v === "object" && v !== null && "sharedSecret" in v) (v as DhExchange).sharedSecret.fill(0);
  }
}

/**
 * Decode the requests, run them in order, encode the responses into one byte string (unit tests call
 * this directly). The request message (it holds DH private values) is zero-filled once used; it
 * arrived by transfer, so its whole ArrayBuffer is this thread's.
 */
export function runEncoded(msg: Uint8Array): Uint8Array {
  let responses: TaskResponse[];
  try {
    responses = decodeRequests(msg).map((r) => runTask(r));
  } catch {
    // Only a bug in our own encoder gets here: answer nothing, and the pool fails the task.
    responses = [];
  }
  new Uint8Array(msg.buffer).fill(0);
  const out = encodeResponses(responses);
  wipeResults(responses);
  return out;
}

/** A Piscina task: the answer travels by transfer. */
function answer(msg: Uint8Array): Uint8Array {
  return move(runEncoded(msg)) as Uint8Array;
}

/**
 * Named tasks (Piscina `name`): one decoder behind each, so single requests and batches show up by
 * operation in Piscina's per-task accounting.
 */
export const dhGenerate = answer;
export const dhAgree = answer;
export const dhGenerateAndAgree = answer;
export const sign = answer;
export const verify = answer;
export const verifySignedData = answer;
export const encrypt = answer;
export const decrypt = answer;
export const loadKey = answer;
export const tokenLogin = answer;
export const tokenLogout = answer;
/** Several requests of any kinds, answered in order, in one round trip. */
export const batch = answer;
