/**
 * Deleting an established ISAKMP SA at its peer: an Informational exchange protected by the SA,
 * RFC 2408 section 3.15 (Delete payload) and RFC 2409 section 5.7:
 *
 * ```
 *   Initiator                        Responder
 *   HDR*, HASH(1), D        -->
 *   HASH(1) = prf(SKEYID_a, M-ID | D)
 * ```
 *
 * D carries protocol ISAKMP, SPI size 16 and one SPI, CKY-I | CKY-R. The message is encrypted
 * under a fresh message ID, with the IV derived from the last Phase 1 CBC block and that ID.
 *
 * Why this lives in src/load/: the engine does not send Deletes yet (its `close()` says so), and
 * a load generator must be able to clean up the target after itself. It uses only what the engine
 * exposes (the SA's cookies, endpoints and key holder) and sends through the transport the load
 * run owns; once the engine can delete SAs itself, this adapter should go.
 */
import { ExchangeType, HeaderFlag, PayloadType, ProtocolId, encodeEncrypted, encodePayloads, type Payload } from "../codec/index.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { Transport } from "../ike/transport.js";

/** DOI of IPsec (RFC 2407), used for Delete payloads as strongSwan and Solaris do. */
const DOI_IPSEC = 1;

/**
 * Send one protected Delete for `sa` (which must be established, with keys). Returns false when
 * the SA has no keys or the transport refused the datagram. `random` gives the message ID bytes.
 */
export function sendIsakmpDelete(sa: IsakmpSa, transport: Transport, random: (n: number) => Buffer): boolean {
  const km = sa.keymat;
  if (km === undefined || !km.derived || sa.state !== "established") return false;
  const messageId = random(4).readUInt32BE(0) || 1;
  const d: Payload = {
    type: PayloadType.D,
    doi: DOI_IPSEC,
    protocolId: ProtocolId.ISAKMP,
    spiSize: 16,
    spis: [Buffer.concat([sa.icookie, sa.rcookie])],
  };
  const hash = km.informationalHash(messageId, encodePayloads([d]));
  const plain = encodePayloads([{ type: PayloadType.HASH, data: hash }, d]);
  const ct = km.encrypt(messageId, plain);
  km.endExchange(messageId);
  const datagram = encodeEncrypted(
    { icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.Informational, flags: HeaderFlag.Encryption, messageId },
    PayloadType.HASH,
    ct,
  );
  return transport.send(datagram, sa.local, sa.remote);
}
