/**
 * The Linux XFRM netlink backend of the kernel interface (`Kernel`, kernel.ts) and of the SPD
 * (`PolicyTable`, spd.ts).
 *
 * Two NETLINK_XFRM sockets: requests and their answers go over one (xfrm-channel.ts); the other
 * joins the ACQUIRE, EXPIRE, SA and POLICY multicast groups, and what arrives there becomes
 * "acquire", "expire", "delete" and "flush" events (xfrm-events.ts); when it overruns or fails, a
 * "lost" event says some are missing (the daemon resynchronises, src/kernel/resync.ts). A message
 * that does not parse is logged under the `pfkey` debug category and dropped; every datagram is
 * wiped once read.
 *
 * What XFRM cannot express: idle lifetimes (not sent; a warning is logged once), labels, km
 * cookies and paired SPIs (remembered, sa-meta.ts), supported-algorithm lists (REGISTER answers the
 * algorithms mapped in algorithms.ts; the kernel refuses a missing one at UPDATE/ADD with
 * EPROTONOSUPPORT), and a negative answer to an ACQUIRE (the kernel's larval state expires by
 * itself after net.core.xfrm_acq_expires, 30 s by default).
 */
import type { Logger } from "../../log/logger.js";
import type { SaProto, SupportedAlgorithms } from "../algorithms.js";
import { checkGetSpi, checkUpdateOfMature, emitKernelEvent, keepDecoded, lostEvent, noteIdleLifetime, supportedFor, updateEncapVia, withMeta } from "../backend-common.js";
import { kernelError } from "../errors.js";
import type { DumpOptions, EncapPorts, EncapUpdate, GetSpiOptions, Kernel, KeyOptions, SaInfo, SaSpec, SpiRange } from "../kernel.js";
import { KernelSocket, type KernelSocketOptions } from "../kernel-socket.js";
import { saInfoFromResolved } from "../sa-info.js";
import { RealKernelBase } from "../real-kernel-base.js";
import { SpdManager } from "../spd.js";
import { checkAddress, checkProto, checkSpi, resolveSa, spiText } from "../validate.js";
import { splitMessages } from "../wire/netlink.js";
import { xfrmAuth, xfrmComp, xfrmEnc } from "./algorithms.js";
import { IPSEC_PROTO_ANY, XfrmGroup, XfrmMsg, XfrmPolicyType, xfrmMsgName } from "./constants.js";
import { decodeXfrm } from "./message.js";
import { anySelector, toXfrmAddress } from "./selector.js";
import { XfrmChannel } from "./xfrm-channel.js";
import { xfrmEvent, type XfrmEventContext } from "./xfrm-events.js";
import { larvalUsersa, PROTO_NUMBER, saInfoFromUsersa, usersaFromSpec, xfrmCanExpress } from "./xfrm-sa.js";
import { dirNumber, policyIdentity, spdEntryFromXfrm, userpolicyFromSpd } from "./xfrm-spd.js";

/** Settings of the XFRM backend. */
export interface XfrmKernelOptions extends KernelSocketOptions {
  /** Logger of the `knl` subsystem; kernel traffic goes to its `pfkey` debug category. */
  log?: Logger;
  /** Deadline of one request in ms (default 5000; dumps 30000). */
  timeoutMs?: number;
  /** Receive buffer of the event socket in bytes (default 4 MiB; tests make it tiny to overrun it). */
  eventRcvbuf?: number;
}

const GROUPS = [XfrmGroup.ACQUIRE, XfrmGroup.EXPIRE, XfrmGroup.SA, XfrmGroup.POLICY];
/** XFRM_POLICY_MAX: policy directions from here on are per-socket policies (in + 3, out + 3). */
const SOCKET_POLICY_DIR = 3;
/** Receive buffer of the event socket: room for a burst of ACQUIREs and SA notices. */
const EVENT_RCVBUF = 4 << 20;

const keyBits = (k: Uint8Array | undefined): number => (k?.length ?? 0) * 8;

/** The XFRM netlink backend. */
export class XfrmKernel extends RealKernelBase implements Kernel {
  readonly kind = "xfrm" as const;
  readonly #channel: XfrmChannel;
  readonly #events: KernelSocket;

  /** Opens both sockets; throws a KernelError (EAFNOSUPPORT when this kernel has no XFRM netlink). */
  constructor(options: XfrmKernelOptions = {}) {
    super(options.log);
    this.#channel = new XfrmChannel(options);
    try {
      this.#events = KernelSocket.open("xfrm", (d, e) => this.#onEvent(d, e), { ...options, groups: GROUPS, rcvbuf: options.eventRcvbuf ?? EVENT_RCVBUF });
    } catch (err) {
      this.#channel.close();
      throw err;
    }
  }

  /**
   * Opens the backend and asks the kernel one cheap question (XFRM_MSG_GETSPDINFO), so that a missing
   * right (EPERM: netlink sockets open for anyone, requests need CAP_NET_ADMIN) fails here, not at
   * the first negotiation.
   */
  static async open(options: XfrmKernelOptions = {}): Promise<XfrmKernel> {
    const k = new XfrmKernel(options);
    try {
      await k.#channel.request(XfrmMsg.GETSPDINFO, { kind: "other", raw: Buffer.alloc(4) }, {}, "reply", "GETSPDINFO", () => undefined);
    } catch (err) {
      await k.close();
      throw err;
    }
    return k;
  }

  async getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo> {
    this.checkOpen();
    const g = checkGetSpi(src, dst, proto, range, options);
    const info = larvalUsersa(g.src, g.dst, g.proto, g.mode, g.reqid, g.seq);
    const what = `ALLOCSPI ${g.proto} ${g.src} -> ${g.dst}`;
    const r = await this.#channel.request(XfrmMsg.ALLOCSPI, { kind: "userspi", spi: { info, min: g.min, max: g.max } }, {}, "reply", what, (m) =>
      m.body.kind === "usersa" ? saInfoFromUsersa(m.body.info, m.attrs, undefined, false) : null,
    );
    if (r === null || !r.ok) throw kernelError("IKE_ERR_KERNEL_EIO", `${what}: the answer is not an SA`);
    this.meta.set(g.proto, r.value.spi, g.dst, { label: "", kmCookie: 0, pairSpi: 0, larval: true, dying: false });
    return r.value;
  }

  update(spec: SaSpec): Promise<SaInfo> {
    return this.#install(spec, XfrmMsg.UPDSA);
  }

  add(spec: SaSpec): Promise<SaInfo> {
    return this.#install(spec, XfrmMsg.NEWSA);
  }

  /** XFRM_MSG_UPDSA repeating the SA as GETSA reports it, keys included, with the new XFRMA_ENCAP ports. */
  updateEncap(src: string, dst: string, proto: SaProto, spi: number, ports: EncapPorts): Promise<EncapUpdate> {
    this.checkOpen();
    return updateEncapVia((o) => this.get(src, dst, proto, spi, o), ports, async (sa, spec) => {
      const { info, attrs } = usersaFromSpec(sa, spec.encKey, spec.authKey);
      await this.#channel.request(XfrmMsg.UPDSA, { kind: "usersa", info }, attrs, "ack", `UPDSA ${sa.proto} ${spiText(sa.spi)} ${sa.src} -> ${sa.dst} (encapsulation)`);
    });
  }

  async #install(spec: SaSpec, type: number): Promise<SaInfo> {
    this.checkOpen();
    const sa = resolveSa(spec);
    if (!xfrmCanExpress(sa)) throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", `no XFRM name for ${sa.proto} algorithms ${sa.encAlg}/${sa.authAlg}/${sa.compAlg}`);
    noteIdleLifetime(sa, this.log, this.warned);
    if (type === XfrmMsg.UPDSA) checkUpdateOfMature(this.meta.get(sa.proto, sa.spi, sa.dst), spec);
    const { info, attrs } = usersaFromSpec(sa, spec.encKey, spec.authKey);
    const what = `${xfrmMsgName(type)} ${sa.proto} ${spiText(sa.spi)} ${sa.src} -> ${sa.dst}`;
    await this.#channel.request(type, { kind: "usersa", info }, attrs, "ack", what);
    this.meta.set(sa.proto, sa.spi, sa.dst, { label: sa.label, kmCookie: sa.kmCookie, pairSpi: sa.pairSpi, larval: false, dying: false });
    this.log?.debug("pfkey", "SA installed", { proto: sa.proto, spi: spiText(sa.spi), src: sa.src, dst: sa.dst, mode: sa.mode, label: sa.label });
    return saInfoFromResolved(sa, "mature", keyBits(spec.encKey), keyBits(spec.authKey), Date.now());
  }

  async delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void> {
    this.checkOpen();
    const p = checkProto(proto);
    const s = checkAddress(src, "source");
    const d = toXfrmAddress(checkAddress(dst, "destination"))!;
    checkSpi(p, spi);
    const what = `DELSA ${p} ${spiText(spi)} ${s} -> ${dst}`;
    await this.#channel.request(XfrmMsg.DELSA, { kind: "usersaId", id: { daddr: d.bytes, spi, family: d.family, proto: PROTO_NUMBER[p] } }, { srcaddr: toXfrmAddress(s)!.bytes }, "ack", what);
    this.meta.delete(p, spi, checkAddress(dst, "destination"));
  }

  async get(src: string, dst: string, proto: SaProto, spi: number, options?: KeyOptions): Promise<SaInfo> {
    this.checkOpen();
    const p = checkProto(proto);
    const s = checkAddress(src, "source");
    const dText = checkAddress(dst, "destination");
    const d = toXfrmAddress(dText)!;
    checkSpi(p, spi);
    const meta = this.meta.get(p, spi, dText);
    const what = `GETSA ${p} ${spiText(spi)} -> ${dText}`;
    const r = await this.#channel.request(XfrmMsg.GETSA, { kind: "usersaId", id: { daddr: d.bytes, spi, family: d.family, proto: PROTO_NUMBER[p] } }, {}, "reply", what, (m) =>
      m.body.kind === "usersa" ? saInfoFromUsersa(m.body.info, m.attrs, meta, options?.includeKeys === true) : null,
    );
    if (r === null || !r.ok) throw kernelError("IKE_ERR_KERNEL_EIO", `${what}: the answer is not an SA`);
    if (r.value.src !== s) {
      // Not the SA asked for: the key copies read with it go now.
      r.value.keys?.enc?.fill(0);
      r.value.keys?.auth?.fill(0);
      throw kernelError("IKE_ERR_KERNEL_ESRCH", `no ${p} SA ${spiText(spi)} from ${s} to ${dText}`);
    }
    return r.value;
  }

  async flush(proto?: SaProto): Promise<number> {
    this.checkOpen();
    const p = proto === undefined ? undefined : checkProto(proto);
    const n = (await this.dump(p)).length; // XFRM does not say how many went
    await this.#channel.request(XfrmMsg.FLUSHSA, { kind: "flushsa", flush: { proto: p === undefined ? IPSEC_PROTO_ANY : PROTO_NUMBER[p] } }, {}, "ack", `FLUSHSA ${p ?? "all"}`);
    this.meta.clear(p);
    return n;
  }

  async dump(proto?: SaProto, options?: DumpOptions): Promise<SaInfo[]> {
    this.checkOpen();
    const p = proto === undefined ? undefined : checkProto(proto);
    const keys = options?.includeKeys === true;
    const parts = await this.#channel.request(XfrmMsg.GETSA, { kind: "none" }, {}, "dump", "GETSA dump", (m) =>
      m.body.kind === "usersa" ? saInfoFromUsersa(m.body.info, m.attrs, undefined, keys) : null,
    );
    const out: SaInfo[] = [];
    for (const sa of keepDecoded(parts, this.log, "SA")) {
      // SPI 0: the kernel's own larval state for a pending ACQUIRE, not an SA anyone made.
      if (sa.spi === 0) continue;
      if ((p !== undefined && sa.proto !== p) || (options?.reqid !== undefined && sa.reqid !== options.reqid)) continue;
      out.push(withMeta(sa, this.meta));
    }
    return out;
  }

  /** XFRM has no REGISTER: answers what this backend can name, and events flow from the start. */
  async register(proto: SaProto): Promise<SupportedAlgorithms> {
    this.checkOpen();
    return supportedFor(checkProto(proto), { auth: (a) => xfrmAuth(a.id) !== undefined, enc: (a) => xfrmEnc(a.id) !== undefined, comp: (a) => xfrmComp(a.id) !== undefined });
  }

  protected readonly spd = new SpdManager({
    dump: async (idOf) => {
      // Directions 3 and up are sockets' own policies (the IKE sockets' bypass): no one's SPD entries.
      const parts = await this.#channel.request(XfrmMsg.GETPOLICY, { kind: "none" }, {}, "dump", "GETPOLICY dump", (m) =>
        m.body.kind === "userpolicy" && m.body.info.dir < SOCKET_POLICY_DIR ? spdEntryFromXfrm(m.body.info, m.attrs, idOf) : null,
      );
      return keepDecoded(parts, this.log, "policy");
    },
    identity: policyIdentity,
    put: async (p, priority) => {
      const { info, attrs } = userpolicyFromSpd(p, priority);
      await this.#channel.request(XfrmMsg.UPDPOLICY, { kind: "userpolicy", info }, attrs, "ack", `UPDPOLICY ${p.dir} ${p.selector.src} -> ${p.selector.dst}`);
    },
    remove: async (e) => {
      const id = { sel: anySelector(), index: e.index, dir: dirNumber(e.dir) };
      await this.#channel.request(XfrmMsg.DELPOLICY, { kind: "userpolicyId", id }, { policyType: { type: XfrmPolicyType.MAIN } }, "ack", `DELPOLICY index ${e.index}`);
    },
  });

  readonly #eventContext: XfrmEventContext = {
    ownPort: 0,
    idOf: (index) => this.spd.policy(index)?.id ?? 0,
    meta: this.meta,
    nowSeconds: () => Math.floor(Date.now() / 1000),
  };

  #onEvent(datagram: Buffer | null, err: Error | null): void {
    if (datagram === null) {
      const lost = lostEvent(err);
      if (lost === null) return void this.log?.debug("pfkey", "XFRM event socket: datagram from a process dropped");
      this.log?.warn(lost.cause === "overrun" ? "kernel events lost: the XFRM event socket overran" : "kernel events lost: XFRM event socket error", { detail: lost.detail });
      return emitKernelEvent(this, this.log, lost);
    }
    try {
      const msgs = splitMessages(datagram);
      if (!msgs.ok) return void this.log?.debug("pfkey", "XFRM event dropped", { ...msgs.error });
      const ctx = { ...this.#eventContext, ownPort: this.#channel.portId };
      for (const m of msgs.value) {
        const d = decodeXfrm(m, m.body.byteOffset - datagram.byteOffset);
        if (!d.ok) {
          this.log?.debug("pfkey", "XFRM event does not parse", { msg: xfrmMsgName(m.type), ...d.error });
          continue;
        }
        const r = xfrmEvent(d.value, ctx);
        if ("none" in r) this.log?.debug("pfkey", "XFRM notice", { msg: xfrmMsgName(m.type), pid: m.pid, why: r.none });
        else emitKernelEvent(this, this.log, r.event);
      }
    } finally {
      datagram.fill(0);
    }
  }

  protected closeSockets(): void {
    this.#channel.close();
    this.#events.close();
  }
}
