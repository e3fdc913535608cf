/**
 * Hostile bytes on the real admin socket: every malformed, oversized, wrongly typed or truncated
 * request gets an error reply (or a clean close) and the daemon keeps answering normally.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { after, before, test } from "node:test";
import { AdminClient } from "../../src/control/client.js";
import { encodeFrame, FrameDecoder, MAX_FRAME_BODY } from "../../src/control/frame.js";
import { AdminError } from "../../src/control/messages.js";
import { makeRoot, rootPath, startDaemon, type RunningDaemon } from "../daemon/harness.js";

let root: string;
let daemon: RunningDaemon;

before(async () => {
  root = makeRoot();
  daemon = await startDaemon(root);
});
after(async () => {
  await daemon.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Send raw bytes, collect reply frames until the daemon closes or `replies` arrived. */
function raw(bytes: Buffer, replies = 1): Promise<{ frames: unknown[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(rootPath.socket(root));
    const d = new FrameDecoder();
    const frames: unknown[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ frames, closed });
    };
    s.on("connect", () => s.write(bytes));
    s.on("data", (c: Buffer) => {
      for (const f of d.push(c)) if (f.ok) frames.push(f.value);
      if (frames.length >= replies) finish(false);
    });
    s.on("close", () => finish(true));
    s.on("error", () => finish(true));
  });
}

async function stillAnswers(): Promise<void> {
  const c = await AdminClient.connect(rootPath.socket(root));
  const r = await c.request({ cmd: "get_priv" });
  c.close();
  assert.deepEqual(r, { ok: true, result: { level: 0 } });
}

const errorCode = (frames: unknown[]) => (frames[0] as { ok: boolean; error?: { code: number } }).error?.code;

test("the socket is mode 0600", () => {
  assert.equal(fs.statSync(rootPath.socket(root)).mode & 0o777, 0o600);
});

test("garbage that is not a frame gets REQ_INVALID and the connection is closed", async () => {
  const r = await raw(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal(errorCode(r.frames), AdminError.REQ_INVALID);
  await stillAnswers();
});

test("an oversized frame header is refused before any body is buffered", async () => {
  const head = Buffer.from([0x49, 0x4b, 1, 0, 0, 0, 0, 0]);
  head.writeUInt32BE(MAX_FRAME_BODY + 1, 4);
  const r = await raw(head);
  assert.equal(errorCode(r.frames), AdminError.REQ_INVALID);
  assert.match((r.frames[0] as { error: { message: string } }).error.message, /IKE_ERR_FRAME_TOO_LARGE/);
  await stillAnswers();
});

test("a body that is not msgpack gets an error reply", async () => {
  const r = await raw(Buffer.from([0x49, 0x4b, 1, 0, 0, 0, 0, 3, 0x92, 0x01, 0xc1]));
  assert.equal(errorCode(r.frames), AdminError.REQ_INVALID);
  await stillAnswers();
});

test("wrongly typed and unknown requests get typed errors on a connection that stays usable", async () => {
  const bytes = Buffer.concat([
    encodeFrame({ v: 1, id: 1, req: { cmd: "set_debug", level: "lots" } }),
    encodeFrame({ v: 1, id: 2, req: { cmd: "format_disk" } }),
    encodeFrame({ v: 1, id: 3, req: { cmd: "get_rule", label: 12 } }),
    encodeFrame([1, 2, 3]),
    encodeFrame({ v: 1, id: 5, req: { cmd: "get_debug" } }),
  ]);
  const r = await raw(bytes, 5);
  const codes = r.frames.map((f) => (f as { ok: boolean; error?: { code: number } }).error?.code ?? "ok");
  assert.deepEqual(codes, [AdminError.REQ_INVALID, AdminError.CMD_INVALID, AdminError.REQ_INVALID, AdminError.REQ_INVALID, "ok"]);
  assert.deepEqual(r.frames.map((f) => (f as { id: number }).id), [1, 2, 3, 0, 5]);
});

test("a truncated frame followed by a hang-up leaves the daemon unharmed", async () => {
  const full = encodeFrame({ v: 1, id: 9, req: { cmd: "dump_rules" } });
  await new Promise<void>((resolve) => {
    const s = net.connect(rootPath.socket(root), () => {
      s.end(full.subarray(0, full.length - 3));
    });
    s.on("close", () => resolve());
    s.on("error", () => resolve());
    s.resume();
  });
  await stillAnswers();
});

test("a burst of pipelined requests is answered completely and in order", async () => {
  const n = 300;
  const bytes = Buffer.concat(Array.from({ length: n }, (_, i) => encodeFrame({ v: 1, id: i + 1, req: { cmd: "get_priv" } })));
  const r = await raw(bytes, n);
  assert.equal(r.frames.length, n);
  assert.deepEqual(r.frames.map((f) => (f as { id: number }).id), Array.from({ length: n }, (_, i) => i + 1));
  await stillAnswers();
});

test("many bad connections in a row do not stop the daemon", async () => {
  for (let i = 0; i < 20; i++) await raw(Buffer.from([0x49, 0x4b, i & 0xff, 0xff]));
  await stillAnswers();
  assert.doesNotMatch(daemon.output(), /FATAL|Uncaught|TypeError/);
});

test("connections that sit open cannot lock the administrator out", async () => {
  // The daemon accepts 16 connections; 20 that never send a byte are opened first.
  const idle: net.Socket[] = [];
  for (let i = 0; i < 20; i++) {
    const s = net.connect(rootPath.socket(root));
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    idle.push(s);
  }
  try {
    await stillAnswers();
    assert.match(daemon.output(), /closing the oldest idle connection/);
  } finally {
    for (const s of idle) s.destroy();
  }
  await stillAnswers();
});
