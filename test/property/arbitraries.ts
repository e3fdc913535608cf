/**
 * fast-check generators of valid codec values: every payload kind with every field in its valid
 * range, so that encode then decode must give the value back. Shared by the round-trip properties
 * and the fuzzer (which samples them as mutation seeds).
 */
import fc from "fast-check";
import { PayloadType as P, isBasicAttribute, type DataAttribute, type Payload, type HeaderInit } from "../../src/codec/index.js";

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const doi = fc.constantFrom(0, 1);

/** Records with an ordinary prototype, so `deepStrictEqual` compares them with decoded objects. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** An attribute valid in a transform of `protocolId` (basic types only in TV form). */
function attribute(protocolId: number | undefined): fc.Arbitrary<DataAttribute> {
  return fc.tuple(fc.integer({ min: 0, max: 0x7fff }), fc.boolean(), u16, bytes(0, 12)).map(([type, asTv, value, data]): DataAttribute =>
    asTv || (protocolId !== undefined && isBasicAttribute(protocolId, type)) ? { format: "tv", type, value } : { format: "tlv", type, value: data },
  );
}

function spi(protocolId: number): fc.Arbitrary<Buffer> {
  switch (protocolId) {
    case 1:
      return fc.oneof(fc.constant(Buffer.alloc(0)), bytes(16, 16));
    case 2:
    case 3:
      return fc.integer({ min: 256, max: 0xffffffff }).map((n) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n);
        return b;
      });
    default:
      return fc.oneof(bytes(2, 2), bytes(4, 4));
  }
}

const proposal = (n: number): fc.Arbitrary<Extract<Payload, { type: 1 }>["proposals"][number]> =>
  fc.integer({ min: 1, max: 4 }).chain((protocolId) =>
    rec({
      type: fc.constant(P.Proposal),
      proposalNumber: fc.constant(n),
      protocolId: fc.constant(protocolId),
      spi: spi(protocolId),
      transforms: fc.array(
        rec({
          type: fc.constant(P.Transform),
          transformNumber: u8,
          transformId: protocolId === 1 ? fc.constant(1) : fc.integer({ min: 1, max: 255 }),
          attributes: fc.array(attribute(protocolId), { maxLength: 6 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  );

const sa: fc.Arbitrary<Payload> = fc
  .array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 })
  .chain((steps) => {
    let n = 0;
    const numbers = steps.map((s) => (n += s));
    return rec({ type: fc.constant(P.SA), doi, situation: fc.constant(1), proposals: fc.tuple(...numbers.map((k) => proposal(Math.min(k, 255)))) });
  });

const ID_LENGTHS: Record<number, number> = { 1: 4, 4: 8, 5: 16, 6: 32, 7: 8, 8: 32 };
const id: fc.Arbitrary<Payload> = fc.integer({ min: 1, max: 11 }).chain((idType) =>
  rec({
    type: fc.constant(P.ID),
    idType: fc.constant(idType),
    protocolId: u8,
    port: u16,
    data: ID_LENGTHS[idType] !== undefined ? bytes(ID_LENGTHS[idType]!, ID_LENGTHS[idType]!) : bytes(1, 40),
  }),
);

const notify: fc.Arbitrary<Payload> = rec({
  type: fc.constant(P.N),
  doi,
  protocolId: fc.integer({ min: 0, max: 4 }),
  notifyType: u16,
  spi: fc.constantFrom(0, 2, 4, 8, 16).chain((n) => bytes(n, n)),
  data: bytes(0, 24),
});

const del: fc.Arbitrary<Payload> = fc.integer({ min: 1, max: 4 }).chain((protocolId) => {
  const size = protocolId === 1 ? 16 : protocolId === 4 ? 2 : 4;
  return rec({ type: fc.constant(P.D), doi, protocolId: fc.constant(protocolId), spiSize: fc.constant(size), spis: fc.array(bytes(size, size), { minLength: 1, maxLength: 5 }) });
});

/** Any valid top-level payload. */
export const payload: fc.Arbitrary<Payload> = fc.oneof(
  sa,
  rec({ type: fc.constant(P.KE), keyData: bytes(1, 300) }),
  id,
  rec({ type: fc.constant(P.CERT), encoding: fc.integer({ min: 1, max: 10 }), data: bytes(1, 80) }),
  rec({ type: fc.constant(P.CR), encoding: fc.integer({ min: 1, max: 10 }), authority: bytes(0, 40) }),
  rec({ type: fc.constant(P.HASH), data: bytes(1, 64) }),
  rec({ type: fc.constant(P.SIG), data: bytes(1, 300) }),
  rec({ type: fc.constant(P.NONCE), data: bytes(8, 256) }),
  notify,
  del,
  rec({ type: fc.constant(P.VID), data: bytes(1, 40) }),
  rec({ type: fc.constant(P.Attribute), cfgType: fc.integer({ min: 1, max: 4 }), identifier: u16, attributes: fc.array(attribute(undefined), { maxLength: 6 }) }),
  rec({ type: fc.constantFrom(P.NATD, P.NATDDraft), hash: bytes(1, 40) }),
  fc.oneof(
    rec({ type: fc.constantFrom(P.NATOA, P.NATOADraft), idType: fc.constant(1), address: bytes(4, 4) }),
    rec({ type: fc.constantFrom(P.NATOA, P.NATOADraft), idType: fc.constant(5), address: bytes(16, 16) }),
  ),
  rec({ type: fc.constant(P.Fragment), fragmentId: u16, fragmentNumber: fc.integer({ min: 1, max: 255 }), flags: fc.constantFrom(0, 1), data: bytes(1, 80) }),
) as fc.Arbitrary<Payload>;

/** A payload chain of 1 to 8 payloads. */
export const payloads: fc.Arbitrary<Payload[]> = fc.array(payload, { minLength: 1, maxLength: 8 });

const PHASE1 = [1, 2, 3, 4];

/** A valid clear header (message ID 0 in phase 1, nonzero in quick and new group mode). */
export const header: fc.Arbitrary<HeaderInit> = fc
  .constantFrom(1, 2, 3, 4, 5, 6, 32, 33)
  .chain((exchangeType) =>
    rec({
      icookie: bytes(8, 8).filter((b) => b.some((x) => x !== 0)),
      rcookie: bytes(8, 8),
      exchangeType: fc.constant(exchangeType),
      flags: fc.constantFrom(0, 2, 4, 6),
      messageId: PHASE1.includes(exchangeType) ? fc.constant(0) : exchangeType === 5 || exchangeType === 6 ? u32 : fc.integer({ min: 1, max: 0xffffffff }),
    }),
  );
