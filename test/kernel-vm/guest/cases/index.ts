/**
 * Every case the kernel-VM suite runs in its one boot, in order. A case is a name and an async
 * function that throws on failure; it cleans up after itself (withKernels flushes SAs and removes the
 * policies it installed), so the next one starts from a clean kernel.
 *
 * Then in.iked itself on each side (daemon.ts), through a real NAT (natt.ts), against strongSwan and Libreswan (interop.ts), and
 * the README's example script (example.ts), in the same boot.
 */
import { daemonCases } from "./daemon.js";
import { eventCases } from "./events.js";
import { exampleCases } from "./example.js";
import { interopCases } from "./interop.js";
import { nattCases } from "./natt.js";
import { resyncCases } from "./resync.js";
import { trafficCases } from "./traffic.js";

/** One guest case. */
export interface GuestCase {
  readonly name: string;
  run(): Promise<void>;
  /** Longer than the runner's default (daemons under TCG, lifetimes that must run out). */
  readonly timeoutMs?: number;
}

/** Backend-level cases: both kernel interfaces, the same proofs. */
const backendCases: GuestCase[] = (["xfrm", "pfkey"] as const).flatMap((kind) => [...trafficCases(kind), ...eventCases(kind), ...resyncCases(kind)]);

export const CASES: readonly GuestCase[] = [...backendCases, ...daemonCases(), ...nattCases(), ...interopCases(), ...exampleCases()];
