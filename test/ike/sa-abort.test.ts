import { test } from "node:test";
import assert from "node:assert/strict";
import { SaAbort } from "../../src/ike/sa-abort.js";

test("SaAbort: listeners run once, in order, with the reason set; removed ones and late ones never", () => {
  const a = new SaAbort();
  assert.equal(a.signal, a, "the controller is its own signal");
  assert.equal(a.aborted, false);
  assert.equal(a.reason, undefined);
  const calls: string[] = [];
  const first = (): void => void calls.push(`first:${String(a.reason)}`);
  const removed = (): void => void calls.push("removed");
  a.addEventListener("abort", first, { once: true });
  a.addEventListener("abort", removed);
  a.addEventListener("abort", () => calls.push(`second:${a.aborted}`));
  a.removeEventListener("abort", removed);
  a.removeEventListener("abort", removed);
  a.abort("peer went away");
  assert.deepEqual(calls, ["first:peer went away", "second:true"]);
  a.abort("again");
  a.addEventListener("abort", () => calls.push("late"));
  assert.deepEqual(calls, ["first:peer went away", "second:true"], "a second abort and a late listener call nothing");
  assert.equal(a.reason, "peer went away");
});

test("SaAbort: a listener that throws does not stop the others; its error is reported afterwards", (t) => {
  const reported: (() => void)[] = [];
  t.mock.method(process, "nextTick", (fn: () => void) => void reported.push(fn));
  const a = new SaAbort();
  let after = false;
  a.addEventListener("abort", () => {
    throw new Error("listener broke");
  });
  a.addEventListener("abort", () => {
    after = true;
  });
  a.abort("x");
  assert.equal(after, true);
  assert.equal(reported.length, 1);
  assert.throws(reported[0]!, /listener broke/);
});

test("SaAbort: as an AbortSignal, one listener added twice runs once, and one removed by an earlier listener during the abort does not run", () => {
  const a = new SaAbort();
  const calls: string[] = [];
  const twice = (): void => void calls.push("twice");
  const removedLate = (): void => void calls.push("removed during abort");
  a.addEventListener("abort", twice, { once: true });
  a.addEventListener("abort", twice, { once: true });
  a.addEventListener("abort", () => a.removeEventListener("abort", removedLate));
  a.addEventListener("abort", removedLate);
  a.abort("x");
  // What a Node AbortSignal does with the same calls.
  const ac = new AbortController();
  const seen: string[] = [];
  const twice2 = (): void => void seen.push("twice");
  const removedLate2 = (): void => void seen.push("removed during abort");
  ac.signal.addEventListener("abort", twice2, { once: true });
  ac.signal.addEventListener("abort", twice2, { once: true });
  ac.signal.addEventListener("abort", () => ac.signal.removeEventListener("abort", removedLate2));
  ac.signal.addEventListener("abort", removedLate2);
  ac.abort("x");
  assert.deepEqual(seen, ["twice"]);
  assert.deepEqual(calls, seen);
});
