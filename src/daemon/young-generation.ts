/**
 * V8's young generation for the daemon. Most of a negotiation's objects die within a second, but
 * with Node 20's default semi-space (16 MB) at a few hundred negotiations/s they outlive the two
 * scavenges that promote them, and die in the old generation: a full (mark-compact) GC every
 * ~2 s, pauses of 5-10 ms in the latency tail. A 32 MB semi-space lets them die young (about a
 * third of the full GCs; bench/handshake/README.md, 2026-12-07 "young generation").
 *
 * V8 sizes the heap once, when the isolate starts (`v8.setFlagsFromString` afterwards changes
 * nothing), so the flag goes on node's command line: in the launcher's `#!` line, in `npm start`
 * and, for a launcher run by `node` without it, on the detached daemon's command line here.
 * An explicit `--max-semi-space-size` (command line or NODE_OPTIONS) wins.
 */

/** The semi-space size (MB) the daemon runs with unless told otherwise. */
export const DAEMON_SEMI_SPACE_MB = 32;

const SEMI_FLAG = /^--max[-_]semi[-_]space[-_]size(=|$)/;

/** Node flags to add for the daemon's process: none when a semi-space size is given already. */
export function youngGenerationArgs(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) => SEMI_FLAG.test(a));
  return given ? [] : [`--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`];
}
