/**
 * SPD policies (spd.ts) as PF_KEY X_SPDUPDATE extensions (KAME/Linux), and back:
 *
 *   ADDRESS_SRC / ADDRESS_DST   the selector's prefixes, ports, and upper-layer protocol (255 = any)
 *   X_POLICY                    type (IPSEC, NONE for bypass, DISCARD for drop), direction, priority,
 *                               one ipsecrequest per template
 *
 * Linux keeps a template's reqid only at level UNIQUE and only up to IPSEC_MANUAL_REQID_MAX
 * (0x3fff); a template with a reqid is sent UNIQUE, an optional one USE, others REQUIRE. The kernel
 * chooses the policy id (its index); it cannot be set through PF_KEY.
 */
import { ownedPriority, SPD_PRIORITY_BASE, type SpdAction, type SpdDir, type SpdEntry, type SpdPolicy, type SpdTemplate } from "../spd.js";
import { formatPrefix, makePrefix, parseAddress, parsePrefix } from "../address.js";
import { kernelError } from "../errors.js";
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { IPSEC_MANUAL_REQID_MAX, IPSEC_ULPROTO_ANY, IpsecDir, IpsecLevel, IpsecMode, IpsecPolicy } from "./constants.js";
import type { PfkeyExts, SadbAddress } from "./extensions.js";
import type { IpsecRequest } from "./policy-ext.js";

const PROTO: Readonly<Record<string, number>> = { esp: 50, ah: 51, ipcomp: 108 };
const DIR: Readonly<Record<SpdDir, number>> = { in: IpsecDir.INBOUND, out: IpsecDir.OUTBOUND, fwd: IpsecDir.FWD };

/** The PF_KEY direction number of a direction. */
export const pfkeyDir = (d: SpdDir): number => DIR[d];

function selectorAddress(prefix: string, port: number, ulp: number): SadbAddress {
  const p = parsePrefix(prefix)!;
  return { proto: ulp === 0 ? IPSEC_ULPROTO_ANY : ulp, prefixlen: p.length, address: formatPrefix(p).split("/")[0]!, port };
}

function request(t: SpdTemplate): IpsecRequest {
  const reqid = t.reqid ?? 0;
  if (reqid > IPSEC_MANUAL_REQID_MAX) throw kernelError("IKE_ERR_KERNEL_EINVAL", `PF_KEY keeps template reqids up to ${IPSEC_MANUAL_REQID_MAX}, not ${reqid}`);
  const r: IpsecRequest = {
    proto: PROTO[t.proto]!,
    mode: t.mode === "tunnel" ? IpsecMode.TUNNEL : IpsecMode.TRANSPORT,
    level: t.optional === true ? IpsecLevel.USE : reqid !== 0 ? IpsecLevel.UNIQUE : IpsecLevel.REQUIRE,
    reqid,
  };
  if (t.mode === "tunnel") {
    r.src = t.src;
    r.dst = t.dst;
  }
  return r;
}

/** X_SPDUPDATE extensions for a checked policy at `priority`. */
export function policyExtensions(p: SpdPolicy, priority: number): PfkeyExts {
  const s = p.selector;
  return {
    addressSrc: selectorAddress(s.src, s.srcPort, s.ulp),
    addressDst: selectorAddress(s.dst, s.dstPort, s.ulp),
    policy: {
      type: p.action === "drop" ? IpsecPolicy.DISCARD : p.action === "bypass" ? IpsecPolicy.NONE : IpsecPolicy.IPSEC,
      dir: DIR[p.dir],
      id: 0,
      priority,
      requests: p.templates.map(request),
    },
  };
}

/** What the kernel replaces a policy by: direction and selector. */
export function pfkeyIdentity(p: SpdPolicy): string {
  const s = p.selector;
  return [p.dir, s.src, s.dst, s.ulp, s.srcPort, s.dstPort].join("|");
}

const DIR_OF: Readonly<Record<number, SpdDir>> = { [IpsecDir.INBOUND]: "in", [IpsecDir.OUTBOUND]: "out", [IpsecDir.FWD]: "fwd" };
const PROTO_OF: Readonly<Record<number, SpdTemplate["proto"]>> = { 50: "esp", 51: "ah", 108: "ipcomp" };

/** A policy message from the kernel (X_SPDDUMP, X_SPDUPDATE ...) as an `SpdEntry`, or why not. */
export function spdEntryFromPfkey(ext: PfkeyExts, idOf: (index: number) => number): Result<SpdEntry, KernelDecodeError> {
  const { policy, addressSrc: src, addressDst: dst } = ext;
  if (policy === undefined || src === undefined || dst === undefined) return refuse("IKE_ERR_KMSG_MISSING", 0, "policy message without policy or address extensions");
  const dir = DIR_OF[policy.dir];
  if (dir === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `policy direction ${policy.dir}`);
  const sp = makePrefix(parseAddress(src.address)!, src.prefixlen);
  const dp = makePrefix(parseAddress(dst.address)!, dst.prefixlen);
  if (sp === null || dp === null || sp.family !== dp.family) return refuse("IKE_ERR_KMSG_VALUE", 0, "policy selector prefixes");
  const templates: SpdTemplate[] = [];
  for (const r of policy.requests) {
    const proto = PROTO_OF[r.proto];
    if (proto === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `ipsecrequest protocol ${r.proto}`);
    if (r.mode !== IpsecMode.TRANSPORT && r.mode !== IpsecMode.TUNNEL) return refuse("IKE_ERR_KMSG_VALUE", 0, `ipsecrequest mode ${r.mode}`);
    const t: SpdTemplate = { proto, mode: r.mode === IpsecMode.TUNNEL ? "tunnel" : "transport", reqid: r.reqid, optional: r.level === IpsecLevel.USE };
    if (r.src !== undefined) t.src = r.src;
    if (r.dst !== undefined) t.dst = r.dst;
    templates.push(t);
  }
  const action: SpdAction = policy.type === IpsecPolicy.DISCARD ? "drop" : policy.type === IpsecPolicy.IPSEC ? "ipsec" : "bypass";
  const owned = ownedPriority(policy.priority);
  const ulp = src.proto === IPSEC_ULPROTO_ANY ? 0 : src.proto;
  return ok({
    id: owned ? idOf(policy.id) : 0,
    dir,
    selector: { src: formatPrefix(sp), dst: formatPrefix(dp), ulp, srcPort: src.port, dstPort: dst.port },
    action,
    rank: owned ? policy.priority - SPD_PRIORITY_BASE : 0,
    templates,
    index: policy.id,
    priority: policy.priority,
    owned,
  });
}
