/**
 * Round-trip properties (STYLE §3.5): generated valid values survive encode → decode unchanged, and
 * the bytes they encode to survive decode → encode unchanged (the codec is canonical: lengths,
 * counts and SPI sizes are derived, reserved octets are zero, and TV/TLV form is kept). The one
 * documented exception is the padding of a decrypted body, which decoding drops (RFC 2409 §5.3).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMessage, decodePayloads, decodeDecrypted, encodeMessage, encodePayloads, encodeEncrypted } from "../../src/codec/index.js";
import { decodePayloadsUsing } from "../../src/codec/message.js";
import { payloads, header } from "./arbitraries.js";
import { strip } from "../codec/helpers.js";

const seed = Number(process.env["FC_SEED"] ?? Date.now() % 0x7fffffff);
console.log(`codec round-trip properties: seed ${seed} (FC_SEED=${seed} to replay)`);

test("payload chains: decode(encode(v)) = v, both engines", () => {
  fc.assert(
    fc.property(payloads, (v) => {
      const bytes = encodePayloads(v);
      const r = decodePayloads(v[0]!.type, bytes);
      assert.ok(r.ok, r.ok ? "" : `${r.error.code} at ${r.error.offset}`);
      assert.deepEqual(strip(r.value), v);
      const ref = decodePayloadsUsing(v[0]!.type, bytes, {}, "reference");
      assert.ok(ref.ok);
      assert.deepEqual(strip(ref.value), v);
      assert.ok(encodePayloads(r.value).equals(bytes));
    }),
    { seed, numRuns: 300 },
  );
});

test("clear messages: decode(encode(h, v)) gives h and v back, and the bytes again", () => {
  fc.assert(
    fc.property(header, payloads, (h, v) => {
      const wire = encodeMessage(h, v);
      const r = decodeMessage(wire);
      assert.ok(r.ok && r.value.kind === "plain", r.ok ? r.value.kind : `${r.error.code} at ${r.error.offset}`);
      const got = r.value.header;
      assert.deepEqual(
        { icookie: got.icookie, rcookie: got.rcookie, exchangeType: got.exchangeType, flags: got.flags, messageId: got.messageId },
        { icookie: h.icookie, rcookie: h.rcookie, exchangeType: h.exchangeType, flags: h.flags, messageId: h.messageId },
      );
      assert.equal(got.length, wire.length);
      assert.equal(got.nextPayload, v[0]!.type);
      assert.deepEqual(strip(r.value.payloads), v);
      assert.ok(encodeMessage(got, r.value.payloads).equals(wire));
    }),
    { seed, numRuns: 200 },
  );
});

test("encrypted messages: the body decodes after any padding, which is the only thing lost", () => {
  fc.assert(
    fc.property(header, payloads, fc.uint8Array({ maxLength: 31 }), (h, v, pad) => {
      const body = Buffer.concat([encodePayloads(v), pad]);
      const wire = encodeEncrypted({ ...h, flags: h.flags | 1 }, v[0]!.type, body);
      const r = decodeMessage(wire);
      assert.ok(r.ok && r.value.kind === "encrypted");
      assert.ok(r.value.ciphertext.equals(body));
      const d = decodeDecrypted(r.value.header, r.value.ciphertext);
      assert.ok(d.ok, d.ok ? "" : `${d.error.code} at ${d.error.offset}`);
      assert.deepEqual(strip(d.value.payloads), v);
    }),
    { seed, numRuns: 200 },
  );
});
