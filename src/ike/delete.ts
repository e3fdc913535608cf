/**
 * Deleting an ISAKMP SA the polite way (RFC 2408 section 3.15 on RFC 2409 section 5.7): protected
 * Informationals with Delete payloads for the IPsec SAs it negotiated (also removed from the kernel)
 * and for itself, then tear-down. `ikeadm del p1`, shutdown and the end of a Phase 1 lifetime use it.
 */
import type { EngineIo } from "./engine-io.js";
import { deleteIpsec, deleteIsakmp } from "./informational.js";
import type { IpsecSas } from "./ipsec-sas.js";
import type { IsakmpSa } from "./isakmp-sa.js";

/** Delete `sa`, telling the peer when keys exist; `withIpsec`: its IPsec SAs go too. */
export async function deleteIsakmpSa(io: EngineIo, ipsec: IpsecSas, sa: IsakmpSa, reason = "deleted", withIpsec = true): Promise<void> {
  if ((sa.state === "established" || sa.state === "expired") && sa.keymat?.derived) {
    const chosen = withIpsec ? ipsec.of(sa) : [];
    for (const proto of ["esp", "ah"] as const) {
      const mine = chosen.filter((c) => c.proto === proto);
      if (mine.length === 0) continue;
      io.sendInformational(sa, [deleteIpsec(proto, mine.map((c) => c.inboundSpi))]);
      for (const c of mine) await ipsec.removePair(sa, proto, c.outboundSpi, c.inboundSpi);
      // close() or a peer's Delete may have destroyed the SA (and wiped its keys) meanwhile.
      if (sa.isDead()) return;
    }
    io.sendInformational(sa, [deleteIsakmp(sa)]);
  }
  // Without them, the IPsec SAs live on in the kernel: still followed until they leave it.
  if (!withIpsec) ipsec.orphan(sa);
  sa.destroy(reason);
}
