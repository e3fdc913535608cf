/**
 * RESPONDER-LIFETIME, RFC 2407 section 4.6.3.1:
 *
 * ```
 *  N payload: DOI 1, Protocol-ID of the SA (ESP/AH), SPI of the SA, Notify type 24576,
 *  Notification Data = SA attribute list (RFC 2407 section 4.5):
 *                        1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |1|  SA Life Type (1)          |  1 = seconds, 2 = kilobytes     |
 *   |A|  SA Life Duration (2)      |  value (AF=1) or length (AF=0)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                 variable-length value (AF=0)                  ~
 * ```
 *
 * A Quick Mode responder whose policy has a shorter lifetime than the initiator proposed accepts
 * the proposal and says so with this notify in QM2 (protected by HASH(2)); the initiator then uses
 * the shorter lifetime for the SAs it installs. strongSwan ignores it; Libreswan and racoon honour it.
 *
 * Phase 1 uses the same notify with Protocol-ID ISAKMP and the cookie pair as its 16-byte SPI
 * (RFC 2408 section 3.14), sent by the responder in a protected Informational right after the
 * exchange (as Cisco IOS does): Main Mode's MM6 has no room for it in RFC 2409's message layout.
 */
import { Doi, Notify, PayloadType, ProtocolId, type NotifyPayload } from "../../codec/index.js";

const LIFE_TYPE = 1;
const LIFE_DURATION = 2;
/** RFC 2409 appendix A: the Phase 1 (Oakley) attribute classes for the same pair. */
const OAKLEY_LIFE_TYPE = 11;
const OAKLEY_LIFE_DURATION = 12;

/** Which attribute classes carry Life-Type and Life-Duration. */
interface LifeClasses {
  readonly type: number;
  readonly duration: number;
}

const IPSEC_CLASSES: LifeClasses = { type: LIFE_TYPE, duration: LIFE_DURATION };
const OAKLEY_CLASSES: LifeClasses = { type: OAKLEY_LIFE_TYPE, duration: OAKLEY_LIFE_DURATION };
const SECONDS = 1;
const KILOBYTES = 2;

/** One Life-Type/Life-Duration pair; a duration over 16 bits goes as a 4-byte variable attribute. */
function lifePair(lifeType: number, value: number, c: LifeClasses = IPSEC_CLASSES): Buffer {
  const d = Buffer.alloc(value <= 0xffff ? 8 : 12);
  d.writeUInt16BE(0x8000 | c.type, 0);
  d.writeUInt16BE(lifeType, 2);
  if (value <= 0xffff) {
    d.writeUInt16BE(0x8000 | c.duration, 4);
    d.writeUInt16BE(value, 6);
  } else {
    d.writeUInt16BE(c.duration, 4);
    d.writeUInt16BE(4, 6);
    d.writeUInt32BE(Math.min(value, 0xffffffff) >>> 0, 8);
  }
  return d;
}

/**
 * The notify telling the initiator our lifetime for the SA `spi` of `proto`: seconds, kilobytes or
 * both (each given one is carried, seconds first).
 */
export function responderLifetime(proto: "esp" | "ah", spi: number, lifeSecs: number | undefined, lifeKb?: number): NotifyPayload {
  const spiBytes = Buffer.alloc(4);
  spiBytes.writeUInt32BE(spi >>> 0);
  const parts: Buffer[] = [];
  if (lifeSecs !== undefined) parts.push(lifePair(SECONDS, lifeSecs));
  if (lifeKb !== undefined) parts.push(lifePair(KILOBYTES, lifeKb));
  return notify(proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH, spiBytes, Buffer.concat(parts));
}

/**
 * RESPONDER-LIFETIME for the ISAKMP SA `icookie`/`rcookie` (Phase 1), in seconds, with the Phase 1
 * attribute classes (Life Type 11, Life Duration 12) since it describes an ISAKMP SA.
 */
export function isakmpResponderLifetime(icookie: Buffer, rcookie: Buffer, lifeSecs: number): NotifyPayload {
  return notify(ProtocolId.ISAKMP, Buffer.concat([icookie, rcookie]), lifePair(SECONDS, lifeSecs, OAKLEY_CLASSES));
}

function notify(protocolId: number, spi: Buffer, data: Buffer): NotifyPayload {
  return {
    type: PayloadType.N,
    doi: Doi.Ipsec,
    protocolId,
    notifyType: Notify.ResponderLifetime,
    spi,
    data,
  };
}

/** Lifetimes a RESPONDER-LIFETIME notify carries. */
export interface ResponderLifetimes {
  readonly lifeSecs?: number;
  readonly lifeKb?: number;
}

/**
 * Read the attribute list of a RESPONDER-LIFETIME notify. Never throws: a truncated or odd list
 * gives undefined (the notify is then ignored). Durations wider than 32 bits saturate. `phase1`: the
 * notify is about an ISAKMP SA, whose Life Type/Duration may come as Phase 1 classes (11/12) or, as
 * some peers send them, as the IPsec ones (1/2).
 */
export function readResponderLifetime(data: Buffer, phase1 = false): ResponderLifetimes | undefined {
  let off = 0;
  let type: number | undefined;
  let lifeSecs: number | undefined;
  let lifeKb: number | undefined;
  while (off < data.length) {
    if (off + 4 > data.length) return undefined;
    const head = data.readUInt16BE(off);
    const attr = head & 0x7fff;
    let value: number;
    if (head & 0x8000) {
      value = data.readUInt16BE(off + 2);
      off += 4;
    } else {
      const len = data.readUInt16BE(off + 2);
      if (len === 0 || len > 8 || off + 4 + len > data.length) return undefined;
      value = 0;
      for (const b of data.subarray(off + 4, off + 4 + len)) value = Math.min(value * 256 + b, 0xffffffff);
      off += 4 + len;
    }
    const cls = phase1 && (attr === OAKLEY_LIFE_TYPE || attr === OAKLEY_LIFE_DURATION) ? attr - OAKLEY_LIFE_TYPE + LIFE_TYPE : attr;
    if (cls === LIFE_TYPE) {
      if (value !== SECONDS && value !== KILOBYTES) return undefined;
      type = value;
    } else if (cls === LIFE_DURATION) {
      if (type === SECONDS) lifeSecs = value;
      else if (type === KILOBYTES) lifeKb = value;
      else return undefined;
      type = undefined;
    }
  }
  if (lifeSecs === undefined && lifeKb === undefined) return undefined;
  return { ...(lifeSecs !== undefined ? { lifeSecs } : {}), ...(lifeKb !== undefined ? { lifeKb } : {}) };
}
