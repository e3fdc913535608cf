/**
 * Why a load negotiation failed, as a small closed set of classes plus the notify name where one
 * was involved, so reports from different targets can be compared line by line.
 *
 * The engine reports a failed Phase 1 as `phase1-failed(sa, reason, notify)`: `reason` is text for
 * people, `notify` the notify type that was received or that we would send. Classification uses
 * the engine's stable reason prefixes (retransmission give-up, expire timer, a peer's notify) and
 * the notify number; it never needs a secret and never sees one.
 */
import { Notify, notifyLabel } from "../codec/index.js";

/** Failure classes. */
export type FailureClass =
  /** No answer after the retransmissions, or the Phase 1 expire timer ran out. */
  | "timeout"
  /** The target sent an error notify (`notify` names it). */
  | "notify-received"
  /** HASH_R did not verify, the decrypted reply was garbage, or we hold no key for the pair. */
  | "auth-failed"
  /** The target's choice was not one we offered, or it sent a malformed or unexpected message. */
  | "protocol"
  /** Our own machinery failed (crypto pool, socket). */
  | "internal"
  /** The SA was torn down under the negotiation (INITIAL-CONTACT from elsewhere, shutdown). */
  | "aborted"
  /** Still negotiating when the run's time ran out. */
  | "unfinished";

/** One classified failure. */
export interface Failure {
  readonly kind: FailureClass;
  /** Set for Quick Mode failures (Phase 1 had succeeded). */
  readonly phase2?: true;
  /** Notify label (e.g. `NO-PROPOSAL-CHOSEN`) when a notify was received or caused the failure. */
  readonly notify?: string;
}

/** Key under which failures are counted: the class, plus `:NOTIFY` when there is one. */
export function failureKey(f: Failure): string {
  const k = f.notify === undefined ? f.kind : `${f.kind}:${f.notify}`;
  return f.phase2 ? `phase2-${k}` : k;
}

/** Classify a `phase1-failed` event. */
export function classifyPhase1Failure(reason: string, notify: number | undefined): Failure {
  if (reason.startsWith("no answer after") || reason.startsWith("expire_timer")) return { kind: "timeout" };
  if (reason.startsWith("peer sent notify")) {
    return notify === undefined ? { kind: "notify-received" } : { kind: "notify-received", notify: notifyLabel(notify) };
  }
  if (reason.startsWith("internal error")) return { kind: "internal" };
  if (notify === Notify.AuthenticationFailed || reason.includes("pre-shared key")) {
    return notify === undefined ? { kind: "auth-failed" } : { kind: "auth-failed", notify: notifyLabel(notify) };
  }
  return notify === undefined ? { kind: "protocol" } : { kind: "protocol", notify: notifyLabel(notify) };
}

/**
 * Classify a `phase2-failed` event. The engine reports a Quick Mode without answer as
 * "Quick Mode: no answer", an ISAKMP SA that died underneath as
 * "ISAKMP SA died ...", and a failed step with the step's reason. A target that refuses our Quick
 * Mode with a protected notify is seen as the engine's `peer-notify` event (the runner classifies
 * that as `phase2-notify-received:NAME`).
 */
export function classifyPhase2Failure(reason: string): Failure {
  if (reason.startsWith("Quick Mode: no answer")) return { kind: "timeout", phase2: true };
  if (reason.startsWith("ISAKMP SA died")) return { kind: "aborted", phase2: true };
  if (reason.startsWith("internal error")) return { kind: "internal", phase2: true };
  return { kind: "protocol", phase2: true };
}

/** Counts failures by {@link failureKey}. */
export class FailureCounter {
  readonly #counts = new Map<string, number>();
  #total = 0;

  add(f: Failure): void {
    const k = failureKey(f);
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
    this.#total++;
  }

  get total(): number {
    return this.#total;
  }

  /** Counts by key, keys sorted. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
