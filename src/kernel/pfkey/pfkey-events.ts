/**
 * What a registered PF_KEY socket hears unasked, as kernel-interface events (kernel.ts):
 *
 *   SADB_ACQUIRE (pid 0)     addresses of the SA wanted, the policy's id, proposals  → AcquireEvent
 *   SADB_EXPIRE (pid 0)      the SA, its counters and the soft or hard lifetime hit    → ExpireEvent
 *   SADB_DELETE (others)     the SA                                                     → DeleteEvent
 *   SADB_FLUSH (others)      the SA type (0: all)                                      → FlushEvent
 *
 * Linux's ACQUIRE carries neither the traffic's ports nor the template's mode: the ports read 0, the
 * mode comes from the daemon's own policy (by its id), else transport.
 */
import type { AcquireCombination, AcquireEvent, ExpireReason, SaInfo, SaMode, TrafficSelector } from "../kernel.js";
import type { SaMetaTable } from "../sa-meta.js";
import { SadbMsg, SadbSaState } from "./constants.js";
import type { PfkeyMessage } from "./message.js";
import { protoOfSatype, saInfoFromPfkey } from "./pfkey-sa.js";
import type { SadbLifetime } from "./structs.js";
import type { KernelEvent } from "../kernel.js";

/** What the translation needs to know. */
export interface PfkeyEventContext {
  /** The caller's id, selector and first template mode of one of its policies by kernel id. */
  policy(index: number): { id: number; selector: TrafficSelector; mode: SaMode } | undefined;
  readonly meta: SaMetaTable;
  nowSeconds(): number;
}

/** An event, or why the message is none. */
export type PfkeyEventResult = { event: KernelEvent } | { none: string };

/** Which limit an expired SA reached, from its current counters against the lifetime that fired. */
export function pfkeyExpireReason(cur: SadbLifetime | undefined, limit: SadbLifetime, larval: boolean, nowSeconds: number): ExpireReason {
  if (larval) return "larval";
  if (cur === undefined) return "addtime";
  if (limit.bytes !== 0n && cur.bytes >= limit.bytes) return "bytes";
  if (limit.allocations !== 0 && cur.allocations >= limit.allocations) return "allocations";
  if (limit.usetime !== 0n && cur.usetime !== 0n && BigInt(nowSeconds) >= cur.usetime + limit.usetime) return "usetime";
  return "addtime";
}

function acquire(m: PfkeyMessage, ctx: PfkeyEventContext): PfkeyEventResult {
  const proto = protoOfSatype(m.satype);
  const src = m.ext.addressSrc;
  const dst = m.ext.addressDst;
  if (proto === undefined || src === undefined || dst === undefined) return { none: "ACQUIRE without SA type or addresses" };
  const ours = m.ext.policy === undefined ? undefined : ctx.policy(m.ext.policy.id);
  const combinations: AcquireCombination[] = [];
  if (proto !== "ipcomp") {
    for (const c of m.ext.proposal?.combs ?? []) {
      combinations.push({ proto, encAlg: c.encrypt, encMinBits: c.encryptMinbits, encMaxBits: c.encryptMaxbits, authAlg: c.auth, authMinBits: c.authMinbits, authMaxBits: c.authMaxbits });
    }
  }
  const event: AcquireEvent = {
    type: "acquire",
    seq: m.seq,
    src: { address: src.address, port: src.port },
    dst: { address: dst.address, port: dst.port },
    ulp: 0,
    proto,
    mode: ours?.mode ?? "transport",
    policy: { index: ours?.id ?? 0, selector: ours?.selector ?? null, combinations },
    endpoints: { src: src.address, dst: dst.address },
  };
  return { event };
}

function expire(m: PfkeyMessage, ctx: PfkeyEventContext): PfkeyEventResult {
  const hard = m.ext.lifetimeHard !== undefined;
  const limit = m.ext.lifetimeHard ?? m.ext.lifetimeSoft;
  if (limit === undefined) return { none: "EXPIRE without a soft or hard lifetime" };
  const info = saInfoFromPfkey(m, undefined, false);
  if (!info.ok) return { none: `EXPIRE the interface cannot state: ${info.error.message}` };
  const sa: SaInfo = info.value;
  if (sa.spi === 0) return { none: "larval ACQUIRE state expired" };
  const meta = ctx.meta.get(sa.proto, sa.spi, sa.dst);
  const larval = meta?.larval === true || m.ext.sa?.state === SadbSaState.LARVAL;
  const reason = pfkeyExpireReason(m.ext.lifetimeCurrent, limit, larval, ctx.nowSeconds());
  if (meta !== undefined) Object.assign(sa, { label: meta.label, kmCookie: meta.kmCookie, pairSpi: meta.pairSpi });
  if (hard) {
    ctx.meta.delete(sa.proto, sa.spi, sa.dst);
    sa.state = "dead";
  } else {
    if (meta !== undefined) meta.dying = true;
    sa.state = "dying";
  }
  return { event: { type: "expire", kind: hard ? "hard" : "soft", reason, sa } };
}

/** Translates one message that answers no request of ours. */
export function pfkeyEvent(m: PfkeyMessage, ctx: PfkeyEventContext): PfkeyEventResult {
  if (m.errno !== 0) return { none: `message with errno ${m.errno}` };
  switch (m.type) {
    case SadbMsg.ACQUIRE:
      return acquire(m, ctx);
    case SadbMsg.EXPIRE:
      return expire(m, ctx);
    case SadbMsg.DELETE: {
      const proto = protoOfSatype(m.satype);
      const { sa, addressSrc, addressDst } = m.ext;
      if (proto === undefined || sa === undefined || addressSrc === undefined || addressDst === undefined) return { none: "DELETE without SA or addresses" };
      ctx.meta.delete(proto, sa.spi, addressDst.address);
      return { event: { type: "delete", src: addressSrc.address, dst: addressDst.address, proto, spi: sa.spi } };
    }
    case SadbMsg.FLUSH: {
      const proto = m.satype === 0 ? null : protoOfSatype(m.satype);
      if (proto === undefined) return { none: `FLUSH of SA type ${m.satype}` };
      ctx.meta.clear(proto ?? undefined);
      return { event: { type: "flush", proto } };
    }
    default:
      return { none: "notice" };
  }
}
