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
