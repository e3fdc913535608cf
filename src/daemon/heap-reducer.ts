/**
 * Give V8's unfilled heap back after load subsides (issue 14 goal 5: memory of held SAs). A burst
 * of negotiations leaves the old space fragmented: the held SAs' objects are spread over pages the
 * burst's short-lived objects filled, and V8's ordinary full GCs evacuate at most a few MB of live
 * objects each and keep the free ranges inside the pages they keep resident. At 100,000 held pairs
 * that was ~380 MB committed beyond the 520 MB used (bench/handshake/README.md). A memory-reducing
 * GC evacuates more of the most fragmented pages (up to 12 MB of live objects) and its sweeper gives
 * the OS pages inside the remaining free ranges back to the kernel.
 *
 * So every {@link CHECK_INTERVAL_MS} the reducer counts the young-generation GCs (scavenges) since
 * the last check: more than {@link QUIET_SCAVENGES} means the daemon is allocating, i.e. busy, and
 * nothing runs. A quiet check asks V8 for one memory-reducing GC (`reduce`: incremental marking,
 * finished like V8's own GCs; its closing pause is V8's, bounded by the 12 MB V8 evacuates at
 * most) when V8 has at least {@link MIN_SLACK_BYTES} of old generation committed beyond what it
 * uses ({@link oldGenerationFigures}), the committed old generation has grown by at least
 * {@link MIN_GROWTH_BYTES} since what the last such GC left (read one check after it), and that
 * GC is at least {@link SPACING_CHECKS} checks ago. So: one GC after a spell of load that grew the
 * old generation, none while the daemon is busy or stays idle, none more often than once a
 * minute. Measured at 100,000 held pairs (bench/handshake/README.md): ~1 s of CPU and a closing
 * pause of 60-220 ms each.
 */
import v8 from "node:v8";
import type { Clock, TimerHandle } from "../clock.js";
import { observeGc } from "./gc-observer.js";

/** How often the reducer looks at the GCs since its last look. */
export const CHECK_INTERVAL_MS = 10_000;
/** At most this many scavenges since the last check: the daemon is quiet (each is up to ~32 MB allocated: young-generation.ts). */
export const QUIET_SCAVENGES = 1;
/** Less committed-but-unused old generation than this is not worth a full GC. */
export const MIN_SLACK_BYTES = 32 * 1024 * 1024;
/** The committed old generation must have grown this much since what the last memory-reducing GC left. */
export const MIN_GROWTH_BYTES = 16 * 1024 * 1024;
/** Checks between two memory-reducing GCs, at least (a minute). */
export const SPACING_CHECKS = 6;

/**
 * Committed and used bytes of the old generation: every heap space but the young generation's
 * (`new_space`, `new_large_object_space`). The young generation is left out because a spell of
 * load grows it (to 2 x 32 MB: young-generation.ts) and a scavenge leaves it nearly empty, so with
 * it the heap shows ~50 MB of "slack" after any busy spell, fragmented or not, and every lull of a
 * few checks got a memory-reducing GC, which shrinks the young generation back for the next spell
 * to grow again (and made the daemon's V8 threads busier after each lull: bench/handshake/README.md).
 */
export interface HeapFigures {
  readonly committed: number;
  readonly used: number;
}

/** What the reducer works with; `observeScavenges` and `heap` are for tests. */
export interface HeapReducerOptions {
  readonly clock: Clock;
  /** Ask V8 for a memory-reducing GC (the addon's `heapReduce(false)`). */
  readonly reduce: () => void;
  readonly observeScavenges?: (onScavenge: () => void) => () => void;
  readonly heap?: () => HeapFigures;
  /** Told after each memory-reducing GC is asked for, with the heap before it (the daemon logs it). */
  readonly onReduce?: (before: HeapFigures) => void;
}

/** Watches the allocation rate through scavenges and reduces the heap once it has dropped. */
export class HeapReducer {
  #timer: TimerHandle | undefined;
  #stopObserving: (() => void) | undefined;
  #scavenges = 0;
  /** Checks since the last memory-reducing GC. */
  #sinceReduce = Infinity;
  /** The committed heap one check after the last memory-reducing GC (what it left). */
  #floor = 0;
  #reductions = 0;

  constructor(private readonly o: HeapReducerOptions) {}

  /** Memory-reducing GCs asked for so far. */
  get reductions(): number {
    return this.#reductions;
  }

  start(): void {
    if (this.#stopObserving !== undefined) return;
    this.#stopObserving = (this.o.observeScavenges ?? ((fn) => observeGc("scavenge", fn)))(() => this.#scavenges++);
    this.#arm();
  }

  stop(): void {
    this.#stopObserving?.();
    this.#stopObserving = undefined;
    if (this.#timer !== undefined) this.o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = this.o.clock.setTimer(() => {
      this.#check();
      this.#arm();
    }, CHECK_INTERVAL_MS);
  }

  #check(): void {
    const scavenges = this.#scavenges;
    this.#scavenges = 0;
    const heap = (this.o.heap ?? oldGenerationFigures)();
    if (++this.#sinceReduce === 1) this.#floor = heap.committed;
    if (
      scavenges > QUIET_SCAVENGES ||
      this.#sinceReduce < SPACING_CHECKS ||
      heap.committed - heap.used < MIN_SLACK_BYTES ||
      heap.committed < this.#floor + MIN_GROWTH_BYTES
    ) {
      return;
    }
    this.#sinceReduce = 0;
    this.#reductions++;
    this.o.reduce();
    this.o.onReduce?.(heap);
  }
}

/** The young generation's spaces, which {@link oldGenerationFigures} leaves out. */
const YOUNG_SPACES = new Set(["new_space", "new_large_object_space"]);

/** The old generation's committed and used bytes, from v8.getHeapSpaceStatistics(). */
export function oldGenerationFigures(): HeapFigures {
  let committed = 0;
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (YOUNG_SPACES.has(space.space_name)) continue;
    committed += space.space_size;
    used += space.space_used_size;
  }
  return { committed, used };
}
