/**
 * Diffie-Hellman groups in ike.config: the set the reference documents (`OAKLEY_GROUPS`, §7.2)
 * against the set this iked can compute (the crypto table `ikeadm dump groups` prints). A group
 * in the first set but not the second is valid syntax that would never negotiate.
 */
import { groupById } from "../crypto/algorithms.js";
import { OAKLEY_GROUPS } from "./names.js";

/** Values accepted for `p2_pfs`: 0 (no PFS) or any documented group. */
export function isPfsGroup(v: number): boolean {
  return v === 0 || OAKLEY_GROUPS.has(v);
}

/** True when iked can compute the group. */
export function isImplementedGroup(v: number): boolean {
  return groupById(v) !== undefined;
}

/** The documented groups iked implements, for messages: `1, 2, 5, ...`. */
export function implementedGroupList(): string {
  return [...OAKLEY_GROUPS].filter(isImplementedGroup).join(", ");
}
