import { test } from "node:test";
import assert from "node:assert/strict";
import { isakmpResponderLifetime, readResponderLifetime, responderLifetime } from "../../../src/ike/phase2/responder-lifetime.js";
import { Notify, ProtocolId } from "../../../src/codec/index.js";

test("RESPONDER-LIFETIME round trip, 16- and 32-bit durations", () => {
  for (const secs of [1, 600, 0xffff, 0x10000, 4_000_000_000]) {
    const n = responderLifetime("esp", 0xc0ffee01, secs);
    assert.equal(n.notifyType, Notify.ResponderLifetime);
    assert.equal(n.protocolId, ProtocolId.IPSEC_ESP);
    assert.equal(n.spi.readUInt32BE(0), 0xc0ffee01);
    assert.deepEqual(readResponderLifetime(n.data), { lifeSecs: secs });
  }
  assert.equal(responderLifetime("ah", 1, 60).protocolId, ProtocolId.IPSEC_AH);
});

test("RESPONDER-LIFETIME data: exact bytes, kilobytes too, and bad lists give undefined without throwing", () => {
  assert.equal(responderLifetime("esp", 1, 600).data.toString("hex"), "80010001" + "80020258");
  assert.deepEqual(readResponderLifetime(Buffer.from("80010002" + "00020004000f4240", "hex")), { lifeKb: 1_000_000 });
  assert.deepEqual(readResponderLifetime(Buffer.from("80010001" + "80020258" + "80010002" + "80020064", "hex")), { lifeSecs: 600, lifeKb: 100 });
  for (const hex of ["", "8001", "80010001", "80020258", "80010003" + "80020258", "80010001" + "00020009" + "00".repeat(9), "80010001" + "00020004" + "0000"]) {
    assert.equal(readResponderLifetime(Buffer.from(hex, "hex")), undefined, hex);
  }
});

test("RESPONDER-LIFETIME with seconds and kilobytes carries both pairs and reads back", () => {
  const n = responderLifetime("esp", 7, 900, 100000);
  assert.equal(n.data.toString("hex"), "80010001" + "80020384" + "80010002" + "00020004000186a0");
  assert.deepEqual(readResponderLifetime(n.data), { lifeSecs: 900, lifeKb: 100000 });
  assert.deepEqual(readResponderLifetime(responderLifetime("ah", 7, undefined, 512).data), { lifeKb: 512 });
});

test("Phase 1 RESPONDER-LIFETIME: protocol ISAKMP, the cookie pair as SPI, Oakley classes 11/12; read back only as Phase 1", () => {
  const n = isakmpResponderLifetime(Buffer.alloc(8, 1), Buffer.alloc(8, 2), 100000);
  assert.equal(n.protocolId, ProtocolId.ISAKMP);
  assert.equal(n.spi.toString("hex"), "01".repeat(8) + "02".repeat(8));
  assert.equal(n.data.toString("hex"), "800b0001" + "000c0004000186a0");
  assert.deepEqual(readResponderLifetime(n.data, true), { lifeSecs: 100000 });
  assert.equal(readResponderLifetime(n.data), undefined, "not IPsec attributes");
  assert.deepEqual(readResponderLifetime(responderLifetime("esp", 1, 600).data, true), { lifeSecs: 600 }, "IPsec classes accepted for Phase 1 too");
});
