/**
 * The abort signal of one ISAKMP SA: aborted when the SA is destroyed, so pool work queued for a
 * dead SA is dropped and secrets held for it are wiped (crypto/abort-like.ts).
 *
 * Not a Node `AbortController`: Node 20 makes each `AbortSignal` an `EventTarget`, swaps its
 * prototype and adds three symbol properties, and V8 then makes three new hidden classes in the
 * old generation for every signal (`--log-maps`: "Transition ... prototype", never reused);
 * ~0.4 KB of old space per controller in a loop, and in in.iked at 350 negotiations/s one shared
 * controller instead of one per SA cut the old generation's growth from 4.2 to 0.6 KB per
 * negotiation (a diagnostic run): the full GCs behind the latency tail (bench/handshake/README.md,
 * "old space per negotiation"). This class has one hidden class for all SAs and dies young.
 */
import type { AbortLike } from "../crypto/abort-like.js";

/** An abort flag with "abort" listeners, each called once. */
export class SaAbort implements AbortLike {
  #aborted = false;
  #reason: unknown = undefined;
  /** The listeners waiting; most SAs have none or one at a time. */
  #listeners: (() => void)[] | undefined = undefined;

  /** This object (the controller and its signal are one, as the SA hands out only the signal). */
  get signal(): AbortLike {
    return this;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /**
   * Call `listener` once, on abort (never, once aborted already: as an `AbortSignal`). Every
   * listener is a `{ once: true }` one, so the options change nothing.
   */
  addEventListener(type: "abort", listener: () => void, _options?: { readonly once?: boolean }): void {
    if (type !== "abort" || this.#aborted) return;
    const l = (this.#listeners ??= []);
    // As an EventTarget: a listener already added is not added again.
    if (!l.includes(listener)) l.push(listener);
  }

  removeEventListener(type: "abort", listener: () => void): void {
    const l = this.#listeners;
    if (type !== "abort" || l === undefined) return;
    const i = l.indexOf(listener);
    if (i >= 0) l.splice(i, 1);
  }

  /**
   * Set the flag and call each listener once, in the order added; one removed by an earlier one
   * meanwhile is not called (as an `AbortSignal`'s). What a listener throws is reported after the
   * others ran (as an uncaught exception, like an `EventTarget` listener's): the SA's destroy goes on.
   */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const l = this.#listeners;
    if (l === undefined) return;
    // The list stays in place while it runs, so removeEventListener still reaches the ones to come.
    for (let f = l.shift(); f !== undefined; f = l.shift()) {
      try {
        f();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.#listeners = undefined;
  }
}
