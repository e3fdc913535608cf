/**
 * The per-exchange boundary (issue 11, crash policy): an exception inside one exchange's processing
 * — a queued message, a task step, an SA timer, a retransmission, the first look at a datagram —
 * ends that exchange (SA torn down, tables cleaned, one error line with the SA tag), never the
 * engine; other exchanges carry on. An invariant failure (InvariantError, a failed assert) is not
 * swallowed: it goes to the engine's `fatal` (the daemon's crash policy stops cleanly).
 *
 * Faults are injected through the harness's wrappers (transport, policy), engine event listeners
 * and mocked task methods; nothing in the engine knows about them.
 */
import assert, { AssertionError } from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { InvariantError } from "../../src/errors.js";
import type { IkeLog } from "../../src/ike/log.js";
import { MainMode } from "../../src/ike/phase1/main-mode.js";
import { QuickMode } from "../../src/ike/phase2/quick-mode.js";
import type { Phase1Policy } from "../../src/ike/ports.js";
import type { Transport } from "../../src/ike/transport.js";
import { initiate, makePair, pskText, ruleText, settle, type Pair, type PairOptions } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";
import { snapshot } from "./tables.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";

/** Error lines an engine logged. */
function errorLog(): { log: IkeLog; errors: Record<string, unknown>[] } {
  const errors: Record<string, unknown>[] = [];
  const log: IkeLog = { debug() {}, info() {}, warn() {}, error: (f, msg) => void errors.push({ ...f, msg }) };
  return { log, errors };
}

function pair(more: Partial<PairOptions> = {}): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "fault-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "fault-secret"),
    ...more,
  });
}

/** A transport whose n-th send (1-based) does `what` instead of sending. */
function failingSend(t: Transport, nth: number, what: () => boolean): Transport {
  let n = 0;
  return { send: (d, l, r) => (++n === nth ? what() : t.send(d, l, r)), onDatagram: (h) => t.onDatagram(h) };
}

async function tick(p: Pair, ms: number): Promise<void> {
  p.clock.advance(ms);
  await settle(p);
}

/** After everything is closed and timers have run out, both sides are back at `baseline`. */
async function backToBaseline(p: Pair, baseline: ReturnType<typeof snapshot>): Promise<void> {
  for (const sa of [...p.a.engine.sas.all(), ...p.b.engine.sas.all()]) sa.destroy("test end");
  await tick(p, 4_000_000);
  assert.deepEqual(snapshot(p), baseline);
}

test("a throw while answering (a queued message) ends that exchange at once; the next one succeeds", async () => {
  const { log, errors } = errorLog();
  const p = pair({
    // b's send #1 is MM2 (admission, no SA yet); #2 is MM4, from the SA that MM3 made.
    wrapTransport: (side, t) => (side === "b" ? failingSend(t, 2, () => { throw new TypeError("boom in send"); }) : t),
    engine: { log },
  });
  const baseline = snapshot(p);
  const first = initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 0, "b's faulted SA is gone, not left half-open until expire_timer");
  assert.equal(p.b.engine.sas.halfOpenCount, 0);
  const line = errors.find((e) => e.msg === "internal error: SA torn down");
  assert.ok(line !== undefined, JSON.stringify(errors));
  assert.match(String(line.sa), /^[0-9a-f]{8}:[0-9a-f]{8}@10\.0\.0\.1:500$/);
  assert.match(String(line.err), /boom in send/);
  assert.equal(p.b.engine.stats.negotiations.phase1.main.responder.failed.local, 1, "counted as our own side's failure");
  const second = initiate(p, "to-b");
  await settle(p);
  assert.equal(second.state, "established");
  await tick(p, 500);
  assert.equal(p.b.engine.stats.engine.embryonicMissed, 1, "a's retransmitted MM3 finds nothing left of the faulted exchange");
  assert.equal(p.b.engine.sas.size, 1, "only the second exchange's SA");
  assert.notEqual(first.state, "established");
  await backToBaseline(p, baseline);
});

test("a throw in a retransmission timer ends that SA, not the engine", async () => {
  const { log, errors } = errorLog();
  const p = pair({
    // MM1 is lost (send #1 returns without sending), its first retransmission throws.
    wrapTransport: (side, t) => (side === "a" ? failingSend(failingSend(t, 2, () => { throw new RangeError("boom in retransmit"); }), 1, () => true) : t),
    engine: { log },
  });
  const baseline = snapshot(p);
  const first = initiate(p, "to-b");
  await settle(p);
  assert.equal(first.state, "negotiating");
  await tick(p, 500);
  assert.equal(first.state, "dead");
  assert.match(first.deathReason ?? "", /internal error/);
  assert.ok(errors.some((e) => e.msg === "internal error: SA torn down" && e.sa === first.tag), JSON.stringify(errors));
  const second = initiate(p, "to-b");
  await settle(p);
  assert.equal(second.state, "established");
  await backToBaseline(p, baseline);
});

test("a throw in an SA timer (expire_timer's failure path) ends that SA only", async () => {
  // b's MM2 goes out (MM3 makes b's SA), everything after it from b is lost: b's SA waits for expire_timer.
  let fromB = 0;
  const p = pair({ network: { impair: { filter: (_d, from) => (from.address === "10.0.0.2" && ++fromB > 1 ? "drop" : "pass") } } });
  const baseline = snapshot(p);
  p.b.engine.on("phase1-failed", () => {
    throw new TypeError("boom in a listener");
  });
  initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 1);
  // In steps, so a's retransmissions (until it gives up) arrive while b's SA still lives.
  for (let ms = 0; ms < 300_000; ms += 30_000) await tick(p, 30_000);
  assert.equal(p.b.engine.sas.size, 0, "b's SA ended when its expire_timer threw");
  await backToBaseline(p, baseline);
});

test("a throw in the first look at a datagram (no SA yet) drops it; the retransmission succeeds", async () => {
  const { log, errors } = errorLog();
  let armed = true;
  const wrapPolicy = (side: "a" | "b", pol: Phase1Policy): Phase1Policy =>
    side === "a" ? pol : { ...pol, ruleFor: (l, r) => {
      if (armed) {
        armed = false;
        throw new TypeError("boom in admission");
      }
      return pol.ruleFor(l, r);
    } };
  const p = pair({ wrapPolicy, engine: { log } });
  const baseline = snapshot(p);
  const sa = initiate(p, "to-b");
  await settle(p);
  assert.equal(p.b.engine.sas.size, 0);
  assert.ok(errors.some((e) => /internal error/.test(String(e.msg)) && /boom in admission/.test(String(e.err))), JSON.stringify(errors));
  await tick(p, 500);
  assert.equal(sa.state, "established");
  await backToBaseline(p, baseline);
});

test("a throwing Phase 1 step ends that exchange; the other one completes", async (t: TestContext) => {
  const p = pair();
  const baseline = snapshot(p);
  const first = initiate(p, "to-b");
  const second = initiate(p, "to-b");
  const step = MainMode.prototype.processR;
  t.mock.method(MainMode.prototype, "processR", function (this: MainMode, ...args: Parameters<typeof step>) {
    const sa = (this as unknown as { ctx: { sa: { icookie: Buffer } } }).ctx.sa;
    if (sa.icookie.equals(first.icookie)) throw new TypeError("boom in a step");
    return step.apply(this, args);
  });
  await settle(p);
  assert.equal(second.state, "established");
  assert.equal(p.b.engine.sas.all().filter((s) => s.icookie.equals(first.icookie)).length, 0, "b ended the faulted exchange");
  t.mock.restoreAll();
  await backToBaseline(p, baseline);
});

test("a throwing Quick Mode step ends that Quick Mode; the ISAKMP SA stays up and the next Quick Mode succeeds", async (t: TestContext) => {
  const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
  const failed: string[] = [];
  p.b.engine.on("phase2-failed", (_sa, reason) => failed.push(reason));
  let ups = 0;
  p.a.engine.on("phase2-up", () => ups++);
  const step = QuickMode.prototype.processR;
  let armed = true;
  t.mock.method(QuickMode.prototype, "processR", function (this: QuickMode, ...args: Parameters<typeof step>) {
    if (armed) {
      armed = false;
      throw new TypeError("boom in Quick Mode");
    }
    return step.apply(this, args);
  });
  const sa = p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p);
  assert.equal(sa.state, "established");
  assert.equal(p.b.engine.sas.all()[0]?.state, "established");
  assert.equal(failed.length, 1);
  assert.match(failed[0]!, /internal error: boom in Quick Mode/);
  // Its message ID is spent (replay window): a's retransmitted QM1 is dropped, a new Quick Mode works.
  await tick(p, 500);
  assert.equal(ups, 0, "a retransmitted QM1 is a replay of an ended exchange");
  assert.equal(p.b.engine.sas.phase2Count, 0);
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p);
  assert.equal(ups, 1, "a new Quick Mode on the same ISAKMP SA comes up");
  await closePair(p);
});

test("an invariant failure in a timer or a step goes to fatal, never swallowed as an SA failure", async (t: TestContext) => {
  const fatals: unknown[] = [];
  const p = pair({
    engine: { fatal: (err) => void fatals.push(err) },
    wrapTransport: (side, t0) => (side === "a" ? failingSend(failingSend(t0, 2, () => { throw new AssertionError({ message: "table out of step" }); }), 1, () => true) : t0),
  });
  const swallowed: string[] = [];
  for (const e of [p.a.engine, p.b.engine]) e.on("phase1-failed", (_sa, reason) => swallowed.push(reason));
  const lost = initiate(p, "to-b");
  await settle(p);
  await tick(p, 500);
  assert.equal(fatals.length, 1, "the retransmission timer's AssertionError");
  assert.ok(fatals[0] instanceof AssertionError);
  assert.equal(lost.deathReason, undefined, "not torn down as an ordinary fault: the daemon stops instead");

  let armed = true;
  const step = MainMode.prototype.processR;
  t.mock.method(MainMode.prototype, "processR", function (this: MainMode, ...args: Parameters<typeof step>) {
    if (armed) {
      armed = false;
      throw new InvariantError("key holder used after destroy");
    }
    return step.apply(this, args);
  });
  initiate(p, "to-b");
  await settle(p);
  assert.equal(fatals.length, 2, "the step's InvariantError");
  assert.ok(fatals[1] instanceof InvariantError);
  assert.deepEqual(swallowed, [], "no exchange reported it as an ordinary failure");
  t.mock.restoreAll();
  p.a.engine.close();
  p.b.engine.close();
});
