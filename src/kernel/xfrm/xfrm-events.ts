/**
 * What the XFRM multicast groups say, as kernel-interface events (kernel.ts):
 *
 *   ACQUIRE (XFRMNLGRP_ACQUIRE)   xfrm_user_acquire: the flow (sel), the SA wanted (id, saddr), the
 *                                 policy (index) and its templates      → AcquireEvent
 *   EXPIRE (XFRMNLGRP_EXPIRE)     xfrm_user_expire: the SA and `hard`   → ExpireEvent
 *   DELSA (XFRMNLGRP_SA)          xfrm_usersa_id + XFRMA_SA             → DeleteEvent, unless ours
 *   FLUSHSA (XFRMNLGRP_SA)        xfrm_usersa_flush                     → FlushEvent, unless ours
 *
 * Messages the daemon caused carry its request socket's port id; they, NEWSA/UPDSA notices and policy
 * notices are not events. An EXPIRE of SPI 0 is the kernel's own larval ACQUIRE state timing out
 * (net.core.xfrm_acq_expires): nothing the daemon made.
 */
import type { AcquireEvent, ExpireEvent, ExpireReason, KernelEvent, SaInfo } from "../kernel.js";
import type { SaMetaTable } from "../sa-meta.js";
import { XfrmMsg, IPSEC_PROTO_ANY } from "./constants.js";
import type { XfrmMessage } from "./message.js";
import { fromXfrmAddress, fromXfrmSelector } from "./selector.js";
import type { XfrmUsersaInfo } from "./structs.js";
import { protoOf, saInfoFromUsersa } from "./xfrm-sa.js";

/** What the translation needs to know. */
export interface XfrmEventContext {
  /** Port id of the daemon's request socket: notices with it are the daemon's own doing. */
  readonly ownPort: number;
  /** The caller's id of one of its policies by kernel index (0: not ours). */
  idOf(index: number): number;
  readonly meta: SaMetaTable;
  /** Seconds since the epoch, for telling an add-time expiry from a use-time one. */
  nowSeconds(): number;
}

/** An event, or why the message is none. */
export type XfrmEventResult = { event: KernelEvent } | { none: string };

/** Which limit an expired SA reached, from its counters against its limits. */
export function expireReason(info: XfrmUsersaInfo, hard: boolean, larval: boolean, nowSeconds: number): ExpireReason {
  if (larval) return "larval";
  const l = info.lft;
  const c = info.curlft;
  const bytes = hard ? l.hardByteLimit : l.softByteLimit;
  const packets = hard ? l.hardPacketLimit : l.softPacketLimit;
  const use = hard ? l.hardUseExpiresSeconds : l.softUseExpiresSeconds;
  if (c.bytes >= bytes) return "bytes";
  if (c.packets >= packets) return "allocations";
  if (use !== 0n && c.useTime !== 0n && BigInt(nowSeconds) >= c.useTime + use) return "usetime";
  return "addtime";
}

function acquireEvent(m: XfrmMessage, ctx: XfrmEventContext): XfrmEventResult {
  if (m.body.kind !== "acquire") return { none: "not an acquire" };
  const a = m.body.acquire;
  const proto = protoOf(a.id.proto);
  const flow = fromXfrmSelector(a.sel);
  const src = fromXfrmAddress(a.saddr, a.sel.family);
  const dst = fromXfrmAddress(a.id.daddr, a.sel.family);
  if (proto === undefined || flow === null || flow === "bad") return { none: `acquire for protocol ${a.id.proto}, selector family ${a.sel.family}` };
  const tmpl = (m.attrs.tmpls ?? []).find((t) => t.id.proto === a.id.proto);
  const policySel = fromXfrmSelector(a.policy.sel);
  const address = (prefix: string): string => prefix.slice(0, prefix.indexOf("/"));
  const event: AcquireEvent = {
    type: "acquire",
    seq: a.seq,
    src: { address: address(flow.src), port: flow.srcPort },
    dst: { address: address(flow.dst), port: flow.dstPort },
    ulp: flow.ulp,
    proto,
    mode: tmpl?.mode === 1 ? "tunnel" : "transport",
    policy: { index: ctx.idOf(a.policy.index), selector: policySel === "bad" ? null : policySel, combinations: [] },
  };
  // The SA's own family may differ from the flow's (IPv6 over an IPv4 tunnel): read it from the template.
  const family = tmpl?.family ?? a.sel.family;
  const saSrc = fromXfrmAddress(a.saddr, family) ?? src;
  const saDst = fromXfrmAddress(a.id.daddr, family) ?? dst;
  if (saSrc !== null && saDst !== null) event.endpoints = { src: saSrc, dst: saDst };
  return { event };
}

function expireEvent(m: XfrmMessage, ctx: XfrmEventContext): XfrmEventResult {
  if (m.body.kind !== "expire") return { none: "not an expire" };
  const { state, hard } = m.body.expire;
  if (state.id.spi === 0) return { none: "larval ACQUIRE state expired" };
  const info = saInfoFromUsersa(state, m.attrs, undefined, false);
  if (!info.ok) return { none: `expire of an SA the interface cannot state: ${info.error.message}` };
  const sa: SaInfo = info.value;
  const meta = ctx.meta.get(sa.proto, sa.spi, sa.dst);
  const reason = expireReason(state, hard !== 0, meta?.larval === true, ctx.nowSeconds());
  if (meta !== undefined) {
    sa.label = meta.label;
    sa.kmCookie = meta.kmCookie;
    sa.pairSpi = meta.pairSpi;
  }
  if (hard !== 0) {
    ctx.meta.delete(sa.proto, sa.spi, sa.dst);
    sa.state = "dead";
  } else {
    if (meta !== undefined) meta.dying = true;
    sa.state = "dying";
  }
  const event: ExpireEvent = { type: "expire", kind: hard !== 0 ? "hard" : "soft", reason, sa };
  return { event };
}

/** Translates one message from the event socket. */
export function xfrmEvent(m: XfrmMessage, ctx: XfrmEventContext): XfrmEventResult {
  switch (m.type) {
    case XfrmMsg.ACQUIRE:
      return acquireEvent(m, ctx);
    case XfrmMsg.EXPIRE:
      return expireEvent(m, ctx);
    case XfrmMsg.DELSA: {
      if (m.pid === ctx.ownPort && m.pid !== 0) return { none: "our own DELSA" };
      if (m.body.kind !== "usersaId") return { none: "DELSA without an SA id" };
      const id = m.body.id;
      const proto = protoOf(id.proto);
      const dst = fromXfrmAddress(id.daddr, id.family);
      const src = m.attrs.sa === undefined ? null : fromXfrmAddress(m.attrs.sa.saddr, m.attrs.sa.family);
      if (proto === undefined || dst === null || src === null) return { none: `DELSA of protocol ${id.proto}` };
      ctx.meta.delete(proto, id.spi, dst);
      return { event: { type: "delete", src, dst, proto, spi: id.spi } };
    }
    case XfrmMsg.FLUSHSA: {
      if (m.pid === ctx.ownPort && m.pid !== 0) return { none: "our own FLUSHSA" };
      if (m.body.kind !== "flushsa") return { none: "FLUSHSA without a body" };
      const p = m.body.flush.proto;
      const proto = p === IPSEC_PROTO_ANY || p === 0 ? null : protoOf(p);
      if (proto === undefined) return { none: `FLUSHSA of protocol ${p}` };
      ctx.meta.clear(proto ?? undefined);
      return { event: { type: "flush", proto } };
    }
    default:
      return { none: "notice" };
  }
}
