/**
 * Where certificate and CRL signatures are checked. Path validation (chain.ts) asks a
 * `SignatureVerifier` for all links of a path at once; the daemon passes `poolVerifier(pool)`, so
 * the checks run in the crypto workers (the pool batches calls made in one tick into one task) and
 * the main thread does only DER parsing and name/date/extension checks. `inlineVerifier` runs them
 * on the calling thread, for ikecert, `in.iked -c` and tests.
 */
import type { TaskResult } from "../crypto/tasks.js";
import type { SignedDataAlgorithm } from "../crypto/signed-data.js";
import { verifySigned, type SigAlg } from "./sig-alg.js";

/** One signature to check: issuer key, algorithm, signed bytes, signature. */
export interface SignedItem {
  readonly spki: Buffer;
  readonly sigAlg: SigAlg;
  readonly tbs: Buffer;
  readonly signature: Buffer;
}

/** Checks signatures; answers one boolean per item, in order. */
export type SignatureVerifier = (items: readonly SignedItem[]) => Promise<boolean[]>;

/** Checks on the calling thread. */
export const inlineVerifier: SignatureVerifier = (items) =>
  Promise.resolve(items.map((i) => verifySigned(i.spki, i.sigAlg, i.tbs, i.signature)));

/** What `poolVerifier` needs of the crypto pool (src/crypto/pool.ts `CryptoPool`). */
export interface SignedDataPool {
  verifySignedData(spki: Uint8Array, alg: SignedDataAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<TaskResult<boolean>>;
}

/** Checks in the crypto pool; a task error (never expected for these inputs) counts as a failed check. */
export function poolVerifier(pool: SignedDataPool): SignatureVerifier {
  return async (items) => {
    const results = await Promise.all(items.map((i) => pool.verifySignedData(i.spki, i.sigAlg, i.tbs, i.signature)));
    return results.map((r) => r.ok && r.value);
  };
}
