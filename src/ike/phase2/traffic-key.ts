/**
 * Which outbound traffic an IPsec SA carries, as the kernel chooses SAs for it: Linux
 * (`xfrm_state_find`) sends a flow on the newest SA of the policy template's protocol, mode,
 * addresses and reqid whose selector matches the flow. Our transport-mode SAs have no selector
 * (install.ts), so one carries every flow between the two hosts; a tunnel-mode SA carries the
 * flows of its client IDs. Two SAs with the same key (and protocol, between the same addresses)
 * are interchangeable to the kernel: the newer one takes the traffic the moment it is added.
 */
import type { SaMode } from "../../kernel/kernel.js";
import type { ClientId } from "../../policy/index.js";

/** The traffic key of an SA pair negotiated for `localId` to `remoteId` in `mode`. */
export function trafficKey(mode: SaMode, localId: ClientId, remoteId: ClientId): string {
  if (mode === "transport") return "transport";
  return `tunnel ${localId.prefix} ${localId.ulp} ${localId.port} ${remoteId.prefix} ${remoteId.ulp} ${remoteId.port}`;
}
