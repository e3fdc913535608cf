/**
 * IPsec SAs following their peer's NAT mapping (RFC 3947 sections 4 and 7, RFC 3948): the kernel's
 * UDP-encapsulated ESP SAs of an ISAKMP SA take its current NAT-T ports, both directions, keys,
 * lifetimes and counters kept (Kernel.updateEncap). Asked by the IPsec SA table when an
 * authenticated message moved an ISAKMP SA (ipsec-sas.ts followPeer), and for a Quick Mode that
 * finished after such a move with SAs installed at the ports its ISAKMP SA had before (catchUp).
 */
import type { Kernel } from "../kernel/kernel.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ChosenSa } from "./phase2/install.js";
import { kernelEncap } from "./phase2/nat-oa.js";
import { endpointKey } from "./transport.js";

/** An IPsec SA pair and the ISAKMP SA it is recorded under (ipsec-sas.ts calls it IpsecOwner). */
export interface RecordedPair {
  readonly sa: IsakmpSa;
  readonly chosen: ChosenSa;
}

/** What following did: SAs updated, pairs the kernel refused, pairs already gone from it. */
export interface PeerFollowed {
  updated: number;
  readonly failed: RecordedPair[];
  readonly gone: RecordedPair[];
}

/** Nothing followed. */
export function nothingFollowed(): PeerFollowed {
  return { updated: 0, failed: [], gone: [] };
}

/**
 * Give the ESP pairs `pairs` the NAT-T ports of `sa` (their addresses are `sa`'s: only ports ever
 * change). Each pair on its own: one the kernel refuses is logged and returned in `failed` (the
 * caller deletes it, so that traffic negotiates afresh); one the kernel no longer holds (half of it
 * expired or was deleted a moment before) is no refusal: returned in `gone` (the caller forgets it
 * quietly); the others go on.
 */
export async function followPorts(kernel: Kernel, log: IkeLog, sa: IsakmpSa, pairs: readonly RecordedPair[]): Promise<PeerFollowed> {
  const out = nothingFollowed();
  const ports = { local: sa.local.port, remote: sa.remote.port };
  const inbound = kernelEncap(ports, "in");
  const outbound = kernelEncap(ports, "out");
  for (const { sa: owner, chosen } of pairs) {
    if (chosen.proto !== "esp") continue;
    const spis = `${chosen.inboundSpi.toString(16)}/${chosen.outboundSpi.toString(16)}`;
    try {
      const i = await kernel.updateEncap(sa.remote.address, sa.local.address, "esp", chosen.inboundSpi, inbound);
      const o = i.kind === "gone" ? i : await kernel.updateEncap(sa.local.address, sa.remote.address, "esp", chosen.outboundSpi, outbound);
      if (o.kind === "gone") {
        log.debug({ sa: owner.tag, spis }, "NAT-T: IPsec SAs already gone from the kernel, not followed");
        out.gone.push({ sa: owner, chosen });
        continue;
      }
      out.updated += 2;
    } catch (err) {
      log.warn({ sa: owner.tag, spis, err: String(err) }, "NAT-T: the kernel refused the IPsec SAs' new UDP ports");
      out.failed.push({ sa: owner, chosen });
    }
  }
  if (out.updated + out.failed.length > 0) {
    log.info({ sa: sa.tag, peer: endpointKey(sa.remote), updated: out.updated, failed: out.failed.length, gone: out.gone.length }, "NAT-T: IPsec SAs follow the peer's new port");
  }
  return out;
}
