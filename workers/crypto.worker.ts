/**
 * Piscina crypto worker: one named task per operation (Piscina's `name` option) plus `batch`, which
 * runs several requests in one round trip when the pool's queue is backed up.
 *
 * Result buffers are copied into ArrayBuffers of their own and transferred (`Piscina.move`), so the
 * secret ones (DH private values, g^xy, decrypted nonces) leave no copy behind in this thread: the
 * originals are zero-filled after the copy. Requests arrive as structured clones.
 *
 * Started by src/crypto/pool.ts with `workerData: { poolId, warmGroups }`. Removed keys arrive on the
 * BroadcastChannel `iked-keyring-<poolId>`. Node's OpenSSL (and the legacy provider the process
 * was started with) is shared with the main thread.
 */
import { BroadcastChannel } from "node:worker_threads";
import { move, transferableSymbol, valueSymbol, workerData } from "piscina";
import { isDhGroupId, warmDh, type DhGroupId } from "../src/crypto/dh.js";
import type {
  BatchRequest,
  DecryptRequest,
  DhAgreeRequest,
  DhGenerateRequest,
  EncryptRequest,
  LoadKeyRequest,
  SignRequest,
  TaskRequest,
  TaskResponse,
  VerifyRequest,
} from "../src/crypto/tasks.js";
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

/** Results whose bytes are secret and get wiped after copying out. */
const SECRET_OPS = new Set<TaskRequest["op"]>(["dhGenerate", "dhAgree", "decrypt"]);

function owned(buf: Uint8Array, wipe: boolean, transfer: ArrayBuffer[]): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  if (wipe) buf.fill(0);
  transfer.push(out.buffer);
  return out;
}

/** Replace each result buffer by a transferable copy, collecting the ArrayBuffers to move. */
function detach(op: TaskRequest["op"], res: TaskResponse, transfer: ArrayBuffer[]): TaskResponse {
  if (!res.ok) return res;
  const wipe = SECRET_OPS.has(op);
  const v = res.value;
  if (v instanceof Uint8Array) return { ok: true, value: owned(v, wipe, transfer) as Buffer };
  if (typeof v === "object" && "publicValue" in v) {
    return {
      ok: true,
      value: {
        publicValue: owned(v.publicValue, false, transfer) as Buffer,
        privateValue: owned(v.privateValue, true, transfer) as Buffer,
      },
    };
  }
  return res;
}

/** The received copy of a DH private value is this thread's alone: wipe it once used. */
function run(req: TaskRequest): TaskResponse {
  const res = runTask(req);
  if (req.op === "dhAgree") req.privateValue.fill(0);
  return res;
}

function movable<T>(value: T, transfer: ArrayBuffer[]): T {
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value } as never) as T;
}

function one(req: TaskRequest): TaskResponse {
  const transfer: ArrayBuffer[] = [];
  return movable(detach(req.op, run(req), transfer), transfer);
}

/** Fresh DH key pair. */
export function dhGenerate(req: DhGenerateRequest): TaskResponse<"dhGenerate"> {
  return one(req) as TaskResponse<"dhGenerate">;
}
/** g^xy. */
export function dhAgree(req: DhAgreeRequest): TaskResponse<"dhAgree"> {
  return one(req) as TaskResponse<"dhAgree">;
}
/** Signature with a registered key. */
export function sign(req: SignRequest): TaskResponse<"sign"> {
  return one(req) as TaskResponse<"sign">;
}
/** Signature check with a peer public key. */
export function verify(req: VerifyRequest): TaskResponse<"verify"> {
  return one(req) as TaskResponse<"verify">;
}
/** RSA PKCS#1 v1.5 encryption. */
export function encrypt(req: EncryptRequest): TaskResponse<"encrypt"> {
  return one(req) as TaskResponse<"encrypt">;
}
/** RSA PKCS#1 v1.5 decryption, implicit rejection. */
export function decrypt(req: DecryptRequest): TaskResponse<"decrypt"> {
  return one(req) as TaskResponse<"decrypt">;
}
/** Load a registered key into this worker. */
export function loadKey(req: LoadKeyRequest): TaskResponse<"loadKey"> {
  return one(req) as TaskResponse<"loadKey">;
}

/** Several requests, answered in order, in one round trip. */
export function batch(req: BatchRequest): TaskResponse[] {
  const transfer: ArrayBuffer[] = [];
  const out = req.requests.map((r) => detach(r.op, run(r), transfer));
  return movable(out, transfer);
}
