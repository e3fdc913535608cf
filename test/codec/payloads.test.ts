/**
 * Value table (STYLE §8): every case decodes to its value, encodes to its bytes, and mirrors; the
 * reference interpreter agrees with the compiled decoder; `raw` views point at the right bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePayloads, encodePayloads, decodeDecrypted, decodeMessage, encodeMessage, type Header } from "../../src/codec/index.js";
import { decodePayloadsUsing } from "../../src/codec/message.js";
import { VALUE_CASES } from "./payload-cases.js";
import { h, gh, msg, strip } from "./helpers.js";

for (const c of VALUE_CASES) {
  test(`decode: ${c.name}`, () => {
    const r = decodePayloads(c.first, h(c.hex));
    assert.ok(r.ok, r.ok ? "" : `${r.error.code} at ${r.error.offset}: ${r.error.detail}`);
    assert.deepEqual(strip(r.value), c.value);
  });
  test(`encode: ${c.name}`, () => {
    assert.equal(encodePayloads(c.value).toString("hex"), h(c.hex).toString("hex"));
  });
  test(`mirror: ${c.name}`, () => {
    const r = decodePayloads(c.first, h(c.hex));
    assert.ok(r.ok);
    assert.equal(encodePayloads(r.value).toString("hex"), h(c.hex).toString("hex"));
    const ref = decodePayloadsUsing(c.first, h(c.hex), {}, "reference");
    assert.ok(ref.ok);
    assert.deepEqual(strip(ref.value), strip(r.value));
  });
}

test("raw views: offsets count from the datagram start, body excludes the generic header", () => {
  const body = gh(8, "00000001 00000001" + gh(0, "01 01 00 01" + gh(0, "00 01 0000"))) + gh(0, "aabbccdd");
  const wire = h(msg({ next: 1, exchange: 2 }, body));
  const r = decodeMessage(wire);
  assert.ok(r.ok && r.value.kind === "plain");
  const [sa, hash] = r.value.payloads;
  assert.equal(sa?.raw?.offset, 28);
  assert.equal(sa?.raw?.body.toString("hex"), "000000010000000100000010010100010000000800010000");
  assert.equal(sa?.raw?.full.length, 4 + 24);
  assert.equal(hash?.raw?.offset, 28 + 28);
  assert.equal(hash?.raw?.full.toString("hex"), "00000008aabbccdd");
  assert.deepEqual(JSON.parse(JSON.stringify(hash?.raw)), { offset: 56, length: 8 });
});

test("encrypted datagram: header plus ciphertext; decrypted body ignores padding", () => {
  const wire = h(msg({ next: 8, exchange: 32, flags: 1, messageId: 0x01020304, rcookie: "1111111111111111" }, "00112233445566778899aabbccddeeff"));
  const r = decodeMessage(wire);
  assert.ok(r.ok);
  assert.equal(r.value.kind, "encrypted");
  assert.equal(r.value.kind === "encrypted" && r.value.ciphertext.toString("hex"), "00112233445566778899aabbccddeeff");
  const header: Header = r.value.header;
  // strongSwan pads with zero bytes and no pad-length byte; other peers put a pad length last.
  for (const pad of ["", "000000", "0000000000000000000000000000000f"]) {
    const plain = h(gh(0, "0102030405060708090a0b0c0d0e0f1011121314") + pad);
    const d = decodeDecrypted(header, plain);
    assert.ok(d.ok);
    assert.equal(d.value.payloads[0]?.type, 8);
    assert.equal(d.value.payloads[0]?.raw?.offset, 28);
  }
});

test("encodeMessage fills next payload and length; decodeMessage mirrors it", () => {
  const wire = h(msg({ next: 13, exchange: 2 }, gh(13, "aa") + gh(0, "bb")));
  const r = decodeMessage(wire);
  assert.ok(r.ok && r.value.kind === "plain");
  assert.deepEqual(strip(r.value.header), {
    icookie: h("0102030405060708"), rcookie: h("0000000000000000"), nextPayload: 13, majorVersion: 1, minorVersion: 0,
    exchangeType: 2, flags: 0, messageId: 0, length: 38,
  });
  assert.equal(encodeMessage(r.value.header, r.value.payloads).toString("hex"), wire.toString("hex"));
});
