/**
 * SPD policies (spd.ts) as XFRM `xfrm_userpolicy_info` + XFRMA_TMPL, and back. Each template asks
 * for any algorithm (aalgos/ealgos/calgos all ones): which algorithms an SA uses is the negotiation's
 * business, from ipsecinit.conf. The kernel replaces a policy by selector, direction, type, mark and
 * interface; the daemon's have type main, no mark and no interface.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { ownedPriority, SPD_PRIORITY_BASE, type SpdAction, type SpdDir, type SpdEntry, type SpdPolicy, type SpdTemplate } from "../spd.js";
import type { XfrmAttrs } from "./attributes.js";
import { XfrmMode, XfrmPolicyAction, XfrmPolicyDir, XfrmPolicyType } from "./constants.js";
import { fromXfrmAddress, fromXfrmSelector, infiniteLifetime, toXfrmAddress, toXfrmSelector } from "./selector.js";
import type { XfrmSelector, XfrmUserTmpl, XfrmUserpolicyInfo } from "./structs.js";
import { PROTO_NUMBER, protoOf } from "./xfrm-sa.js";

const DIR_NUMBER: Readonly<Record<SpdDir, number>> = { in: XfrmPolicyDir.IN, out: XfrmPolicyDir.OUT, fwd: XfrmPolicyDir.FWD };
const ALL_ALGORITHMS = 0xffffffff;

/** The XFRM direction number of a direction. */
export const dirNumber = (d: SpdDir): number => DIR_NUMBER[d];

/** The direction of an XFRM policy direction number, or undefined. */
export function dirOf(n: number): SpdDir | undefined {
  return n === XfrmPolicyDir.IN ? "in" : n === XfrmPolicyDir.OUT ? "out" : n === XfrmPolicyDir.FWD ? "fwd" : undefined;
}

/** What the kernel replaces a policy by: its selector, direction, mark and interface. */
export function xfrmIdentity(sel: XfrmSelector, dir: number, mark: number): string {
  return [dir, sel.family, sel.saddr.toString("hex"), sel.prefixlenS, sel.daddr.toString("hex"), sel.prefixlenD, sel.proto, sel.sport & sel.sportMask, sel.sportMask, sel.dport & sel.dportMask, sel.dportMask, sel.ifindex, mark].join("/");
}

/** The identity of a policy the daemon would install. */
export const policyIdentity = (p: SpdPolicy): string => xfrmIdentity(toXfrmSelector(p.selector), DIR_NUMBER[p.dir], 0);

function toTemplate(t: SpdTemplate, family: number): XfrmUserTmpl {
  const tunnel = t.mode === "tunnel";
  const src = tunnel ? toXfrmAddress(t.src!)! : { bytes: Buffer.alloc(16), family };
  const dst = tunnel ? toXfrmAddress(t.dst!)! : { bytes: Buffer.alloc(16), family };
  return {
    id: { daddr: dst.bytes, spi: 0, proto: PROTO_NUMBER[t.proto] },
    family: dst.family,
    saddr: src.bytes,
    reqid: t.reqid ?? 0,
    mode: tunnel ? XfrmMode.TUNNEL : XfrmMode.TRANSPORT,
    share: 0,
    optional: t.optional === true ? 1 : 0,
    aalgos: ALL_ALGORITHMS,
    ealgos: ALL_ALGORITHMS,
    calgos: ALL_ALGORITHMS,
  };
}

/** UPDPOLICY body and attributes for a checked policy at `priority`. */
export function userpolicyFromSpd(p: SpdPolicy, priority: number): { info: XfrmUserpolicyInfo; attrs: XfrmAttrs } {
  const sel = toXfrmSelector(p.selector);
  const info: XfrmUserpolicyInfo = {
    sel,
    lft: infiniteLifetime(),
    curlft: { bytes: 0n, packets: 0n, addTime: 0n, useTime: 0n },
    priority,
    index: 0,
    dir: DIR_NUMBER[p.dir],
    action: p.action === "drop" ? XfrmPolicyAction.BLOCK : XfrmPolicyAction.ALLOW,
    flags: 0,
    share: 0,
  };
  const attrs: XfrmAttrs = { policyType: { type: XfrmPolicyType.MAIN } };
  if (p.templates.length > 0) attrs.tmpls = p.templates.map((t) => toTemplate(t, sel.family));
  return { info, attrs };
}

/**
 * A policy the kernel reported, as an `SpdEntry`; `idOf` gives the caller's id of one of ours by
 * kernel index (0 when unknown). Policies the model cannot state (a template mode other than
 * transport or tunnel, an unknown protocol or family) are refused, and the caller skips them.
 */
export function spdEntryFromXfrm(info: XfrmUserpolicyInfo, attrs: XfrmAttrs, idOf: (index: number) => number): Result<SpdEntry, KernelDecodeError> {
  const dir = dirOf(info.dir);
  if (dir === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `policy direction ${info.dir}`);
  const selector = fromXfrmSelector(info.sel);
  if (selector === null || selector === "bad") return refuse("IKE_ERR_KMSG_VALUE", 0, `policy selector family ${info.sel.family}`);
  const templates: SpdTemplate[] = [];
  for (const t of attrs.tmpls ?? []) {
    const proto = protoOf(t.id.proto);
    if (proto === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `template protocol ${t.id.proto}`);
    if (t.mode !== XfrmMode.TRANSPORT && t.mode !== XfrmMode.TUNNEL) return refuse("IKE_ERR_KMSG_VALUE", 0, `template mode ${t.mode}`);
    const out: SpdTemplate = { proto, mode: t.mode === XfrmMode.TUNNEL ? "tunnel" : "transport", reqid: t.reqid, optional: t.optional !== 0 };
    if (t.mode === XfrmMode.TUNNEL) {
      const src = fromXfrmAddress(t.saddr, t.family);
      const dst = fromXfrmAddress(t.id.daddr, t.family);
      if (src === null || dst === null) return refuse("IKE_ERR_KMSG_VALUE", 0, `template family ${t.family}`);
      out.src = src;
      out.dst = dst;
    }
    templates.push(out);
  }
  const action: SpdAction = info.action === XfrmPolicyAction.BLOCK ? "drop" : templates.length > 0 ? "ipsec" : "bypass";
  const owned = ownedPriority(info.priority) && (attrs.mark === undefined || attrs.mark.m === 0);
  return ok({
    id: owned ? idOf(info.index) : 0,
    dir,
    selector,
    action,
    rank: owned ? info.priority - SPD_PRIORITY_BASE : 0,
    templates,
    index: info.index,
    priority: info.priority,
    owned,
  });
}
