/**
 * The `SaInfo` a real-kernel backend answers ADD and UPDATE with, built from the checked request
 * (the kernel's answer to them is a bare ACK): what was installed, no counters yet, no keys.
 */
import type { SaInfo, SaState } from "./kernel.js";
import type { ResolvedSa } from "./validate.js";

/** An installed SA as `SaInfo`, with key sizes in bits. */
export function saInfoFromResolved(sa: ResolvedSa, state: SaState, encKeyBits: number, authKeyBits: number, now: number): SaInfo {
  return {
    src: sa.src,
    dst: sa.dst,
    proto: sa.proto,
    spi: sa.spi,
    mode: sa.mode,
    state,
    reqid: sa.reqid,
    pairSpi: sa.pairSpi,
    encAlg: sa.encAlg,
    encKeyBits,
    authAlg: sa.authAlg,
    authKeyBits,
    compAlg: sa.compAlg,
    replayWindow: sa.replayWindow,
    hard: { ...sa.hard },
    soft: { ...sa.soft },
    encap: sa.encap === null ? null : { ...sa.encap },
    selector: sa.selector === null ? null : { ...sa.selector },
    kmCookie: sa.kmCookie,
    label: sa.label,
    seq: sa.seq,
    counters: { bytes: 0, packets: 0, allocations: 0, addTime: now, useTime: null, lastUseTime: null },
  };
}
