/**
 * What the crypto pool uses of an abort signal (pool.ts `CallOptions`): a Node `AbortSignal` has
 * it, and so has the IKE engine's lighter per-SA signal (ike/sa-abort.ts). Listeners are added
 * with `{ once: true }` semantics.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}
