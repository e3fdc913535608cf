import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePayloads, encodePayloads, IdType, PayloadType, type IdPayload, type SaPayload } from "../../../src/codec/index.js";
import { AuthAlg, EncAlg } from "../../../src/kernel/algorithms.js";
import { asPolicyProposals, buildPhase2Sa, echoPhase2Sa, readPhase2Sa } from "../../../src/ike/phase2/sa-payload.js";
import { clientIdOf, clientIdPayload, hostClientId } from "../../../src/ike/phase2/client-id.js";

const proposals = [
  {
    mode: "tunnel" as const,
    protocols: [
      { proto: "esp" as const, transforms: [{ encAlg: EncAlg.AesCbc, encKeyBits: 256, authAlg: AuthAlg.HmacSha256 }, { encAlg: EncAlg.TripleDesCbc, encKeyBits: 192, authAlg: AuthAlg.HmacSha1 }] },
    ],
  },
  {
    mode: "tunnel" as const,
    protocols: [
      { proto: "ah" as const, transforms: [{ encAlg: 0, encKeyBits: 0, authAlg: AuthAlg.HmacSha1 }] },
      { proto: "esp" as const, transforms: [{ encAlg: EncAlg.AesCbc, encKeyBits: 128, authAlg: 0 }] },
    ],
  },
];

function roundTrip(sa: SaPayload): SaPayload {
  const r = decodePayloads(PayloadType.SA, encodePayloads([sa]));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value[0] as SaPayload;
}

test("Phase 2 SA payload: built from policy proposals, read back to the same proposals", () => {
  const spis = new Map([["esp", 0xc0000001], ["ah", 0xc0000002]] as const);
  const sa = roundTrip(buildPhase2Sa(proposals, spis, { lifeSecs: 100000, group: 14 }));
  assert.deepEqual(sa.proposals.map((p) => [p.proposalNumber, p.protocolId, p.spi.readUInt32BE(0)]), [[1, 3, 0xc0000001], [2, 2, 0xc0000002], [2, 3, 0xc0000001]]);
  const read = readPhase2Sa(sa);
  assert.deepEqual(asPolicyProposals(read), proposals);
  const t = read[0]!.protocols[0]!.transforms[0]!;
  assert.equal(t.group, 14);
  assert.equal(t.lifeSecs, 100000, "a 4-byte TLV lifetime");
  assert.equal(t.mode, "tunnel");
});

test("responder echo: one transform per protocol with our SPI; unknown transforms are skipped", () => {
  const sa = roundTrip(buildPhase2Sa(proposals, new Map([["esp", 0x1000], ["ah", 0x2000]]), { lifeSecs: 3600, group: 0 }));
  const read = readPhase2Sa(sa);
  const p = read[1]!;
  const echo = roundTrip(echoPhase2Sa(sa, p.protocols.map((protocol, i) => ({ protocol, transform: protocol.transforms[0]!, spi: 0x3000 + i }))));
  assert.deepEqual(echo.proposals.map((x) => [x.proposalNumber, x.protocolId, x.spi.readUInt32BE(0), x.transforms.length]), [[2, 2, 0x3000, 1], [2, 3, 0x3001, 1]]);
  const odd = roundTrip({
    ...sa,
    proposals: [{ ...sa.proposals[0]!, transforms: [{ ...sa.proposals[0]!.transforms[0]!, attributes: [{ format: "tv", type: 7, value: 3 }] }] }],
  });
  assert.equal(readPhase2Sa(odd)[0]!.protocols[0]!.transforms.length, 0, "Key Rounds is not implemented");
});

test("client IDs: host and subnet forms round-trip; non-contiguous masks are refused", () => {
  for (const c of [
    { prefix: "192.0.2.1/32", ulp: 0, port: 0 },
    { prefix: "10.1.0.0/16", ulp: 17, port: 53 },
    { prefix: "2001:db8::/48", ulp: 0, port: 0 },
    { prefix: "2001:db8::1/128", ulp: 6, port: 443 },
  ]) {
    const id = clientIdPayload(c)!;
    assert.deepEqual(clientIdOf(id), c);
  }
  const bad = clientIdPayload({ prefix: "10.0.0.0/8", ulp: 0, port: 0 })!;
  bad.data[5] = 0x0f;
  assert.equal(clientIdOf(bad), undefined);
  assert.deepEqual(hostClientId("192.0.2.9"), { prefix: "192.0.2.9/32", ulp: 0, port: 0 });
});

test("client IDs: a range that is exactly one prefix is that prefix; any other range is refused", () => {
  const range = (idType: number, a: number[], b: number[], ulp = 0, port = 0): IdPayload => ({
    type: PayloadType.ID,
    idType,
    protocolId: ulp,
    port,
    data: Buffer.from([...a, ...b]),
  });
  assert.deepEqual(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [10, 0, 0, 0], [10, 0, 0, 255], 6, 22)), { prefix: "10.0.0.0/24", ulp: 6, port: 22 });
  assert.deepEqual(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [10, 2, 0, 5], [10, 2, 0, 5])), { prefix: "10.2.0.5/32", ulp: 0, port: 0 });
  assert.deepEqual(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [0, 0, 0, 0], [255, 255, 255, 255])), { prefix: "0.0.0.0/0", ulp: 0, port: 0 });
  const v6start = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(0)];
  const v6end = [0x20, 0x01, 0x0d, 0xb8, 0, 0, ...new Array<number>(10).fill(0xff)];
  assert.deepEqual(clientIdOf(range(IdType.ID_IPV6_ADDR_RANGE, v6start, v6end)), { prefix: "2001:db8::/48", ulp: 0, port: 0 });
  // Not one prefix: what strongSwan sends for --local-ts 10.2.0.5-10.2.0.20; and a reversed range.
  assert.equal(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [10, 2, 0, 5], [10, 2, 0, 20])), undefined);
  assert.equal(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [10, 0, 0, 128], [10, 0, 0, 255 - 128])), undefined);
  assert.equal(clientIdOf(range(IdType.ID_IPV4_ADDR_RANGE, [10, 0, 1, 0], [10, 0, 0, 255])), undefined);
});
