/**
 * Protected Informational exchanges, RFC 2409 section 5.7 on RFC 2408 section 4.8:
 *
 * ```
 *  Initiator                        Responder
 *  HDR*, HASH(1), N/D      -->
 *
 *  HASH(1) = prf(SKEYID_a, M-ID | N/D)
 * ```
 *
 * One message, no answer (except the RFC 3706 R-U-THERE-ACK, itself another Informational). The
 * IV is derived from the last Phase 1 block and the message ID, like a Quick Mode's.
 *
 * Delete (RFC 2408 section 3.15): protocol ISAKMP with 16-byte SPIs (CKY-I | CKY-R) removes an
 * ISAKMP SA; ESP/AH with 4-byte SPIs names the sender's inbound SAs, which are our outbound ones.
 */
import { Doi, Notify, PayloadType, ProtocolId, encodePayloads, type DeletePayload, type NotifyPayload, type Payload } from "../codec/index.js";
import type { IsakmpSa } from "./isakmp-sa.js";

/** What a verified Informational asks of us. */
export type InformationalEvent =
  | { readonly kind: "delete-isakmp"; readonly icookie: Buffer; readonly rcookie: Buffer }
  | { readonly kind: "delete-ipsec"; readonly proto: "esp" | "ah"; readonly spis: readonly number[] }
  | { readonly kind: "r-u-there"; readonly spi: Buffer; readonly seq: Buffer }
  | { readonly kind: "r-u-there-ack"; readonly spi: Buffer; readonly seq: Buffer }
  | { readonly kind: "notify"; readonly notifyType: number; readonly protocolId: number; readonly spi: Buffer; readonly data: Buffer };

/** The payloads of a protected Informational carrying `body` (HASH(1) first). */
export function protectedInformational(sa: IsakmpSa, messageId: number, body: readonly (NotifyPayload | DeletePayload)[]): Payload[] {
  const hash = sa.keymat!.informationalHash(messageId, encodePayloads(body));
  return [{ type: PayloadType.HASH, data: hash }, ...body];
}

/** An error (or status) notify about the ISAKMP SA itself (RFC 2408 section 3.14: its cookies as the SPI). */
export function isakmpNotify(sa: IsakmpSa, notifyType: number): NotifyPayload {
  return { type: PayloadType.N, doi: Doi.Ipsec, protocolId: ProtocolId.ISAKMP, notifyType, spi: Buffer.concat([sa.icookie, sa.rcookie]), data: Buffer.alloc(0) };
}

/** Delete of an ISAKMP SA (its cookies as the SPI). */
export function deleteIsakmp(sa: IsakmpSa): DeletePayload {
  return { type: PayloadType.D, doi: Doi.Ipsec, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [Buffer.concat([sa.icookie, sa.rcookie])] };
}

/** Delete of our inbound IPsec SAs of one protocol. */
export function deleteIpsec(proto: "esp" | "ah", spis: readonly number[]): DeletePayload {
  return {
    type: PayloadType.D,
    doi: Doi.Ipsec,
    protocolId: proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH,
    spiSize: 4,
    spis: spis.map((s) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(s >>> 0);
      return b;
    }),
  };
}

/** RFC 3706 section 5: R-U-THERE / R-U-THERE-ACK, SPI = cookies, data = 32-bit sequence number. */
export function dpdNotify(sa: IsakmpSa, notifyType: number, seq: Buffer): NotifyPayload {
  return {
    type: PayloadType.N,
    doi: Doi.Ipsec,
    protocolId: ProtocolId.ISAKMP,
    notifyType,
    spi: Buffer.concat([sa.icookie, sa.rcookie]),
    data: Buffer.from(seq),
  };
}

/**
 * Verify HASH(1) of a decrypted Informational (payloads as decoded, HASH first, checked by the
 * codec's INFO rule) and say what it asks. Null when the hash does not verify.
 */
export function readInformational(sa: IsakmpSa, messageId: number, payloads: readonly Payload[]): InformationalEvent[] | null {
  const hash = payloads[0];
  if (hash === undefined || hash.type !== PayloadType.HASH) return null;
  const rest = Buffer.concat(payloads.slice(1).map((p) => p.raw?.full ?? Buffer.alloc(0)));
  const km = sa.keymat!;
  if (!km.verifyHash(hash.data, km.informationalHash(messageId, rest))) return null;
  const out: InformationalEvent[] = [];
  for (const p of payloads.slice(1)) {
    if (p.type === PayloadType.D) {
      if (p.protocolId === ProtocolId.ISAKMP) {
        for (const spi of p.spis) {
          if (spi.length === 16) out.push({ kind: "delete-isakmp", icookie: spi.subarray(0, 8), rcookie: spi.subarray(8) });
        }
      } else if ((p.protocolId === ProtocolId.IPSEC_ESP || p.protocolId === ProtocolId.IPSEC_AH) && p.spiSize === 4) {
        out.push({ kind: "delete-ipsec", proto: p.protocolId === ProtocolId.IPSEC_ESP ? "esp" : "ah", spis: p.spis.map((s) => s.readUInt32BE(0)) });
      }
    } else if (p.type === PayloadType.N) {
      if (p.notifyType === Notify.RUThere) out.push({ kind: "r-u-there", spi: Buffer.from(p.spi), seq: Buffer.from(p.data) });
      else if (p.notifyType === Notify.RUThereAck) out.push({ kind: "r-u-there-ack", spi: Buffer.from(p.spi), seq: Buffer.from(p.data) });
      else out.push({ kind: "notify", notifyType: p.notifyType, protocolId: p.protocolId, spi: Buffer.from(p.spi), data: Buffer.from(p.data) });
    }
  }
  return out;
}
