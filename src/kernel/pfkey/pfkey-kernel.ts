/**
 * The PF_KEY v2 backend (RFC 2367 with Linux af_key's extensions) of the kernel interface (`Kernel`,
 * kernel.ts) and of the SPD (`PolicyTable`, spd.ts), over one registered PF_KEY socket
 * (pfkey-channel.ts).
 *
 *   getSpi  SADB_GETSPI (SPIRANGE, X_SA2; sadb_msg_seq = the ACQUIRE's, so the kernel's larval state
 *           for it is the one given the SPI)
 *   update  SADB_UPDATE   add  SADB_ADD   (sadb_msg_seq = the ACQUIRE's: the kernel then drops its
 *           larval state, and the traffic it held goes out)
 *   delete  SADB_DELETE   get  SADB_GET   flush  SADB_FLUSH   dump  SADB_DUMP
 *   register  SADB_REGISTER (once per SA type and socket; the kernel's algorithm list is kept)
 *   rejectAcquire  SADB_ACQUIRE with sadb_msg_errno: the negative answer RFC 2367 §3.1.6 defines;
 *           Linux marks its larval state failed, so the held traffic is dropped at once
 *   policies  SADB_X_SPDUPDATE, SADB_X_SPDDELETE2 (by id), SADB_X_SPDDUMP
 *
 * Events: ACQUIRE, EXPIRE, and DELETE/FLUSH by other processes (pfkey-events.ts); "lost" when the
 * socket reports an error (the daemon resynchronises, src/kernel/resync.ts); a notice dropped for
 * a full receive queue goes unheard (`losesEventsSilently`: the daemon resyncs periodically).
 * What Linux's PF_KEY cannot express: AES-GCM, idle lifetimes, SA selectors, NAT-OA (see
 * pfkey-sa.ts), and the policy index (the kernel picks it).
 */
import type { Logger } from "../../log/logger.js";
import { AuthAlg, type AlgorithmInfo, type SaProto, type SupportedAlgorithms } from "../algorithms.js";
import { checkGetSpi, checkUpdateOfMature, emitKernelEvent, keepDecoded, noteIdleLifetime, supportedFor, updateEncapVia, withMeta } from "../backend-common.js";
import { kernelError } from "../errors.js";
import type { DumpOptions, EncapPorts, EncapUpdate, GetSpiOptions, Kernel, KeyOptions, SaInfo, SaSpec, SpiRange } from "../kernel.js";
import type { KernelSocketOptions } from "../kernel-socket.js";
import { saInfoFromResolved } from "../sa-info.js";
import { RealKernelBase } from "../real-kernel-base.js";
import { SpdManager } from "../spd.js";
import { checkAddress, checkProto, checkSpi, resolveSa, spiText } from "../validate.js";
import { SadbMsg, sadbMsgName } from "./constants.js";
import type { PfkeyMessage } from "./message.js";
import { PfkeyChannel } from "./pfkey-channel.js";
import { pfkeyEvent, type PfkeyEventContext } from "./pfkey-events.js";
import { hostAddress, pfkeyCannotExpress, SATYPE, saExtensions, saInfoFromPfkey } from "./pfkey-sa.js";
import { pfkeyDir, pfkeyIdentity, policyExtensions, spdEntryFromPfkey } from "./pfkey-spd.js";

/** Settings of the PF_KEY backend. */
export interface PfkeyKernelOptions extends KernelSocketOptions {
  /** Logger of the `knl` subsystem; kernel traffic goes to its `pfkey` debug category. */
  log?: Logger;
  /** Deadline of one request in ms (default 5000; dumps 30000). */
  timeoutMs?: number;
}

const keyBits = (k: Uint8Array | undefined): number => (k?.length ?? 0) * 8;
const EINVAL = 22;

/** The PF_KEY v2 backend. */
export class PfkeyKernel extends RealKernelBase implements Kernel {
  readonly kind = "pfkey" as const;
  readonly losesEventsSilently = true;
  readonly #channel: PfkeyChannel;
  readonly #registered = new Map<SaProto, SupportedAlgorithms>();

  /** Opens the socket; throws a KernelError (EAFNOSUPPORT when this kernel has no AF_KEY). */
  constructor(options: PfkeyKernelOptions = {}) {
    super(options.log);
    this.#channel = new PfkeyChannel(options, (m) => this.#onEvent(m), (lost) => emitKernelEvent(this, this.log, lost));
  }

  async getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo> {
    this.checkOpen();
    const g = checkGetSpi(src, dst, proto, range, options);
    const what = `GETSPI ${g.proto} ${g.src} -> ${g.dst}`;
    const ext = { addressSrc: hostAddress(g.src), addressDst: hostAddress(g.dst), spirange: { min: g.min, max: g.max }, sa2: { mode: g.mode === "tunnel" ? 2 : 1, sequence: 0, reqid: g.reqid } };
    const r = await this.#channel.request({ type: SadbMsg.GETSPI, satype: SATYPE[g.proto], ext }, what, (m) => saInfoFromPfkey(m, undefined, false), g.seq);
    if (!r.ok) throw kernelError("IKE_ERR_KERNEL_EIO", `${what}: the answer is not an SA (${r.error.message})`);
    this.meta.set(g.proto, r.value.spi, g.dst, { label: "", kmCookie: 0, pairSpi: 0, larval: true, dying: false });
    return { ...r.value, seq: g.seq };
  }

  update(spec: SaSpec): Promise<SaInfo> {
    return this.#install(spec, SadbMsg.UPDATE);
  }

  add(spec: SaSpec): Promise<SaInfo> {
    return this.#install(spec, SadbMsg.ADD);
  }

  /** SADB_UPDATE repeating the SA as SADB_GET reports it, keys included, with new SADB_X_EXT_NAT_T_SPORT/DPORT. */
  updateEncap(src: string, dst: string, proto: SaProto, spi: number, ports: EncapPorts): Promise<EncapUpdate> {
    this.checkOpen();
    return updateEncapVia((o) => this.get(src, dst, proto, spi, o), ports, async (sa, spec) => {
      const what = `UPDATE ${sa.proto} ${spiText(sa.spi)} ${sa.src} -> ${sa.dst} (encapsulation)`;
      await this.#channel.request({ type: SadbMsg.UPDATE, satype: SATYPE[sa.proto], ext: saExtensions(sa, spec.encKey, spec.authKey) }, what, () => undefined);
    });
  }

  async #install(spec: SaSpec, type: number): Promise<SaInfo> {
    this.checkOpen();
    const sa = resolveSa(spec);
    const cannot = pfkeyCannotExpress(sa);
    if (cannot !== undefined) throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", cannot);
    noteIdleLifetime(sa, this.log, this.warned);
    if (type === SadbMsg.UPDATE) checkUpdateOfMature(this.meta.get(sa.proto, sa.spi, sa.dst), spec);
    const what = `${sadbMsgName(type)} ${sa.proto} ${spiText(sa.spi)} ${sa.src} -> ${sa.dst}`;
    await this.#channel.request({ type, satype: SATYPE[sa.proto], ext: saExtensions(sa, spec.encKey, spec.authKey) }, what, () => undefined, sa.seq);
    this.meta.set(sa.proto, sa.spi, sa.dst, { label: sa.label, kmCookie: sa.kmCookie, pairSpi: sa.pairSpi, larval: false, dying: false });
    this.log?.debug("pfkey", "SA installed", { proto: sa.proto, spi: spiText(sa.spi), src: sa.src, dst: sa.dst, mode: sa.mode, label: sa.label });
    return saInfoFromResolved(sa, "mature", keyBits(spec.encKey), keyBits(spec.authKey), Date.now());
  }

  #saId(src: string, dst: string, proto: SaProto, spi: number): { p: SaProto; s: string; d: string; ext: PfkeyMessage["ext"] } {
    const p = checkProto(proto);
    const s = checkAddress(src, "source");
    const d = checkAddress(dst, "destination");
    checkSpi(p, spi);
    return { p, s, d, ext: { sa: { spi, replay: 0, state: 0, auth: 0, encrypt: 0, flags: 0 }, addressSrc: hostAddress(s), addressDst: hostAddress(d) } };
  }

  async delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void> {
    this.checkOpen();
    const { p, s, d, ext } = this.#saId(src, dst, proto, spi);
    await this.#channel.request({ type: SadbMsg.DELETE, satype: SATYPE[p], ext }, `DELETE ${p} ${spiText(spi)} ${s} -> ${d}`, () => undefined);
    this.meta.delete(p, spi, d);
  }

  async get(src: string, dst: string, proto: SaProto, spi: number, options?: KeyOptions): Promise<SaInfo> {
    this.checkOpen();
    const { p, s, d, ext } = this.#saId(src, dst, proto, spi);
    const what = `GET ${p} ${spiText(spi)} -> ${d}`;
    const r = await this.#channel.request({ type: SadbMsg.GET, satype: SATYPE[p], ext }, what, (m) => saInfoFromPfkey(m, this.meta.get(p, spi, d), options?.includeKeys === true));
    if (!r.ok) throw kernelError("IKE_ERR_KERNEL_EIO", `${what}: the answer is not an SA (${r.error.message})`);
    if (r.value.src !== s) {
      // Not the SA asked for: the key copies read with it go now.
      r.value.keys?.enc?.fill(0);
      r.value.keys?.auth?.fill(0);
      throw kernelError("IKE_ERR_KERNEL_ESRCH", `no ${p} SA ${spiText(spi)} from ${s} to ${d}`);
    }
    return r.value;
  }

  async flush(proto?: SaProto): Promise<number> {
    this.checkOpen();
    const p = proto === undefined ? undefined : checkProto(proto);
    const n = (await this.dump(p)).length; // PF_KEY does not say how many went
    await this.#channel.request({ type: SadbMsg.FLUSH, satype: p === undefined ? 0 : SATYPE[p], ext: {} }, `FLUSH ${p ?? "all"}`, () => undefined);
    this.meta.clear(p);
    return n;
  }

  async dump(proto?: SaProto, options?: DumpOptions): Promise<SaInfo[]> {
    this.checkOpen();
    const p = proto === undefined ? undefined : checkProto(proto);
    const keys = options?.includeKeys === true;
    const parts = await this.#channel.dump({ type: SadbMsg.DUMP, satype: p === undefined ? 0 : SATYPE[p], ext: {} }, "DUMP", (m) => saInfoFromPfkey(m, undefined, keys));
    const out: SaInfo[] = [];
    for (const sa of keepDecoded(parts, this.log, "SA")) {
      // SPI 0: the kernel's own larval state for a pending ACQUIRE, not an SA anyone made.
      if (sa.spi === 0 || (options?.reqid !== undefined && sa.reqid !== options.reqid)) continue;
      out.push(withMeta(sa, this.meta));
    }
    return out;
  }

  /** SADB_REGISTER; the kernel's answer (its available algorithms) is kept for later calls. */
  async register(proto: SaProto): Promise<SupportedAlgorithms> {
    this.checkOpen();
    const p = checkProto(proto);
    const known = this.#registered.get(p);
    if (known !== undefined) return known;
    const lists = await this.#channel.request({ type: SadbMsg.REGISTER, satype: SATYPE[p], ext: {} }, `REGISTER ${p}`, (m) => ({
      auth: (m.ext.supportedAuth ?? []).map((a) => a.id),
      enc: (m.ext.supportedEncrypt ?? []).map((a) => a.id),
    }));
    const has = (ids: number[]) => (a: AlgorithmInfo) => ids.includes(a.id);
    // HMAC-SHA-256 is left out although the kernel lists it: see pfkeyCannotExpress.
    const supported = supportedFor(p, { auth: (a) => a.id !== AuthAlg.HmacSha256 && has(lists.auth)(a), enc: has(lists.enc), comp: () => true });
    this.#registered.set(p, supported);
    return supported;
  }

  /** The negative answer to an ACQUIRE (RFC 2367 §3.1.6): the kernel stops waiting for an SA. */
  async rejectAcquire(seq: number, errno = EINVAL): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(seq) || seq <= 0 || seq > 0xffffffff) throw kernelError("IKE_ERR_KERNEL_EINVAL", "ACQUIRE sequence number must be in 1..2^32-1");
    this.#channel.notify({ type: SadbMsg.ACQUIRE, satype: 0, errno, seq, ext: {} });
  }

  protected readonly spd = new SpdManager({
    dump: async (idOf) => keepDecoded(await this.#channel.dump({ type: SadbMsg.X_SPDDUMP, satype: 0, ext: {} }, "X_SPDDUMP", (m) => spdEntryFromPfkey(m.ext, idOf)), this.log, "policy"),
    identity: pfkeyIdentity,
    put: async (p, priority) => {
      await this.#channel.request({ type: SadbMsg.X_SPDUPDATE, satype: 0, ext: policyExtensions(p, priority) }, `X_SPDUPDATE ${p.dir} ${p.selector.src} -> ${p.selector.dst}`, () => undefined);
    },
    remove: async (e) => {
      const ext = { policy: { type: 0, dir: pfkeyDir(e.dir), id: e.index, priority: 0, requests: [] } };
      await this.#channel.request({ type: SadbMsg.X_SPDDELETE2, satype: 0, ext }, `X_SPDDELETE2 id ${e.index}`, () => undefined);
    },
  });

  readonly #eventContext: PfkeyEventContext = {
    policy: (index) => {
      const p = this.spd.policy(index);
      return p === undefined ? undefined : { id: p.id, selector: p.selector, mode: p.templates[0]?.mode ?? "transport" };
    },
    meta: this.meta,
    nowSeconds: () => Math.floor(Date.now() / 1000),
  };

  #onEvent(m: PfkeyMessage): void {
    const r = pfkeyEvent(m, this.#eventContext);
    if ("none" in r) this.log?.debug("pfkey", "PF_KEY notice", { msg: sadbMsgName(m.type), pid: m.pid, why: r.none });
    else emitKernelEvent(this, this.log, r.event);
  }

  protected closeSockets(): void {
    this.#channel.close();
  }
}
