import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { ManualClock } from "../helpers/manual-clock.js";
import { IsakmpSa, isLegalTransition, type IsakmpSaContext } from "../../src/ike/isakmp-sa.js";
import { IkeStats } from "../../src/ike/stats.js";
import type { IkeLog } from "../../src/ike/log.js";
import { timerQueueOf } from "../../src/timer-queue.js";

function ctx(): IsakmpSaContext & { lines: Record<string, unknown>[]; clock: ManualClock; log: IkeLog } {
  const lines: Record<string, unknown>[] = [];
  const log: IkeLog = {
    debug: (f, msg) => lines.push({ ...f, msg }),
    info: (f, msg) => lines.push({ ...f, msg }),
    warn: (f, msg) => lines.push({ ...f, msg }),
    error: (f, msg) => lines.push({ ...f, msg }),
  };
  return { clock: new ManualClock(), log, stats: new IkeStats(), lines };
}

const init = (role: "initiator" | "responder") => ({
  role,
  icookie: Buffer.from("0011223344556677", "hex"),
  local: { address: "10.0.0.1", port: 500 },
  remote: { address: "10.0.0.2", port: 500 },
});

test("a timer longer than a clock's longest wait (2^31-1 ms) waits in steps and fires on time", () => {
  const c = ctx();
  let longest = 0;
  const clock = c.clock;
  const sa = new IsakmpSa(init("initiator"), {
    ...c,
    clock: { now: () => clock.now(), setTimer: (fn, ms) => ((longest = Math.max(longest, ms)), clock.setTimer(fn, ms)), clearTimer: (h) => clock.clearTimer(h) },
  });
  const thirtyDays = 30 * 86_400_000;
  let firedAt: number | undefined;
  const start = c.clock.now();
  sa.setTimer("lifetime", thirtyDays, () => (firedAt = c.clock.now() - start));
  c.clock.advance(0x7fffffff);
  assert.equal(firedAt, undefined, "not at 24.8 days");
  assert.deepEqual(sa.timerNames(), ["lifetime"]);
  c.clock.advance(thirtyDays - 0x7fffffff);
  assert.equal(firedAt, thirtyDays);
  assert.equal(c.clock.timerCount, 0);
  assert.equal(longest, 0x7fffffff, "no wait the system clock would cut short");
});

test("legal edges only", () => {
  assert.ok(isLegalTransition("larval", "negotiating"));
  assert.ok(isLegalTransition("negotiating", "established"));
  assert.ok(!isLegalTransition("larval", "established"));
  assert.ok(!isLegalTransition("dead", "larval"));
  const c = ctx();
  const sa = new IsakmpSa(init("initiator"), c);
  assert.throws(() => sa.transition("established", "skip"), /illegal ISAKMP SA transition larval -> established/);
});

test("transitions log old->new with the tag, publish, and keep ikeadm counters", () => {
  const c = ctx();
  const seen: unknown[] = [];
  const sub = (m: unknown) => seen.push(m);
  diagnostics.subscribe("iked:ike:sa-state", sub);
  try {
    const sa = new IsakmpSa(init("initiator"), c);
    assert.equal(sa.tag, "00112233:00000000@10.0.0.2:500");
    sa.transition("negotiating", "MM1 sent");
    sa.transition("established", "MM6 ok");
    assert.deepEqual(
      { ...c.stats.p1 },
      { ...c.stats.p1, init_p1_attempts: 1, init_p1_total: 1, init_p1_current: 1 },
    );
    sa.destroy("deleted");
    assert.equal(c.stats.p1.init_p1_current, 0);
    assert.equal(sa.state, "dead");
    assert.deepEqual(
      c.lines.map((l) => `${l.from}->${l.to}`),
      ["larval->negotiating", "negotiating->established", "established->dead"],
    );
    assert.equal(seen.length, 3);
  } finally {
    diagnostics.unsubscribe("iked:ike:sa-state", sub);
  }
});

test("the state line is made only when the log takes debug lines, and then carries the same fields", () => {
  let debugging = false;
  let tags = 0;
  const c = ctx();
  c.log.debugEnabled = () => debugging;
  const sa = new IsakmpSa(init("responder"), c);
  const tag = Object.getOwnPropertyDescriptor(IsakmpSa.prototype, "tag")!.get!;
  Object.defineProperty(sa, "tag", { get: () => (tags++, tag.call(sa)) });
  sa.transition("negotiating", "MM1 in");
  assert.deepEqual(c.lines, [], "debug off: no line");
  assert.equal(tags, 0, "debug off: no tag made");
  debugging = true;
  sa.transition("established", "MM5 ok");
  assert.deepEqual(c.lines, [{ sa: "00112233:00000000@10.0.0.2:500", from: "negotiating", to: "established", reason: "MM5 ok", msg: "ISAKMP SA state" }]);
  assert.equal(tags, 1);
  debugging = false;
  assert.throws(() => sa.transition("negotiating", "back"), /illegal ISAKMP SA transition established -> negotiating \(00112233:00000000@10\.0\.0\.2:500\)/);
});

test("failure counters: initiator noresp vs respfail, responder fail", () => {
  const c = ctx();
  const a = new IsakmpSa(init("initiator"), c);
  a.transition("negotiating", "MM1 sent");
  a.destroy("retry limit");
  const b = new IsakmpSa(init("initiator"), c);
  b.transition("negotiating", "MM1 sent");
  b.peerAnswered = true;
  b.destroy("auth failed");
  const r = new IsakmpSa(init("responder"), c);
  r.transition("negotiating", "MM1 received");
  r.destroy("no proposal");
  const p1 = c.stats.p1;
  assert.equal(p1.init_p1_attempts, 2);
  assert.equal(p1.init_p1_noresp, 1);
  assert.equal(p1.init_p1_respfail, 1);
  assert.equal(p1.resp_p1_attempts, 1);
  assert.equal(p1.resp_p1_fail, 1);
});

test("timers belong to the SA and die with destroy(); cleanups run once", () => {
  const c = ctx();
  const sa = new IsakmpSa(init("responder"), c);
  let fired = 0;
  let cleaned = 0;
  sa.setTimer("expire", 1000, () => fired++);
  sa.setTimer("lifetime", 5000, () => fired++);
  sa.setTimer("expire", 2000, () => fired++); // re-arm replaces
  assert.deepEqual(sa.timerNames().sort(), ["expire", "lifetime"]);
  assert.equal(timerQueueOf(c.clock).size, 2, "both wait in the clock's timer queue");
  assert.equal(c.clock.timerCount, 1, "behind one clock timer");
  c.clock.advance(1500);
  assert.equal(fired, 0, "the re-armed expire no longer fires at 1000 ms");
  c.clock.advance(1000);
  assert.equal(fired, 1);
  assert.deepEqual(sa.timerNames(), ["lifetime"]);
  sa.onDestroy(() => cleaned++);
  sa.destroy("test");
  sa.destroy("again");
  assert.equal(c.clock.timerCount, 0);
  assert.equal(timerQueueOf(c.clock).size, 0);
  c.clock.advance(10_000);
  assert.equal(fired, 1);
  assert.equal(cleaned, 1);
  assert.equal(sa.deathReason, "test");
});

test("the abort controller: made at first use, let go while idle, aborted with the death reason on destroy (also one made afterwards)", () => {
  const sa = new IsakmpSa(init("responder"), ctx());
  assert.equal(sa.holdsAbort, false);
  const first = sa.abort.signal;
  assert.equal(sa.holdsAbort, true);
  sa.releaseAbort();
  assert.equal(sa.holdsAbort, false);
  assert.equal(first.aborted, false);
  const second = sa.abort.signal;
  sa.destroy("peer went away");
  assert.equal(second.aborted, true);
  assert.equal(second.reason, "peer went away");
  sa.releaseAbort();
  assert.equal(sa.abort.signal.aborted, true, "an aborted controller is kept");
  const late = new IsakmpSa(init("initiator"), ctx());
  late.destroy("gone");
  assert.equal(late.abort.signal.aborted, true, "made after destroy: aborted already");
  assert.equal(late.abort.signal.reason, "gone");
});

test("the SA's abort signal is not a Node AbortSignal (each of those leaves hidden classes in V8's old space)", () => {
  const sa = new IsakmpSa(init("responder"), ctx());
  const signal = sa.abort.signal;
  assert.equal(signal instanceof EventTarget, false);
  let dropped = 0;
  signal.addEventListener("abort", () => dropped++, { once: true });
  sa.destroy("done");
  assert.equal(dropped, 1);
});

test("a destroy listener object registered twice runs once (functions run as often as added); a timer handler object hears its SA and timer name", () => {
  const c = ctx();
  const sa = new IsakmpSa(init("responder"), c);
  const heard: string[] = [];
  const listener = { saDestroyed: (s: IsakmpSa) => heard.push(`listener ${s === sa}`) };
  const fn = () => heard.push("fn");
  sa.onDestroy(listener);
  sa.onDestroy(fn);
  sa.onDestroy(listener);
  sa.onDestroy(fn);
  const handler = { saTimer: (s: IsakmpSa, name: string) => heard.push(`timer ${name} ${s === sa}`) };
  sa.setTimer("soft", 1000, handler);
  sa.armLifetime(2000, handler);
  c.clock.advance(2000);
  assert.deepEqual(heard, ["timer soft true", "timer lifetime true"]);
  heard.length = 0;
  sa.destroy("test");
  assert.deepEqual(heard, ["fn", "fn", "listener true"]);
});

test("a cleanup registered while the context's destroy listeners run runs too, as one registered by a cleanup does", () => {
  const c = ctx();
  const heard: string[] = [];
  const late = (): void => void heard.push("late");
  const engine = {
    saDestroyed: (s: IsakmpSa): void => {
      heard.push("engine");
      s.onDestroy(late);
    },
  };
  const sa = new IsakmpSa(init("responder"), { ...c, destroyListeners: [engine] });
  sa.onDestroy(() => heard.push("own"));
  sa.destroy("test");
  assert.deepEqual(heard, ["own", "engine", "late"]);
  assert.equal(sa.ownCleanups, 0, "nothing left held by the dead SA");
});
