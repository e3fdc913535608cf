/**
 * A floor under V8's old-generation limit for the daemon (issue 14 goal 6). After each full
 * (mark-compact) GC V8 sets the limit to max(live x factor, live + 8 MB) + the young generation's
 * capacity, and starts marking for the next full GC as soon as the room left under the limit drops
 * below that capacity: so the room is max(live x (factor - 1), 8 MB). Under steady load its
 * growing factor stays at its 1.1 minimum (old-space allocation is slow against V8's marking
 * speed), so with in.iked's ~18 MB live the room is the 8 MB step, and V8 counts against it both
 * what scavenges promote and the external memory (Buffers' backing stores) allocated since the
 * last full GC. At 350 negotiations/s a negotiation's promoted Buffers alone use up ~4-6 MB of
 * it per 2 s: a full GC every ~1.5-2.5 s, each with its pause and its burst of GC helper threads
 * in the latency tail (bench/handshake/README.md, 2026-12-08 "the full GCs at half peak").
 *
 * `--initial-old-space-size` is V8's floor for that limit ("allow V8 to skip full GCs below that
 * threshold", heap.cc ConfigureHeap): with 128 MB the room at ~18 MB live is ~78 MB, a full GC
 * every ~30 s at that load. Above ~90 MB live (held SAs: goal 5) the floor no longer matters and
 * V8's own limit applies unchanged. Like the young generation's size (young-generation.ts) it is
 * read once, when the isolate starts, so it goes on node's command line: in the launcher's `#!`
 * line, in `npm start` and, for a launcher run by `node` without it, on the detached daemon's
 * command line. An explicit `--initial-old-space-size` or `--initial-heap-size` wins: either sets
 * the floor (Node 20 takes them on its command line only, not in NODE_OPTIONS; both are looked at).
 */

/** The old generation's floor (MB) the daemon runs with unless told otherwise. */
export const DAEMON_OLD_SPACE_FLOOR_MB = 128;

const FLOOR_FLAG = /^--initial[-_](old[-_]space|heap)[-_]size(=|$)/;

/** Node flags to add for the daemon's process: none when a floor is given already. */
export function oldGenerationArgs(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) => FLOOR_FLAG.test(a));
  return given ? [] : [`--initial-old-space-size=${DAEMON_OLD_SPACE_FLOOR_MB}`];
}
