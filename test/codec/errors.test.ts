/**
 * Error table (STYLE §8): each case gives exactly its code, notify and offset, from the compiled
 * decoder and from the reference interpreter alike; decoding returns, never throws.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeErrorNotify, notifyLabel, decodeDecrypted, decodeMessage, type DecodeError, type Result } from "../../src/codec/index.js";
import { decodeMessageUsing, decodePayloadsUsing } from "../../src/codec/message.js";
import { ERROR_CASES } from "./error-cases.js";
import { h, gh, msg } from "./helpers.js";

function run(c: (typeof ERROR_CASES)[number], engine: "compiled" | "reference"): Result<unknown, DecodeError> {
  return c.first === undefined ? decodeMessageUsing(h(c.hex), engine) : decodePayloadsUsing(c.first, h(c.hex), {}, engine);
}

for (const c of ERROR_CASES) {
  test(`refuse: ${c.name} → ${c.code}`, () => {
    for (const engine of ["compiled", "reference"] as const) {
      const r = run(c, engine);
      assert.equal(r.ok, false, `${engine} accepted it`);
      if (r.ok) return;
      assert.deepEqual(
        { code: r.error.code, notify: r.error.notify, offset: r.error.offset },
        { code: c.code, notify: c.notify, offset: c.offset },
        `${engine}: ${r.error.detail}`,
      );
      assert.equal(r.error.notify, DecodeErrorNotify[c.code]);
    }
  });
}

test("every error code's notify has an RFC name", () => {
  for (const [code, notify] of Object.entries(DecodeErrorNotify)) assert.doesNotMatch(notifyLabel(notify), /^UNKNOWN/, code);
});

test("errors in a decrypted body count offsets from the datagram start", () => {
  const header = decodeMessage(h(msg({ next: 8, exchange: 32, flags: 1, messageId: 9, rcookie: "0101010101010101" }, "00".repeat(16))));
  assert.ok(header.ok);
  const r = decodeDecrypted(header.value.header, h(gh(13, "aabbcc") + "00010005aa"));
  assert.ok(!r.ok);
  assert.deepEqual([r.error.code, r.error.offset, r.error.payloadType], ["IKE_ERR_RESERVED_NOT_ZERO", 28 + 7 + 1, 13]);
});

test("detail strings carry numbers, never payload bytes", () => {
  const secret = "5ec2e75ec2e75ec2e7";
  const r = decodePayloadsUsing(10, h(gh(0, secret.slice(0, 14))), {}, "compiled");
  assert.ok(!r.ok);
  assert.doesNotMatch(r.error.detail, /5ec2e7/);
});

test("Libreswan's padding of a clear message to 4 octets (up to 3 zeros) is not trailing data", () => {
  for (const engine of ["compiled", "reference"] as const) {
    // 28 + 5 = 33 octets of payloads, then 3 zeros: 36, a multiple of 4.
    const r = decodeMessageUsing(h(msg({ next: 13, exchange: 2 }, gh(0, "aa") + "000000")), engine);
    assert.ok(r.ok, `${engine}: ${r.ok ? "" : r.error.detail}`);
    assert.ok(r.value.kind === "plain" && r.value.payloads.length === 1);
  }
});
