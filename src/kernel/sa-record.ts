/**
 * One SA inside the in-memory SADB: its resolved parameters, state, counters and the secure-memory
 * slot holding its keys. Only `info(true)` ever copies key bytes out, and `destroy()` zeroes them.
 */
import type { SaProto } from "./algorithms.js";
import type { GetSpiOptions, SaCounters, SaInfo, SaSpec, SaState } from "./kernel.js";
import type { KeyAllocator } from "./secure-keys.js";
import { checkLifetimes, type ResolvedSa } from "./validate.js";

/** Index key of an SA: RFC 2367 §2.1 names an SA by (dst, proto, spi). */
export function saKey(proto: SaProto, spi: number, dst: string): string {
  // Joined: one flat string (a template literal makes a tree of them, ~80 bytes more per SA).
  return [proto, spi, dst].join("/");
}

/** The parameters of a larval SA made by GETSPI: addresses, SPI, and what the caller said is coming. */
export function larvalSa(src: string, dst: string, proto: SaProto, spi: number, options: GetSpiOptions): ResolvedSa {
  const u32 = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : 0);
  const { hard, soft } = checkLifetimes(undefined);
  // Every field named in the literal (no spread), so V8 keeps them all inside the object.
  return {
    src,
    dst,
    proto,
    spi,
    mode: options.mode === "tunnel" ? "tunnel" : "transport",
    reqid: u32(options.reqid),
    pairSpi: 0,
    encAlg: 0,
    authAlg: 0,
    compAlg: 0,
    replayWindow: 0,
    hard,
    soft,
    encap: null,
    selector: null,
    kmCookie: 0,
    label: "",
    seq: u32(options.seq),
  };
}

/** The traffic an SA has carried, from its first use on (see {@link SaRecord.use}). */
export interface SaUse {
  bytes: number;
  packets: number;
  allocations: number;
  /** First use (clock ms). */
  readonly useTime: number;
  /** Last use (clock ms). */
  lastUseTime: number;
}

/** An SA held by the in-memory SADB. */
export class SaRecord {
  readonly key: string;
  sa: ResolvedSa;
  state: SaState;
  /** When it was added (GETSPI or ADD), or made mature by UPDATE (clock ms). */
  addTime: number;
  /**
   * Its traffic, made at its first use: an SA that carried nothing (most held SAs here, which no
   * data path uses) keeps no counters object of its own; {@link counters} reads both.
   */
  use: SaUse | undefined;
  /** Its earliest deadline and its place in the SADB's deadline heap (-1: none); the heap keeps them. */
  dueAt = Infinity;
  heapIndex = -1;
  softFired = false;
  /**
   * Both keys in one secure-memory slot, the encryption key first: the slot's arena (shared by many
   * SAs), offset and length, not a Buffer view of it (~100 bytes of heap per SA); a view is made
   * again to read or free it. Arena null: no keys.
   */
  #keyArena: ArrayBufferLike | null = null;
  #keyOffset = 0;
  #keyBytes = 0;
  #encBytes = 0;

  constructor(sa: ResolvedSa, state: SaState, now: number) {
    this.sa = sa;
    this.state = state;
    this.key = saKey(sa.proto, sa.spi, sa.dst);
    this.addTime = now;
    this.use = undefined;
  }

  /** Its counters as the kernel reports them (a new object each time). */
  get counters(): SaCounters {
    const u = this.use;
    return u === undefined
      ? { bytes: 0, packets: 0, allocations: 0, addTime: this.addTime, useTime: null, lastUseTime: null }
      : { bytes: u.bytes, packets: u.packets, allocations: u.allocations, addTime: this.addTime, useTime: u.useTime, lastUseTime: u.lastUseTime };
  }

  /** Counts traffic through it at `now`; true at its first use (its use lifetimes start then). */
  account(bytes: number, packets: number, allocations: number, now: number): boolean {
    const u = this.use;
    if (u === undefined) {
      this.use = { bytes, packets, allocations, useTime: now, lastUseTime: now };
      return true;
    }
    u.bytes += bytes;
    u.packets += packets;
    u.allocations += allocations;
    u.lastUseTime = now;
    return false;
  }

  /** Makes the SA mature with `sa`'s parameters, copying keys into secure memory. */
  install(sa: ResolvedSa, spec: SaSpec, keys: KeyAllocator, now: number): void {
    this.#wipe(keys);
    const enc = spec.encKey?.length ?? 0;
    const auth = spec.authKey?.length ?? 0;
    if (enc + auth > 0) {
      // One slot rather than one per key.
      const slot = keys.allocate(enc + auth);
      if (enc > 0) slot.set(spec.encKey!, 0);
      if (auth > 0) slot.set(spec.authKey!, enc);
      this.#keyArena = slot.buffer;
      this.#keyOffset = slot.byteOffset;
      this.#keyBytes = slot.length;
      this.#encBytes = enc;
    }
    this.sa = sa;
    this.state = "mature";
    this.softFired = false;
    this.addTime = now;
  }

  /** Wipes the keys and marks the SA dead. */
  destroy(keys: KeyAllocator): void {
    this.#wipe(keys);
    this.state = "dead";
  }

  /** A snapshot for callers, with copies of the keys only when asked. */
  info(includeKeys: boolean): SaInfo {
    const s = this.sa;
    const encBytes = this.#encBytes;
    const authBytes = this.#keyBytes - encBytes;
    const out: SaInfo = {
      src: s.src,
      dst: s.dst,
      proto: s.proto,
      spi: s.spi,
      mode: s.mode,
      state: this.state,
      reqid: s.reqid,
      pairSpi: s.pairSpi,
      encAlg: s.encAlg,
      encKeyBits: encBytes * 8,
      authAlg: s.authAlg,
      authKeyBits: authBytes * 8,
      compAlg: s.compAlg,
      replayWindow: s.replayWindow,
      hard: { ...s.hard },
      soft: { ...s.soft },
      encap: s.encap === null ? null : { ...s.encap },
      selector: s.selector === null ? null : { ...s.selector },
      kmCookie: s.kmCookie,
      label: s.label,
      seq: s.seq,
      counters: this.counters,
    };
    if (includeKeys) {
      const k = this.#slot();
      out.keys = {
        enc: k === null || encBytes === 0 ? null : Buffer.from(k.subarray(0, encBytes)),
        auth: k === null || authBytes === 0 ? null : Buffer.from(k.subarray(encBytes)),
      };
    }
    return out;
  }

  /** A view of the key slot, equal to the one the allocator handed out; null without keys. */
  #slot(): Buffer | null {
    return this.#keyArena === null ? null : Buffer.from(this.#keyArena, this.#keyOffset, this.#keyBytes);
  }

  #wipe(keys: KeyAllocator): void {
    const slot = this.#slot();
    if (slot !== null) keys.free(slot);
    this.#keyArena = null;
    this.#keyOffset = 0;
    this.#keyBytes = 0;
    this.#encBytes = 0;
  }
}
