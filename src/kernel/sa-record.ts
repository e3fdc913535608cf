/**
 * One SA inside the in-memory SADB: its resolved parameters, state, counters and the secure-memory
 * slots holding its keys. Only `info(true)` ever copies key bytes out, and `destroy()` zeroes them.
 */
import type { SaProto } from "./algorithms.js";
import type { GetSpiOptions, SaCounters, SaInfo, SaSpec, SaState } from "./kernel.js";
import type { KeyAllocator } from "./secure-keys.js";
import { checkLifetimes, type ResolvedSa } from "./validate.js";

/** Index key of an SA: RFC 2367 §2.1 names an SA by (dst, proto, spi). */
export function saKey(proto: SaProto, spi: number, dst: string): string {
  return `${proto}/${spi}/${dst}`;
}

/** The parameters of a larval SA made by GETSPI: addresses, SPI, and what the caller said is coming. */
export function larvalSa(src: string, dst: string, proto: SaProto, spi: number, options: GetSpiOptions): ResolvedSa {
  const u32 = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : 0);
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
    ...checkLifetimes(undefined),
    encap: null,
    selector: null,
    kmCookie: 0,
    label: "",
    seq: u32(options.seq),
  };
}

/** An SA held by the in-memory SADB. */
export class SaRecord {
  readonly key: string;
  sa: ResolvedSa;
  state: SaState;
  counters: SaCounters;
  /** Bumped whenever pending deadlines stop applying (reschedule, removal). */
  gen = 0;
  softFired = false;
  #encKey: Buffer | null = null;
  #authKey: Buffer | null = null;

  constructor(sa: ResolvedSa, state: SaState, now: number) {
    this.sa = sa;
    this.state = state;
    this.key = saKey(sa.proto, sa.spi, sa.dst);
    this.counters = { bytes: 0, packets: 0, allocations: 0, addTime: now, useTime: null, lastUseTime: null };
  }

  /** Makes the SA mature with `sa`'s parameters, copying keys into secure memory. */
  install(sa: ResolvedSa, spec: SaSpec, keys: KeyAllocator, now: number): void {
    this.#wipe(keys);
    this.#encKey = copyIn(keys, spec.encKey);
    this.#authKey = copyIn(keys, spec.authKey);
    this.sa = sa;
    this.state = "mature";
    this.softFired = false;
    this.counters.addTime = now;
  }

  /** Wipes the keys and marks the SA dead; its deadlines become stale. */
  destroy(keys: KeyAllocator): void {
    this.#wipe(keys);
    this.state = "dead";
    this.gen++;
  }

  /** A snapshot for callers, with copies of the keys only when asked. */
  info(includeKeys: boolean): SaInfo {
    const s = this.sa;
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
      encKeyBits: (this.#encKey?.length ?? 0) * 8,
      authAlg: s.authAlg,
      authKeyBits: (this.#authKey?.length ?? 0) * 8,
      compAlg: s.compAlg,
      replayWindow: s.replayWindow,
      hard: { ...s.hard },
      soft: { ...s.soft },
      encap: s.encap === null ? null : { ...s.encap },
      selector: s.selector === null ? null : { ...s.selector },
      kmCookie: s.kmCookie,
      label: s.label,
      seq: s.seq,
      counters: { ...this.counters },
    };
    if (includeKeys) {
      out.keys = {
        enc: this.#encKey === null ? null : Buffer.from(this.#encKey),
        auth: this.#authKey === null ? null : Buffer.from(this.#authKey),
      };
    }
    return out;
  }

  #wipe(keys: KeyAllocator): void {
    if (this.#encKey !== null) keys.free(this.#encKey);
    if (this.#authKey !== null) keys.free(this.#authKey);
    this.#encKey = null;
    this.#authKey = null;
  }
}

function copyIn(keys: KeyAllocator, key: Uint8Array | undefined): Buffer | null {
  if (key === undefined || key.length === 0) return null;
  const slot = keys.allocate(key.length);
  slot.set(key);
  return slot;
}
