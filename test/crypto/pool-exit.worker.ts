/**
 * Test worker for test/crypto/pool.test.ts: the real crypto worker, except that a task holding a DH
 * request for group 0xdead ends the worker thread with process.exit, as a crash inside a task would.
 */
import * as real from "../../workers/crypto.worker.js";
import { decodeRequests } from "../../src/crypto/tasks.js";

export * from "../../workers/crypto.worker.js";

/** Marker group number that kills the worker. */
export const EXIT_GROUP = 0xdead;

function exitIfAsked(msg: Uint8Array): void {
  if (decodeRequests(msg).some((r) => r.op === "dhGenerate" && r.group === EXIT_GROUP)) process.exit(7);
}

export function dhGenerate(msg: Uint8Array): Uint8Array {
  exitIfAsked(msg);
  return real.dhGenerate(msg);
}

export function batch(msg: Uint8Array): Uint8Array {
  exitIfAsked(msg);
  return real.batch(msg);
}
