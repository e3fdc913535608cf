/**
 * Attribute-list Notification Data (RFC 2407 §4.6.3.1 RESPONDER-LIFETIME) as a table (STYLE §8):
 * each `{name, hex, value}` case decodes to its value, encodes to its bytes and mirrors, with the
 * reference interpreter agreeing; each `{name, hex, code}` case fails with exactly that code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeNotifyAttributes, encodeNotifyAttributes, type DataAttribute } from "../../src/codec/index.js";
import { h, tv, tlv, rep } from "./helpers.js";

const VALUES: readonly { name: string; hex: string; value: DataAttribute[] }[] = [
  { name: "empty data: no attributes", hex: "", value: [] },
  { name: "Phase 2 seconds, TV duration", hex: tv(1, 1) + tv(2, 600), value: [{ format: "tv", type: 1, value: 1 }, { format: "tv", type: 2, value: 600 }] },
  {
    name: "Phase 2 seconds and kilobytes, 4-byte TLV duration",
    hex: tv(1, 1) + tv(2, 900) + tv(1, 2) + tlv(2, "000186a0"),
    value: [
      { format: "tv", type: 1, value: 1 },
      { format: "tv", type: 2, value: 900 },
      { format: "tv", type: 1, value: 2 },
      { format: "tlv", type: 2, value: h("000186a0") },
    ],
  },
  { name: "Phase 1 classes 11/12", hex: tv(11, 1) + tlv(12, "000186a0"), value: [{ format: "tv", type: 11, value: 1 }, { format: "tlv", type: 12, value: h("000186a0") }] },
  { name: "an empty TLV value decodes (the reader refuses it)", hex: tv(1, 1) + tlv(2, ""), value: [{ format: "tv", type: 1, value: 1 }, { format: "tlv", type: 2, value: h("") }] },
];

const ERRORS: readonly { name: string; hex: string; code: string; offset: number }[] = [
  { name: "half an attribute header", hex: "8001", code: "IKE_ERR_ATTRIBUTE_TRUNCATED", offset: 0 },
  { name: "TLV value runs past the data", hex: tv(1, 1) + "00020004" + "0000", code: "IKE_ERR_ATTRIBUTE_TRUNCATED", offset: 6 },
  { name: "more attributes than a transform may carry", hex: rep(tv(1, 1), 65), code: "IKE_ERR_TOO_MANY_ATTRIBUTES", offset: 256 },
];

for (const c of VALUES) {
  test(`notify attributes: ${c.name}`, () => {
    const r = decodeNotifyAttributes(h(c.hex));
    assert.ok(r.ok, r.ok ? "" : `${r.error.code} at ${r.error.offset}`);
    assert.deepEqual(r.value, c.value);
    assert.equal(encodeNotifyAttributes(c.value).toString("hex"), h(c.hex).toString("hex"));
    assert.equal(encodeNotifyAttributes(r.value).toString("hex"), h(c.hex).toString("hex"), "mirror");
    assert.deepEqual(decodeNotifyAttributes(h(c.hex), "reference"), r, "reference interpreter agrees");
  });
}

for (const c of ERRORS) {
  test(`notify attributes refused: ${c.name}`, () => {
    for (const engine of ["compiled", "reference"] as const) {
      const r = decodeNotifyAttributes(h(c.hex), engine);
      assert.ok(!r.ok, engine);
      assert.equal(r.error.code, c.code, engine);
      assert.equal(r.error.offset, c.offset, engine);
      assert.equal(r.error.payloadType, 11, engine);
    }
  });
}
