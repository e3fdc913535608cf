/**
 * What SAs and policies say about traffic, shared by the kernel interface (kernel.ts) and the SPD
 * (spd.ts): the encapsulation mode and the traffic selector.
 */

/** Encapsulation mode of an SA. */
export type SaMode = "transport" | "tunnel";

/**
 * Traffic an SA (or a policy) covers: address prefixes (`10.0.0.0/24`, a bare address is a host),
 * upper-layer protocol (0 = any) and ports (0 = any). Tunnel mode carries these as inner addresses.
 */
export interface TrafficSelector {
  src: string;
  dst: string;
  ulp: number;
  srcPort: number;
  dstPort: number;
}
