/**
 * The in-memory SADB: a complete `Kernel` backend kept in this process, for tests, load tests and
 * hosts without IPsec. It behaves as RFC 2367 describes a PF_KEY kernel: GETSPI makes larval SAs that
 * die if never updated, lifetimes fire soft (once, SA becomes dying) then hard (SA deleted), keys live
 * in sodium secure memory and are zeroed when an SA goes, and `acquire()` raises ACQUIRE the way
 * outbound traffic without an SA would.
 *
 * Scale: SAs are indexed by (proto, spi, dst) only; each SA sits once in one indexed min-heap, at
 * its earliest lifetime deadline (worked out from its state, lifetimes and counters), with a single
 * clock timer armed for the root, so 100k SAs cost 100k map entries and heap slots, not 200k timers
 * nor any stale entries. A dump by reqid scans them: the daemon gives every SA the same reqid
 * (IKED_REQID) and never dumps by it, and an index every SA entered and left would re-allocate its
 * tables in old space as they empty (bench/handshake/README.md, "where in.iked's old space per
 * negotiation is allocated").
 */
import { EventEmitter } from "node:events";
import { AUTH_ALGORITHMS, COMPRESS_ALGORITHMS, ENCRYPT_ALGORITHMS, type SaProto, type SupportedAlgorithms } from "./algorithms.js";
import { checkGetSpi, encapUpdate } from "./backend-common.js";
import { kernelAcquire, kernelExpire } from "./channels.js";
import { systemClock, type Clock } from "../clock.js";
import { kernelError } from "./errors.js";
import type {
  AcquireEvent,
  AcquireRequest,
  AcquirePolicy,
  DumpOptions,
  EncapPorts,
  EncapUpdate,
  Endpoint,
  ExpireEvent,
  ExpireReason,
  GetSpiOptions,
  Kernel,
  KeyOptions,
  SaInfo,
  SaSpec,
  SpiRange,
} from "./kernel.js";
import type { MemoryKernelOptions, MemoryKernelSizes, Traffic } from "./memory-types.js";
import { SaRecord, larvalSa, saKey } from "./sa-record.js";
import { SecureKeyStore, type KeyAllocator } from "./secure-keys.js";
import { SpiPicker } from "./spi-picker.js";
import { AcquireTable } from "./acquire-table.js";
import { Deadlines } from "./deadlines.js";
import { checkAddress, checkEncapPorts, checkLifetimes, checkPort, checkProto, checkSpi, resolveSa, spiText } from "./validate.js";

export type { MemoryKernelOptions, MemoryKernelSizes, Traffic } from "./memory-types.js";
export type { AcquireRequest } from "./kernel.js";

const enum Deadline {
  Larval,
  SoftAdd,
  HardAdd,
  SoftUse,
  HardUse,
  SoftIdle,
  HardIdle,
}

const REASON: Record<Deadline, ExpireReason> = ["larval", "addtime", "addtime", "usetime", "usetime", "idle", "idle"];

/** The in-memory SADB. */
export class MemoryKernel extends EventEmitter implements Kernel {
  readonly #clock: Clock;
  readonly #keys: KeyAllocator;
  readonly #ownKeys: boolean;
  readonly #larvalMs: number;
  readonly #maxSas: number;
  readonly #sas = new Map<string, SaRecord>();
  readonly #deadlines: Deadlines<SaRecord>;
  readonly #registered = new Set<SaProto>();
  readonly #acquires: AcquireTable;
  #closed = false;
  readonly #spis = new SpiPicker();
  /** Whether it deletes SAs idle for their `idleSeconds` itself ({@link Kernel.enforcesIdle}). */
  readonly enforcesIdle: boolean;

  constructor(options: MemoryKernelOptions = {}) {
    super();
    this.#clock = options.clock ?? systemClock;
    this.#ownKeys = options.keys === undefined;
    this.#keys = options.keys ?? new SecureKeyStore();
    this.#larvalMs = (options.larvalSeconds ?? 30) * 1000;
    this.#acquires = new AcquireTable((options.acquireSeconds ?? 30) * 1000);
    this.#maxSas = options.maxSas ?? 1_000_000;
    this.enforcesIdle = options.idleLifetimes ?? true;
    this.#deadlines = new Deadlines<SaRecord>(this.#clock, (rec) => this.#due(rec));
  }

  /** Number of SAs held (any state). */
  get size(): number {
    return this.#sas.size;
  }

  /**
   * Entry counts of every internal table, for leak checks in tests and the load tools. Drops pending
   * ACQUIREs whose time is up first, as the next `acquire()` would.
   */
  debugSizes(): MemoryKernelSizes {
    this.#acquires.expire(this.#clock.now());
    const reqids = new Set<number>();
    let reqidSas = 0;
    for (const rec of this.#sas.values()) {
      if (rec.sa.reqid === 0) continue;
      reqids.add(rec.sa.reqid);
      reqidSas++;
    }
    const acq = this.#acquires.indexSizes;
    return {
      sas: this.#sas.size,
      reqids: reqids.size,
      reqidSas,
      deadlines: this.#deadlines.size,
      timerArmed: this.#deadlines.armed,
      acquiresByFlow: acq.byFlow,
      acquiresBySeq: acq.bySeq,
      registered: this.#registered.size,
    };
  }

  async getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo> {
    this.#open();
    const { proto: p, src: s, dst: d, min, max } = checkGetSpi(src, dst, proto, range, options);
    this.#room();
    const spi = this.#spis.pick(min, max, this.#sas.size, (v) => this.#sas.has(saKey(p, v, d)));
    if (spi === null) throw kernelError("IKE_ERR_KERNEL_ENOBUFS", `no free SPI in ${min}..${max} for ${p} to ${d}`);
    const now = this.#clock.now();
    const rec = new SaRecord(larvalSa(s, d, p, spi, options ?? {}), "larval", now);
    this.#insert(rec);
    this.#reschedule(rec);
    return rec.info(false);
  }

  async update(spec: SaSpec): Promise<SaInfo> {
    this.#open();
    const rec = this.#find(spec?.src, spec?.dst, spec?.proto, spec?.spi);
    const now = this.#clock.now();
    let seq: number;
    if (rec.state === "larval") {
      const sa = resolveSa(spec);
      rec.install(sa, spec, this.#keys, now);
      seq = sa.seq;
    } else {
      // RFC 2367 §3.1.2: a mature SA may only have its lifetimes changed.
      if (spec.encKey !== undefined || spec.authKey !== undefined) throw kernelError("IKE_ERR_KERNEL_EINVAL", "UPDATE of a mature SA cannot change keys");
      const { hard, soft } = checkLifetimes(spec.lifetimes);
      rec.sa.hard = hard;
      rec.sa.soft = soft;
      seq = typeof spec.seq === "number" ? spec.seq : 0;
    }
    this.#reschedule(rec); // from the new state and lifetimes
    this.#answerAcquire(seq);
    return rec.info(false);
  }

  async updateEncap(src: string, dst: string, proto: SaProto, spi: number, ports: EncapPorts): Promise<EncapUpdate> {
    this.#open();
    const p = checkEncapPorts(ports);
    return encapUpdate(async () => {
      const rec = this.#find(src, dst, proto, spi);
      const encap = rec.sa.encap;
      if (rec.state === "larval" || encap === null) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${rec.sa.proto} SA ${spiText(spi)} has no UDP encapsulation to update`);
      rec.sa.encap = { ...encap, ...p };
      return rec.info(false);
    });
  }

  async add(spec: SaSpec): Promise<SaInfo> {
    this.#open();
    const sa = resolveSa(spec);
    if (this.#sas.has(saKey(sa.proto, sa.spi, sa.dst))) throw kernelError("IKE_ERR_KERNEL_EEXIST", `${sa.proto} SA ${spiText(sa.spi)} to ${sa.dst} exists`);
    this.#room();
    const now = this.#clock.now();
    const rec = new SaRecord(sa, "mature", now);
    rec.install(sa, spec, this.#keys, now);
    this.#insert(rec);
    this.#reschedule(rec);
    this.#answerAcquire(sa.seq);
    return rec.info(false);
  }

  async delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void> {
    this.#open();
    this.#remove(this.#find(src, dst, proto, spi));
  }

  async get(src: string, dst: string, proto: SaProto, spi: number, options?: KeyOptions): Promise<SaInfo> {
    this.#open();
    return this.#find(src, dst, proto, spi).info(options?.includeKeys === true);
  }

  async flush(proto?: SaProto): Promise<number> {
    this.#open();
    const p = proto === undefined ? undefined : checkProto(proto);
    let n = 0;
    for (const rec of [...this.#sas.values()]) {
      if (p !== undefined && rec.sa.proto !== p) continue;
      this.#remove(rec);
      n++;
    }
    return n;
  }

  async dump(proto?: SaProto, options?: DumpOptions): Promise<SaInfo[]> {
    this.#open();
    const p = proto === undefined ? undefined : checkProto(proto);
    const keys = options?.includeKeys === true;
    const reqid = options?.reqid;
    const out: SaInfo[] = [];
    for (const rec of this.#sas.values()) {
      // Reqid 0 is "none": no SA is found by it.
      if (reqid !== undefined && (reqid === 0 || rec.sa.reqid !== reqid)) continue;
      if (p === undefined || rec.sa.proto === p) out.push(rec.info(keys));
    }
    return out;
  }

  async register(proto: SaProto): Promise<SupportedAlgorithms> {
    this.#open();
    const p = checkProto(proto);
    this.#registered.add(p);
    return {
      proto: p,
      auth: p === "ipcomp" ? [] : AUTH_ALGORITHMS,
      encrypt: p === "esp" ? ENCRYPT_ALGORITHMS : [],
      compress: p === "ipcomp" ? COMPRESS_ALGORITHMS : [],
    };
  }

  /**
   * Raises ACQUIRE as a kernel does when outbound traffic matches an IPsec policy and finds no SA.
   * A flow that already has a pending ACQUIRE gets the same sequence number and no second event.
   * Returns the sequence number, or null when no key manager registered for the protocol (a kernel
   * would then drop the traffic).
   */
  acquire(req: AcquireRequest): number | null {
    this.#open();
    const proto = checkProto(req.proto ?? "esp");
    const src: Endpoint = { address: checkAddress(req.src?.address, "source"), port: checkPort(req.src?.port) };
    const dst: Endpoint = { address: checkAddress(req.dst?.address, "destination"), port: checkPort(req.dst?.port) };
    if (!this.#registered.has(proto)) return null;
    const ulp = req.ulp ?? 0;
    if (!Number.isInteger(ulp) || ulp < 0 || ulp > 255) throw kernelError("IKE_ERR_KERNEL_EINVAL", "ulp must be in 0..255");
    const mode = req.mode ?? "transport";
    if (mode !== "transport" && mode !== "tunnel") throw kernelError("IKE_ERR_KERNEL_EINVAL", "mode must be transport or tunnel");
    const flow = `${proto}|${src.address}|${src.port}|${dst.address}|${dst.port}|${ulp}`;
    const { seq, fresh } = this.#acquires.open(flow, this.#clock.now());
    if (!fresh) return seq;
    const policy: AcquirePolicy = {
      index: req.policy?.index ?? 0,
      selector: req.policy?.selector ?? null,
      combinations: req.policy?.combinations ?? [],
    };
    const event: AcquireEvent = { type: "acquire", seq, src, dst, ulp, proto, mode, policy };
    if (kernelAcquire.hasSubscribers) kernelAcquire.publish(event);
    this.emit("acquire", event);
    return seq;
  }

  /**
   * Counts traffic through an SA, as the data path would: sets the first-use time, and fires the
   * soft or hard byte/allocation lifetime when crossed. Returns false if the hard limit deleted the SA.
   */
  account(src: string, dst: string, proto: SaProto, spi: number, traffic: Traffic): boolean {
    this.#open();
    const rec = this.#find(src, dst, proto, spi);
    if (rec.state === "larval") throw kernelError("IKE_ERR_KERNEL_EINVAL", "traffic on a larval SA");
    // The first use starts the use-time lifetimes.
    if (rec.account(traffic.bytes, traffic.packets ?? 1, traffic.allocations ?? 0, this.#clock.now())) this.#reschedule(rec);
    const c = rec.use!;
    const { hard, soft } = rec.sa;
    if (hard.bytes > 0 && c.bytes >= hard.bytes) return this.#expireHard(rec, "bytes"), false;
    if (hard.allocations > 0 && c.allocations >= hard.allocations) return this.#expireHard(rec, "allocations"), false;
    if (soft.bytes > 0 && c.bytes >= soft.bytes) this.#expireSoft(rec, "bytes");
    else if (soft.allocations > 0 && c.allocations >= soft.allocations) this.#expireSoft(rec, "allocations");
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const rec of [...this.#sas.values()]) this.#remove(rec);
    this.#deadlines.close();
    if (this.#ownKeys) this.#keys.destroy();
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw kernelError("IKE_ERR_KERNEL_ESHUTDOWN", "kernel backend closed");
  }

  #room(): void {
    if (this.#sas.size >= this.#maxSas) throw kernelError("IKE_ERR_KERNEL_ENOBUFS", `SADB full (${this.#maxSas} SAs)`);
  }

  #find(src: string, dst: string, proto: SaProto, spi: number): SaRecord {
    const p = checkProto(proto);
    const rec = this.#sas.get(saKey(p, checkSpi(p, spi), checkAddress(dst, "destination")));
    if (rec === undefined || rec.sa.src !== checkAddress(src, "source")) throw kernelError("IKE_ERR_KERNEL_ESRCH", `no ${p} SA ${spiText(spi)} to ${dst}`);
    return rec;
  }

  #insert(rec: SaRecord): void {
    this.#sas.set(rec.key, rec);
  }

  /** Drops an SA: wipes its keys, takes it out of the deadline heap, marks it dead. */
  #remove(rec: SaRecord): void {
    this.#sas.delete(rec.key);
    this.#deadlines.remove(rec);
    rec.destroy(this.#keys);
  }

  #answerAcquire(seq: number): void {
    this.#acquires.expire(this.#clock.now());
    if (seq !== 0) this.#acquires.answer(seq);
  }

  /**
   * The SA's earliest deadline that still applies, from its state, lifetimes and counters: the heap
   * holds only that one per SA, and works out the next when it falls due. Soft lifetimes apply
   * until one fires; use lifetimes from the first use; idle ones from the last use (or the add).
   */
  #next(rec: SaRecord): { kind: Deadline; at: number } | null {
    let kind = -1;
    let at = Infinity;
    const consider = (k: Deadline, t: number): void => {
      if (t < at) (kind = k), (at = t);
    };
    if (rec.state === "larval") return { kind: Deadline.Larval, at: rec.addTime + this.#larvalMs };
    if (rec.state === "dead") return null;
    const { hard, soft } = rec.sa;
    const addTime = rec.addTime;
    const useTime = rec.use?.useTime ?? null;
    const softLive = rec.state === "mature" && !rec.softFired;
    if (softLive && soft.addSeconds > 0) consider(Deadline.SoftAdd, addTime + soft.addSeconds * 1000);
    if (hard.addSeconds > 0) consider(Deadline.HardAdd, addTime + hard.addSeconds * 1000);
    if (useTime !== null && softLive && soft.useSeconds > 0) consider(Deadline.SoftUse, useTime + soft.useSeconds * 1000);
    if (useTime !== null && hard.useSeconds > 0) consider(Deadline.HardUse, useTime + hard.useSeconds * 1000);
    if (this.enforcesIdle) {
      const idleSince = rec.use?.lastUseTime ?? addTime;
      if (softLive && soft.idleSeconds > 0) consider(Deadline.SoftIdle, idleSince + soft.idleSeconds * 1000);
      if (hard.idleSeconds > 0) consider(Deadline.HardIdle, idleSince + hard.idleSeconds * 1000);
    }
    return kind < 0 ? null : { kind: kind as Deadline, at };
  }

  /** Puts the SA in the deadline heap at its earliest deadline (out of it if none applies). */
  #reschedule(rec: SaRecord): void {
    this.#deadlines.set(rec, this.#next(rec)?.at ?? Infinity);
  }

  /**
   * The SA's heap deadline fell due: fires every one of its deadlines that has come, earliest first
   * (a soft one, then a hard one if both passed), and puts it back at its next. An idle deadline
   * computed from an older last use is only an early look: it is worked out again here.
   */
  #due(rec: SaRecord): void {
    const now = this.#clock.now();
    for (let d = this.#next(rec); d !== null && d.at <= now; d = this.#next(rec)) {
      switch (d.kind) {
        case Deadline.Larval:
        case Deadline.HardAdd:
        case Deadline.HardUse:
        case Deadline.HardIdle:
          this.#expireHard(rec, REASON[d.kind]);
          return;
        case Deadline.SoftAdd:
        case Deadline.SoftUse:
        case Deadline.SoftIdle:
          // An EXPIRE listener may delete or update the SA right here (both are synchronous).
          this.#expireSoft(rec, REASON[d.kind]);
          break;
        default: {
          const never: never = d.kind;
          throw new Error(`unknown deadline ${String(never)}`);
        }
      }
    }
    if (rec.state !== "dead") this.#reschedule(rec);
  }

  #expireSoft(rec: SaRecord, reason: ExpireReason): void {
    if (rec.softFired || rec.state !== "mature") return;
    rec.softFired = true;
    rec.state = "dying";
    this.#expired({ type: "expire", kind: "soft", reason, sa: rec.info(false) });
  }

  #expireHard(rec: SaRecord, reason: ExpireReason): void {
    this.#remove(rec);
    this.#expired({ type: "expire", kind: "hard", reason, sa: rec.info(false) });
  }

  #expired(event: ExpireEvent): void {
    if (kernelExpire.hasSubscribers) kernelExpire.publish(event);
    this.emit("expire", event);
  }
}
