/**
 * Test worker for test/crypto/pool.test.ts: the real crypto worker, except that a DH request for
 * group 0xdead ends the worker thread with process.exit, the way a crash inside a task would.
 */
import { batch as realBatch, dhGenerate as realDhGenerate } from "../../workers/crypto.worker.js";
import type { BatchRequest, DhGenerateRequest } from "../../src/crypto/tasks.js";

export * from "../../workers/crypto.worker.js";

/** Marker group number that kills the worker. */
export const EXIT_GROUP = 0xdead;

export function dhGenerate(req: DhGenerateRequest): ReturnType<typeof realDhGenerate> {
  if (req.group === EXIT_GROUP) process.exit(7);
  return realDhGenerate(req);
}

export function batch(req: BatchRequest): ReturnType<typeof realBatch> {
  if (req.requests.some((r) => r.op === "dhGenerate" && r.group === EXIT_GROUP)) process.exit(7);
  return realBatch(req);
}
