/**
 * SAs between the kernel interface (`SaSpec`, `SaInfo`) and XFRM (`xfrm_usersa_info` plus the
 * XFRMA_ALG_* / ENCAP attributes). What XFRM can and cannot say:
 *
 * - lifetimes: bytes, packets (our `allocations`, as Linux PF_KEY maps them), seconds since add and
 *   since first use, soft and hard. No idle lifetime: `idleSeconds` is not sent.
 * - UDP encapsulation (NAT-T, RFC 3948): ports and one original address (`encap_oa`), taken from
 *   `originalSrc` else `originalDst`, read back as `originalSrc`.
 * - label, km cookie and paired SPI: not kernel state; the backend remembers them (sa-meta.ts).
 * - ESP MACs use XFRMA_ALG_AUTH_TRUNC with the RFC truncation; AES-GCM uses XFRMA_ALG_AEAD.
 */
import type { SaProto } from "../algorithms.js";
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import type { SaInfo, SaMode } from "../kernel.js";
import type { SaMeta } from "../sa-meta.js";
import type { ResolvedSa } from "../validate.js";
import type { XfrmAttrs } from "./attributes.js";
import { authIdOf, compIdOf, encIdOf, xfrmAuth, xfrmComp, xfrmEnc } from "./algorithms.js";
import { IpProto, UDP_ENCAP_ESPINUDP, XfrmMode } from "./constants.js";
import { anySelector, fromXfrmAddress, fromXfrmLifetime, fromXfrmSelector, infiniteLifetime, toXfrmAddress, toXfrmLifetime, toXfrmSelector } from "./selector.js";
import type { XfrmLifetimeCur, XfrmUsersaInfo } from "./structs.js";

/** `xfrm_id.proto` of each SA protocol. */
export const PROTO_NUMBER: Readonly<Record<SaProto, number>> = { esp: IpProto.ESP, ah: IpProto.AH, ipcomp: IpProto.COMP };

/** The SA protocol of an `xfrm_id.proto`, or undefined (route2, hao ... are not ours to report). */
export function protoOf(n: number): SaProto | undefined {
  return n === IpProto.ESP ? "esp" : n === IpProto.AH ? "ah" : n === IpProto.COMP ? "ipcomp" : undefined;
}

const modeNumber = (m: SaMode): number => (m === "tunnel" ? XfrmMode.TUNNEL : XfrmMode.TRANSPORT);

const zeroCur = (): XfrmLifetimeCur => ({ bytes: 0n, packets: 0n, addTime: 0n, useTime: 0n });

/** A larval SA for ALLOCSPI: addresses, protocol, mode, reqid and the ACQUIRE's sequence number. */
export function larvalUsersa(src: string, dst: string, proto: SaProto, mode: SaMode, reqid: number, seq: number): XfrmUsersaInfo {
  const s = toXfrmAddress(src)!;
  const d = toXfrmAddress(dst)!;
  return {
    sel: anySelector(),
    id: { daddr: d.bytes, spi: 0, proto: PROTO_NUMBER[proto] },
    saddr: s.bytes,
    lft: infiniteLifetime(),
    curlft: zeroCur(),
    stats: { replayWindow: 0, replay: 0, integrityFailed: 0 },
    seq,
    reqid,
    family: d.family,
    mode: modeNumber(mode),
    replayWindow: 0,
    flags: 0,
  };
}

/**
 * NEWSA/UPDSA body and attributes for a checked SA and its keys. The attributes hold the caller's
 * key bytes (copies inside the encoded message, which the caller wipes after sending).
 */
export function usersaFromSpec(sa: ResolvedSa, encKey: Uint8Array | undefined, authKey: Uint8Array | undefined): { info: XfrmUsersaInfo; attrs: XfrmAttrs } {
  const info = larvalUsersa(sa.src, sa.dst, sa.proto, sa.mode, sa.reqid, sa.seq);
  info.id.spi = sa.spi;
  info.lft = toXfrmLifetime(sa.hard, sa.soft);
  info.replayWindow = sa.replayWindow;
  if (sa.selector !== null) info.sel = toXfrmSelector(sa.selector);
  const attrs: XfrmAttrs = {};
  const key = (k: Uint8Array | undefined): Buffer => (k === undefined ? Buffer.alloc(0) : Buffer.from(k.buffer, k.byteOffset, k.length));
  if (sa.proto === "ipcomp") {
    attrs.algComp = { name: xfrmComp(sa.compAlg)!, keyBits: 0, key: Buffer.alloc(0) };
  } else {
    if (sa.proto === "esp") {
      const enc = xfrmEnc(sa.encAlg)!;
      const k = key(encKey);
      if (enc.aeadIcvBits !== undefined) attrs.algAead = { name: enc.name, keyBits: k.length * 8, key: k, truncBits: enc.aeadIcvBits };
      else attrs.algCrypt = { name: enc.name, keyBits: k.length * 8, key: k };
    }
    if (sa.authAlg !== 0) {
      const auth = xfrmAuth(sa.authAlg)!;
      const k = key(authKey);
      attrs.algAuthTrunc = { name: auth.name, keyBits: k.length * 8, key: k, truncBits: auth.truncBits };
    }
  }
  if (sa.encap !== null) {
    const oa = sa.encap.originalSrc ?? sa.encap.originalDst;
    attrs.encap = { encapType: UDP_ENCAP_ESPINUDP, encapSport: sa.encap.sport, encapDport: sa.encap.dport, encapOa: oa === undefined ? Buffer.alloc(16) : toXfrmAddress(oa)!.bytes };
  }
  return { info, attrs };
}

/** Whether XFRM can carry an SA's algorithms (every one validate.ts accepts has a name here). */
export function xfrmCanExpress(sa: ResolvedSa): boolean {
  if (sa.proto === "ipcomp") return xfrmComp(sa.compAlg) !== undefined;
  if (sa.proto === "esp" && xfrmEnc(sa.encAlg) === undefined) return false;
  return sa.authAlg === 0 || xfrmAuth(sa.authAlg) !== undefined;
}

/**
 * An SA the kernel reported, as `SaInfo`; key copies only with `includeKeys`. An SA of a protocol or
 * mode the interface has no word for, or with an algorithm unknown here, is refused (the caller
 * skips it in dumps).
 */
export function saInfoFromUsersa(info: XfrmUsersaInfo, attrs: XfrmAttrs, meta: SaMeta | undefined, includeKeys: boolean): Result<SaInfo, KernelDecodeError> {
  const proto = protoOf(info.id.proto);
  if (proto === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `SA protocol ${info.id.proto} is not ESP, AH or IPCOMP`);
  const src = fromXfrmAddress(info.saddr, info.family);
  const dst = fromXfrmAddress(info.id.daddr, info.family);
  if (src === null || dst === null) return refuse("IKE_ERR_KMSG_VALUE", 0, `SA address family ${info.family}`);
  if (info.mode !== XfrmMode.TRANSPORT && info.mode !== XfrmMode.TUNNEL) return refuse("IKE_ERR_KMSG_VALUE", 0, `SA mode ${info.mode}`);
  const selector = fromXfrmSelector(info.sel);
  if (selector === "bad") return refuse("IKE_ERR_KMSG_VALUE", 0, `SA selector family ${info.sel.family}`);
  const enc = attrs.algAead ?? attrs.algCrypt;
  const auth = attrs.algAuthTrunc ?? attrs.algAuth;
  const encAlg = enc === undefined ? 0 : encIdOf(enc.name);
  const authAlg = auth === undefined ? 0 : authIdOf(auth.name);
  const compAlg = attrs.algComp === undefined ? 0 : compIdOf(attrs.algComp.name);
  if (encAlg === undefined || authAlg === undefined || compAlg === undefined) {
    return refuse("IKE_ERR_KMSG_VALUE", 0, `unknown algorithm ${[enc?.name, auth?.name, attrs.algComp?.name].filter(Boolean).join(", ")}`);
  }
  const larval = proto === "ipcomp" ? attrs.algComp === undefined : enc === undefined && auth === undefined;
  const cur = info.curlft;
  const out: SaInfo = {
    src,
    dst,
    proto,
    spi: info.id.spi,
    mode: info.mode === XfrmMode.TUNNEL ? "tunnel" : "transport",
    state: larval ? "larval" : meta?.dying === true ? "dying" : "mature",
    reqid: info.reqid,
    pairSpi: meta?.pairSpi ?? 0,
    encAlg,
    encKeyBits: enc?.keyBits ?? 0,
    authAlg,
    authKeyBits: auth?.keyBits ?? 0,
    compAlg,
    replayWindow: info.replayWindow,
    ...fromXfrmLifetime(info.lft),
    encap: null,
    selector,
    kmCookie: meta?.kmCookie ?? 0,
    label: meta?.label ?? "",
    seq: info.seq,
    counters: {
      bytes: Number(cur.bytes),
      packets: Number(cur.packets),
      allocations: 0,
      addTime: Number(cur.addTime) * 1000,
      useTime: cur.useTime === 0n ? null : Number(cur.useTime) * 1000,
      lastUseTime: attrs.lastused === undefined || attrs.lastused === 0n ? null : Number(attrs.lastused) * 1000,
    },
  };
  if (attrs.encap !== undefined) {
    const oa = fromXfrmAddress(attrs.encap.encapOa, info.family);
    out.encap = { sport: attrs.encap.encapSport, dport: attrs.encap.encapDport };
    if (oa !== null && attrs.encap.encapOa.some((b) => b !== 0)) out.encap.originalSrc = oa;
  }
  if (includeKeys) out.keys = { enc: enc === undefined ? null : Buffer.from(enc.key), auth: auth === undefined ? null : Buffer.from(auth.key) };
  return ok(out);
}
