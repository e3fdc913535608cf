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
 *
 * The attribute list's bytes are the codec's (src/codec/payloads/notify-attributes.ts); this file
 * says which attributes a lifetime is made of and what a received list means.
 */
import {
  Doi,
  IkeAttr,
  IpsecAttr,
  LifeType,
  Notify,
  PayloadType,
  ProtocolId,
  attributeNumber,
  decodeNotifyAttributes,
  encodeNotifyAttributes,
  variableAttribute,
  type DataAttribute,
  type NotifyPayload,
} from "../../codec/index.js";

/** Which attribute classes carry Life-Type and Life-Duration. */
interface LifeClasses {
  readonly type: number;
  readonly duration: number;
}

/** RFC 2407 section 4.5: the IPsec SA attributes. */
const IPSEC_CLASSES: LifeClasses = { type: IpsecAttr.SaLifeType, duration: IpsecAttr.SaLifeDuration };
/** RFC 2409 appendix A: the Phase 1 (Oakley) attribute classes for the same pair. */
const OAKLEY_CLASSES: LifeClasses = { type: IkeAttr.LifeType, duration: IkeAttr.LifeDuration };

/** Most bytes of a TLV Life-Duration we read (wider values saturate anyway). */
const MAX_DURATION_BYTES = 8;

/** One Life-Type/Life-Duration pair; a duration over 16 bits goes as a 4-byte variable attribute. */
function lifePair(lifeType: number, value: number, c: LifeClasses = IPSEC_CLASSES): DataAttribute[] {
  return [{ format: "tv", type: c.type, value: lifeType }, variableAttribute(c.duration, value)];
}

/**
 * The notify telling the initiator our lifetime for the SA `spi` of `proto`: seconds, kilobytes or
 * both (each given one is carried, seconds first).
 */
export function responderLifetime(proto: "esp" | "ah", spi: number, lifeSecs: number | undefined, lifeKb?: number): NotifyPayload {
  const spiBytes = Buffer.alloc(4);
  spiBytes.writeUInt32BE(spi >>> 0);
  const attrs: DataAttribute[] = [];
  if (lifeSecs !== undefined) attrs.push(...lifePair(LifeType.Seconds, lifeSecs));
  if (lifeKb !== undefined) attrs.push(...lifePair(LifeType.Kilobytes, lifeKb));
  return notify(proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH, spiBytes, encodeNotifyAttributes(attrs));
}

/**
 * RESPONDER-LIFETIME for the ISAKMP SA `icookie`/`rcookie` (Phase 1), in seconds, with the Phase 1
 * attribute classes (Life Type 11, Life Duration 12) since it describes an ISAKMP SA.
 */
export function isakmpResponderLifetime(icookie: Buffer, rcookie: Buffer, lifeSecs: number): NotifyPayload {
  return notify(ProtocolId.ISAKMP, Buffer.concat([icookie, rcookie]), encodeNotifyAttributes(lifePair(LifeType.Seconds, lifeSecs, OAKLEY_CLASSES)));
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
 * Read the attribute list of a RESPONDER-LIFETIME notify. Never throws: a list the codec refuses,
 * an empty or over-long TLV value, or an odd Life-Type/Life-Duration sequence gives undefined (the
 * notify is then ignored). Durations wider than 32 bits saturate. `phase1`: the notify is about an
 * ISAKMP SA, whose Life Type/Duration may come as Phase 1 classes (11/12) or, as some peers send
 * them, as the IPsec ones (1/2).
 */
export function readResponderLifetime(data: Buffer, phase1 = false): ResponderLifetimes | undefined {
  const list = decodeNotifyAttributes(data);
  if (!list.ok) return undefined;
  let type: number | undefined;
  let lifeSecs: number | undefined;
  let lifeKb: number | undefined;
  for (const a of list.value) {
    if (a.format === "tlv" && (a.value.length === 0 || a.value.length > MAX_DURATION_BYTES)) return undefined;
    const value = attributeNumber(a);
    const oakley = phase1 && (a.type === OAKLEY_CLASSES.type || a.type === OAKLEY_CLASSES.duration);
    const cls = oakley ? (a.type === OAKLEY_CLASSES.type ? IPSEC_CLASSES.type : IPSEC_CLASSES.duration) : a.type;
    if (cls === IPSEC_CLASSES.type) {
      if (value !== LifeType.Seconds && value !== LifeType.Kilobytes) return undefined;
      type = value;
    } else if (cls === IPSEC_CLASSES.duration) {
      if (type === LifeType.Seconds) lifeSecs = value;
      else if (type === LifeType.Kilobytes) lifeKb = value;
      else return undefined;
      type = undefined;
    }
  }
  if (lifeSecs === undefined && lifeKb === undefined) return undefined;
  return { ...(lifeSecs !== undefined ? { lifeSecs } : {}), ...(lifeKb !== undefined ? { lifeKb } : {}) };
}
