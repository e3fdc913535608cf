/** Admin frame codec: round trip, incremental input, and hostile bytes as error values. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { encodeFrame, FRAME_HEADER_LEN, FrameDecoder, MAX_FRAME_BODY } from "../../src/control/frame.js";

test("a frame decodes to the value it encodes, also byte by byte", () => {
  const value = { v: 1, id: 7, req: { cmd: "get_debug" } };
  const frame = encodeFrame(value);
  // A copy: the decoder zeroes what it is given.
  assert.deepEqual(new FrameDecoder().push(Buffer.from(frame)), [{ ok: true, value }]);
  const d = new FrameDecoder();
  const items = [...frame].flatMap((b) => d.push(Buffer.from([b])));
  assert.deepEqual(items, [{ ok: true, value }]);
  assert.equal(d.pending, 0);
});

test("two frames in one chunk give two values", () => {
  const a = encodeFrame({ a: 1 });
  const b = encodeFrame({ b: "two" });
  assert.deepEqual(new FrameDecoder().push(Buffer.concat([a, b])), [{ ok: true, value: { a: 1 } }, { ok: true, value: { b: "two" } }]);
});

test("the bytes given to the decoder are zeroed once decoded: a token PIN stays only in the value", () => {
  const value = { v: 1, id: 3, req: { cmd: "token_login", label: "hsm", pin: "8642-secret-pin" } };
  const whole = encodeFrame(value);
  assert.deepEqual(new FrameDecoder().push(whole), [{ ok: true, value }]);
  assert.ok(whole.every((b) => b === 0), "the chunk holding a whole frame");
  // Split: the first part is copied to join the second, and both chunks are zeroed.
  const frame = encodeFrame(value);
  const parts = [Buffer.from(frame.subarray(0, 20)), Buffer.from(frame.subarray(20))];
  const d = new FrameDecoder();
  assert.deepEqual(d.push(parts[0]!), []);
  assert.deepEqual(d.push(parts[1]!), [{ ok: true, value }]);
  for (const p of parts) assert.ok(p.every((b) => b === 0), "a chunk of a split frame");
  // Binary fields are copies, intact after the wipe; a frame behind the decoded one is kept.
  const bin = encodeFrame({ key: Buffer.from("0123456789abcdef") });
  const next = encodeFrame({ n: 2 });
  const d2 = new FrameDecoder();
  const items = d2.push(Buffer.concat([bin, next.subarray(0, 5)]));
  assert.equal(items.length, 1);
  const got = items[0]!.ok ? (items[0]!.value as { key: Uint8Array }).key : undefined;
  assert.equal(Buffer.from(got ?? []).toString(), "0123456789abcdef");
  assert.deepEqual(d2.push(Buffer.from(next.subarray(5))), [{ ok: true, value: { n: 2 } }]);
  // A frame that fails leaves nothing buffered.
  const bad = Buffer.concat([Buffer.from("xx"), Buffer.from("8642-secret-pin")]);
  new FrameDecoder().push(bad);
  assert.ok(!bad.toString("latin1").includes("secret"), "bytes of a refused stream");
});

test("a partial frame left when the connection ends is zeroed by close()", () => {
  const frame = encodeFrame({ v: 1, id: 4, req: { cmd: "token_login", label: "hsm", pin: "8642-secret-pin" } });
  const part = Buffer.from(frame.subarray(0, frame.length - 1));
  const d = new FrameDecoder();
  assert.deepEqual(d.push(part), []);
  assert.ok(part.toString("latin1").includes("8642-secret"), "held, waiting for the frame's last byte");
  d.close();
  assert.ok(part.every((b) => b === 0), "zeroed once the connection is gone");
  assert.equal(d.pending, 0);
  assert.deepEqual(d.push(Buffer.from(frame.subarray(frame.length - 1))), [], "nothing decoded after close");
});

test("bad magic, version, oversize and undecodable bodies are errors with offsets", () => {
  assert.deepEqual(new FrameDecoder().push(Buffer.from("GET / HTTP/1.0\r\n")).map((i) => !i.ok && [i.error.code, i.error.offset]), [["IKE_ERR_FRAME_MAGIC", 0]]);
  const v2 = encodeFrame({});
  v2[2] = 2;
  assert.deepEqual(new FrameDecoder().push(v2).map((i) => !i.ok && [i.error.code, i.error.offset]), [["IKE_ERR_FRAME_VERSION", 2]]);
  const big = Buffer.alloc(FRAME_HEADER_LEN);
  big.write("IK", 0, "latin1");
  big[2] = 1;
  big.writeUInt32BE(MAX_FRAME_BODY + 1, 4);
  assert.deepEqual(new FrameDecoder().push(big).map((i) => !i.ok && [i.error.code, i.error.offset]), [["IKE_ERR_FRAME_TOO_LARGE", 4]]);
  const junk = Buffer.concat([Buffer.from([0x49, 0x4b, 1, 0, 0, 0, 0, 2]), Buffer.from([0x92, 0x01])]);
  assert.deepEqual(new FrameDecoder().push(junk).map((i) => !i.ok && i.error.code), ["IKE_ERR_FRAME_BODY"]);
});

test("after an error the decoder yields nothing more", () => {
  const d = new FrameDecoder();
  assert.equal(d.push(Buffer.from("xx")).length, 1);
  assert.deepEqual(d.push(encodeFrame({ ok: 1 })), []);
});

test("arbitrary bytes never make the decoder throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (bytes, withHeader) => {
      const d = new FrameDecoder();
      const input = withHeader ? Buffer.concat([Buffer.from([0x49, 0x4b, 1, 0, 0, 0, 0, bytes.length & 0xff]), Buffer.from(bytes)]) : Buffer.from(bytes);
      d.push(input);
    }),
    { numRuns: 500 },
  );
});
