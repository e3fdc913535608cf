/**
 * Forging protected messages for hostile tests: a message encrypted under an established ISAKMP
 * SA's keys (taken from the honest peer's side of the SA, which holds the same keys as the
 * victim's), as an insider or a replaying attacker would produce it, with whatever HASH it likes.
 */
import { ExchangeType, HeaderFlag, PayloadType, ProtocolId, encodeEncrypted, encodePayloads, type Payload } from "../../src/codec/index.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";

/** `payloads` encrypted under `sa`'s keys as message `messageId` of `exchangeType`. */
export function forge(sa: IsakmpSa, exchangeType: number, messageId: number, payloads: readonly Payload[]): Buffer {
  const ct = sa.keymat!.encrypt(messageId, encodePayloads(payloads));
  return encodeEncrypted({ icookie: sa.icookie, rcookie: sa.rcookie, exchangeType, flags: HeaderFlag.Encryption, messageId }, payloads[0]!.type, ct);
}

/** A QM1 that decrypts and passes the codec's rules but whose HASH(1) is wrong. */
export function forgedQm1(sa: IsakmpSa, messageId: number): Buffer {
  return forge(sa, ExchangeType.QuickMode, messageId, [
    { type: PayloadType.HASH, data: Buffer.alloc(32, 0x11) },
    {
      type: PayloadType.SA,
      doi: 1,
      situation: 1,
      proposals: [
        {
          type: PayloadType.Proposal,
          proposalNumber: 1,
          protocolId: ProtocolId.IPSEC_ESP,
          spi: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
          transforms: [{ type: PayloadType.Transform, transformNumber: 1, transformId: 12, attributes: [{ format: "tv", type: 4, value: 1 }] }],
        },
      ],
    },
    { type: PayloadType.NONCE, data: Buffer.alloc(16, 0x22) },
  ]);
}

/** A Quick Mode datagram with the SA's cookies, E flag and `body` as its "ciphertext". */
export function junkQuickMode(sa: IsakmpSa, messageId: number, body: Buffer): Buffer {
  return encodeEncrypted({ icookie: sa.icookie, rcookie: sa.rcookie, exchangeType: ExchangeType.QuickMode, flags: HeaderFlag.Encryption, messageId }, PayloadType.HASH, body);
}
