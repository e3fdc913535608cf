/**
 * The handshake bench's schedule: in which order the targets of a group are measured in each
 * round, and how many unmeasured negotiations (warm-up) each target gets before each round.
 *
 * Order. The targets' positions in a round are not equal: the first target measured runs right
 * after the previous group's (or the start-up's) load, the others after another target's, and a
 * daemon that sat idle longer may have dropped compiled code (bench README, "Why a warm daemon
 * compiles again"). A plain rotation (round r starts at target r) puts every target in every
 * position only when the rounds are a multiple of the targets; three rounds of five targets
 * leave target 0 at positions 0, 4, 3 and target 2 at 2, 1, 0. So:
 * - rounds a multiple of the targets: the rotation, a Latin square (each target in each position
 *   equally often);
 * - otherwise pairs of rounds in opposite orders: round 2k is the order rotated by k, round 2k+1
 *   is round 2k reversed, so over each pair every target's mean position is the middle one; with
 *   an odd number of rounds the last one is unpaired.
 *
 * Warm-up. In.iked compiles (TurboFan) for thousands of negotiations after it starts, and again
 * after an idle spell; strongSwan has no JIT. Each target gets `first` negotiations (by kind)
 * before its first measured round and `each` before every later round, right before it.
 */

/** The order (target indices) of every round, round 0 first. */
export function roundOrders(targets: number, rounds: number): number[][] {
  const rotated = (by: number): number[] => Array.from({ length: targets }, (_, k) => (k + by) % targets);
  const orders: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    if (rounds % targets === 0) orders.push(rotated(r));
    else if (r % 2 === 0) orders.push(rotated(r / 2));
    else orders.push([...orders[r - 1]!].reverse());
  }
  return orders;
}

/** Which rule roundOrders used, for the bench's header. */
export function orderRule(targets: number, rounds: number): string {
  if (rounds === 1) return "one round";
  if (rounds % targets === 0) return `rotation: each target in each position ${rounds / targets} time(s)`;
  return `pairs of rounds in opposite orders (round 2k rotated by k, round 2k+1 its reverse)${rounds % 2 === 1 ? "; the last round unpaired" : ""}`;
}

/** Warm-up negotiations per target: before its first measured round (by kind) and before each later one. */
export interface WarmupPlan {
  readonly first: { readonly daemon: number; readonly strongswan: number; readonly bench: number };
  readonly each: number;
}

/** How many warm-up negotiations a target of `kind` gets right before its measured round `round`. */
export function warmupBefore(plan: WarmupPlan, kind: keyof WarmupPlan["first"], round: number): number {
  return round === 0 ? plan.first[kind] : plan.each;
}

/**
 * Default warm-up, from consecutive windows of 500 negotiations against each target started cold
 * (bench/handshake/windows.ts; bench README, "2026-12-07 (late), the bench's warm-up, order and
 * generator GC"): in.iked's V8 threads settle after 2,500-3,000 negotiations (this tree's and the
 * base's alike); charon has no JIT, but the generator (this process) warms over its first ~2,000,
 * and strongSwan is the first target of each group. Before later rounds: the generator's young
 * generation shrinks while a target sits idle (30 scavenges in the first window after 20 s idle
 * against 4-5), and an idle in.iked may compile again (its heap reducer).
 */
export const DEFAULT_WARMUP: WarmupPlan = { first: { daemon: 3000, strongswan: 2000, bench: 3000 }, each: 500 };

/** The plan from `--warmup N` (every kind's first warm-up) and `--warmup-each N`; defaults where absent. */
export function warmupPlanOf(warmup: string | undefined, each: string | undefined): WarmupPlan {
  const count = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: not a whole number of negotiations: ${text}`);
    return n;
  };
  const first = warmup === undefined ? DEFAULT_WARMUP.first : { daemon: count("--warmup", warmup), strongswan: count("--warmup", warmup), bench: count("--warmup", warmup) };
  return { first, each: each === undefined ? DEFAULT_WARMUP.each : count("--warmup-each", each) };
}
