/**
 * SAs between the kernel interface (`SaSpec`, `SaInfo`) and PF_KEY v2 extensions (RFC 2367 §3.1,
 * Linux af_key). What Linux's PF_KEY can and cannot say:
 *
 * - algorithms: the SADB_AALG/SADB_EALG numbers as they are; IPCOMP's in `sadb_sa_encrypt`. No AEAD:
 *   AES-GCM is refused (EPROTONOSUPPORT).
 * - lifetimes: bytes, allocations (counted as packets by Linux), seconds since add and since first
 *   use, soft and hard (always sent together, as Linux demands). No idle lifetime: `idleSeconds` is
 *   not sent.
 * - mode and reqid: SADB_X_EXT_SA2. NAT-T: SADB_X_EXT_NAT_T_TYPE/SPORT/DPORT (Linux ignores NAT_T_OA).
 * - no SA selector (tunnel inner addresses): SAs are found through policy templates.
 * - label, km cookie, paired SPI: not kernel state; the backend remembers them (sa-meta.ts).
 */
import { EncAlg, type SaProto } from "../algorithms.js";
import { addressFamily } from "../address.js";
import type { Lifetime, SaInfo, SaState } from "../kernel.js";
import type { SaMeta } from "../sa-meta.js";
import type { ResolvedSa } from "../validate.js";
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { IpsecMode, SadbSaState, SadbSatype } from "./constants.js";
import type { PfkeyExts, SadbAddress } from "./extensions.js";
import type { PfkeyMessage } from "./message.js";
import type { SadbLifetime } from "./structs.js";

/** `sadb_msg_satype` of each SA protocol. */
export const SATYPE: Readonly<Record<SaProto, number>> = { esp: SadbSatype.ESP, ah: SadbSatype.AH, ipcomp: SadbSatype.X_IPCOMP };

/** The SA protocol of a satype, or undefined. */
export function protoOfSatype(n: number): SaProto | undefined {
  return n === SadbSatype.ESP ? "esp" : n === SadbSatype.AH ? "ah" : n === SadbSatype.X_IPCOMP ? "ipcomp" : undefined;
}

/** `UDP_ENCAP_ESPINUDP` in SADB_X_EXT_NAT_T_TYPE. */
const UDP_ENCAP_ESPINUDP = 2;

/** A host address extension (no port, no protocol, full prefix). */
export function hostAddress(address: string): SadbAddress {
  return { proto: 0, prefixlen: addressFamily(address) === 4 ? 32 : 128, address, port: 0 };
}

const toLifetime = (l: Lifetime): SadbLifetime => ({ allocations: l.allocations, bytes: BigInt(l.bytes), addtime: BigInt(l.addSeconds), usetime: BigInt(l.useSeconds) });
const num = (n: bigint): number => (n > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(n));
const fromLifetime = (l: SadbLifetime | undefined): Lifetime => ({
  allocations: l?.allocations ?? 0,
  bytes: num(l?.bytes ?? 0n),
  addSeconds: num(l?.addtime ?? 0n),
  useSeconds: num(l?.usetime ?? 0n),
  idleSeconds: 0,
});

/** Whether Linux PF_KEY can carry an SA's algorithms (all validate.ts accepts but AES-GCM). */
export function pfkeyCanExpress(sa: ResolvedSa): boolean {
  return !(sa.proto === "esp" && sa.encAlg === EncAlg.AesGcm16);
}

/** ADD/UPDATE extensions for a checked SA and its keys (views; the encoded message holds copies). */
export function saExtensions(sa: ResolvedSa, encKey: Uint8Array | undefined, authKey: Uint8Array | undefined): PfkeyExts {
  const view = (k: Uint8Array | undefined): Buffer => (k === undefined ? Buffer.alloc(0) : Buffer.from(k.buffer, k.byteOffset, k.length));
  const ext: PfkeyExts = {
    sa: { spi: sa.spi, replay: sa.replayWindow, state: SadbSaState.MATURE, auth: sa.authAlg, encrypt: sa.proto === "ipcomp" ? sa.compAlg : sa.encAlg, flags: 0 },
    lifetimeHard: toLifetime(sa.hard),
    lifetimeSoft: toLifetime(sa.soft),
    addressSrc: hostAddress(sa.src),
    addressDst: hostAddress(sa.dst),
    sa2: { mode: sa.mode === "tunnel" ? IpsecMode.TUNNEL : IpsecMode.TRANSPORT, sequence: 0, reqid: sa.reqid },
  };
  // Linux wants an encryption key extension on every ESP SA, an empty one for the NULL cipher.
  if (sa.proto === "esp") ext.keyEncrypt = { bits: (encKey?.length ?? 0) * 8, key: view(encKey) };
  if (sa.authAlg !== 0) ext.keyAuth = { bits: (authKey?.length ?? 0) * 8, key: view(authKey) };
  if (sa.encap !== null) {
    ext.natTType = UDP_ENCAP_ESPINUDP;
    ext.natTSport = sa.encap.sport;
    ext.natTDport = sa.encap.dport;
  }
  return ext;
}

const STATE: Readonly<Record<number, SaState>> = { [SadbSaState.LARVAL]: "larval", [SadbSaState.MATURE]: "mature", [SadbSaState.DYING]: "dying", [SadbSaState.DEAD]: "dead" };

/** An SA message from the kernel (GETSPI, GET, DUMP, EXPIRE ...) as `SaInfo`; keys only with `includeKeys`. */
export function saInfoFromPfkey(m: PfkeyMessage, meta: SaMeta | undefined, includeKeys: boolean): Result<SaInfo, KernelDecodeError> {
  const { sa, addressSrc, addressDst, sa2 } = m.ext;
  const proto = protoOfSatype(m.satype);
  if (proto === undefined) return refuse("IKE_ERR_KMSG_VALUE", 3, `SA type ${m.satype}`);
  if (sa === undefined || addressSrc === undefined || addressDst === undefined) return refuse("IKE_ERR_KMSG_MISSING", 0, "SA message without SA or address extensions");
  if (addressFamily(addressSrc.address) !== addressFamily(addressDst.address)) return refuse("IKE_ERR_KMSG_VALUE", 0, "SA addresses of different families");
  const mode = sa2 === undefined || sa2.mode === IpsecMode.TRANSPORT || sa2.mode === IpsecMode.ANY ? "transport" : sa2.mode === IpsecMode.TUNNEL ? "tunnel" : undefined;
  if (mode === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `SA mode ${sa2?.mode}`);
  const state = STATE[sa.state];
  if (state === undefined) return refuse("IKE_ERR_KMSG_VALUE", 0, `SA state ${sa.state}`);
  const cur = m.ext.lifetimeCurrent;
  const out: SaInfo = {
    src: addressSrc.address,
    dst: addressDst.address,
    proto,
    spi: sa.spi,
    mode,
    state: state === "mature" && meta?.dying === true ? "dying" : state,
    reqid: sa2?.reqid ?? 0,
    pairSpi: meta?.pairSpi ?? 0,
    encAlg: proto === "esp" ? sa.encrypt : 0,
    encKeyBits: m.ext.keyEncrypt?.bits ?? 0,
    authAlg: sa.auth,
    authKeyBits: m.ext.keyAuth?.bits ?? 0,
    compAlg: proto === "ipcomp" ? sa.encrypt : 0,
    replayWindow: sa.replay,
    hard: fromLifetime(m.ext.lifetimeHard),
    soft: fromLifetime(m.ext.lifetimeSoft),
    encap: m.ext.natTType !== undefined ? { sport: m.ext.natTSport ?? 0, dport: m.ext.natTDport ?? 0 } : null,
    selector: null,
    kmCookie: meta?.kmCookie ?? 0,
    label: meta?.label ?? "",
    seq: sa2?.sequence ?? 0,
    counters: {
      bytes: num(cur?.bytes ?? 0n),
      packets: cur?.allocations ?? 0,
      allocations: 0,
      addTime: num(cur?.addtime ?? 0n) * 1000,
      useTime: cur === undefined || cur.usetime === 0n ? null : num(cur.usetime) * 1000,
      lastUseTime: null,
    },
  };
  if (includeKeys) out.keys = { enc: m.ext.keyEncrypt === undefined || m.ext.keyEncrypt.bits === 0 ? null : Buffer.from(m.ext.keyEncrypt.key), auth: m.ext.keyAuth === undefined ? null : Buffer.from(m.ext.keyAuth.key) };
  return ok(out);
}
