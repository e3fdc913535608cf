/**
 * The handshake bench's schedule (bench/handshake/rounds.ts): the order of the targets in each
 * round, and the warm-up before each round.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_WARMUP, orderRule, roundOrders, warmupBefore, warmupPlanOf } from "../../bench/handshake/rounds.js";

/** Each target's sum of positions over the given rounds. */
function positionSums(orders: readonly (readonly number[])[], targets: number): number[] {
  const sums = new Array<number>(targets).fill(0);
  for (const o of orders) o.forEach((t, pos) => (sums[t]! += pos));
  return sums;
}

test("every round measures every target once", () => {
  for (const targets of [1, 2, 3, 5, 7]) {
    for (const rounds of [1, 2, 3, 4, 5, 10]) {
      for (const o of roundOrders(targets, rounds)) assert.deepEqual([...o].sort((a, b) => a - b), Array.from({ length: targets }, (_, i) => i));
    }
  }
});

test("rounds a multiple of the targets put each target in each position equally often", () => {
  for (const [targets, rounds] of [[3, 3], [5, 5], [5, 10], [4, 8]] as const) {
    const orders = roundOrders(targets, rounds);
    for (let t = 0; t < targets; t++) {
      const positions = orders.map((o) => o.indexOf(t)).sort((a, b) => a - b);
      const expected = Array.from({ length: rounds }, (_, i) => Math.floor(i / (rounds / targets)));
      assert.deepEqual(positions, expected, `${targets} targets, ${rounds} rounds, target ${t}`);
    }
  }
});

test("with fewer rounds each pair of rounds gives every target the same mean position", () => {
  // Three or two rounds of five targets (the usual --workers 1,2 --baseline-tree run): a plain
  // rotation leaves target 0 at 0, 4 and target 4 at 4, 3.
  for (const [targets, rounds] of [[5, 2], [5, 3], [5, 4], [3, 2], [4, 6]] as const) {
    const orders = roundOrders(targets, rounds);
    const paired = orders.slice(0, rounds - (rounds % 2));
    for (const s of positionSums(paired, targets)) assert.equal(s, ((targets - 1) * paired.length) / 2, `${targets} targets, ${rounds} rounds`);
  }
  // The unpaired third round: its spread is one round's, no more.
  const sums = positionSums(roundOrders(5, 3), 5);
  assert.ok(Math.max(...sums) - Math.min(...sums) <= 4, sums.join(" "));
});

test("the rule is named for the header", () => {
  assert.match(orderRule(5, 5), /each target in each position 1 time/);
  assert.match(orderRule(5, 3), /opposite orders.*last round unpaired/);
  assert.match(orderRule(5, 4), /opposite orders/);
  assert.doesNotMatch(orderRule(5, 4), /unpaired/);
  assert.equal(orderRule(5, 1), "one round");
});

test("warm-up: by kind before the first round, `each` before every later one", () => {
  const plan = { first: { daemon: 3000, strongswan: 500, bench: 2000 }, each: 400 };
  assert.equal(warmupBefore(plan, "daemon", 0), 3000);
  assert.equal(warmupBefore(plan, "strongswan", 0), 500);
  assert.equal(warmupBefore(plan, "bench", 0), 2000);
  for (const kind of ["daemon", "strongswan", "bench"] as const) assert.equal(warmupBefore(plan, kind, 2), 400);
});

test("warm-up options: --warmup sets every kind's first warm-up, defaults otherwise", () => {
  assert.deepEqual(warmupPlanOf(undefined, undefined), DEFAULT_WARMUP);
  // in.iked compiles for thousands of negotiations; strongSwan has no JIT.
  assert.ok(DEFAULT_WARMUP.first.daemon > DEFAULT_WARMUP.first.strongswan);
  assert.ok(DEFAULT_WARMUP.each > 0);
  assert.deepEqual(warmupPlanOf("300", undefined), { first: { daemon: 300, strongswan: 300, bench: 300 }, each: DEFAULT_WARMUP.each });
  assert.deepEqual(warmupPlanOf("16", "0"), { first: { daemon: 16, strongswan: 16, bench: 16 }, each: 0 });
  assert.throws(() => warmupPlanOf("-1", undefined), /--warmup/);
  assert.throws(() => warmupPlanOf(undefined, "x"), /--warmup-each/);
});
