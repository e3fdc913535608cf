/**
 * What an exchange task (Main Mode, Quick Mode) hands back to the engine after each message: the
 * next message to send (`more`), the last one (`done`) or a failure with the notify to send.
 * Tasks never do I/O; the engine encodes, encrypts, sends, caches and retransmits.
 */
import type { Payload } from "../codec/index.js";

/** A message for the engine to send. */
export interface Outgoing {
  readonly payloads: readonly Payload[];
  /** Encrypt with the SA's keys (MM5, MM6, every Quick Mode message). */
  readonly encrypt: boolean;
  /** Set the commit bit (RFC 2408 section 3.1): the initiator's QM1 when it wants CONNECTED. */
  readonly commit?: boolean;
}

/** The outcome of one step. */
export type Step =
  | { readonly kind: "more"; readonly reply: Outgoing }
  | { readonly kind: "done"; readonly reply?: Outgoing }
  | { readonly kind: "fail"; readonly notify?: number; readonly reason: string };

/** A step that threw: our own machinery (crypto, pool) failed, not the peer; no notify. */
export function internalError(err: unknown): Step {
  return { kind: "fail", reason: `internal error: ${(err as Error).message ?? String(err)}` };
}
