/**
 * Every case the kernel-VM suite runs in its one boot, in order. A case is a name and an async
 * function that throws on failure; it cleans up after itself (withKernels flushes SAs and removes the
 * policies it installed), so the next one starts from a clean kernel.
 *
 * Later suites (in.iked on each side; strongSwan and Libreswan as peers inside the VM) append their
 * lists here and run in the same boot.
 */
import { eventCases } from "./events.js";
import { trafficCases } from "./traffic.js";

/** One guest case. */
export interface GuestCase {
  readonly name: string;
  run(): Promise<void>;
}

/** Backend-level cases: both kernel interfaces, the same proofs. */
const backendCases: GuestCase[] = (["xfrm", "pfkey"] as const).flatMap((kind) => [...trafficCases(kind), ...eventCases(kind)]);

export const CASES: readonly GuestCase[] = [...backendCases];
