/**
 * A reply frame can carry keying material (`ikeadm dump p1|sadb` at privilege keymat): the
 * encoder's working copy is wiped once the frame is built, and the frame once the socket has
 * taken it, so the bytes do not linger in freed memory.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { AdminClient } from "../../src/control/client.js";
import { ControlServer } from "../../src/control/server.js";
import { LogHub } from "../../src/log/logger.js";

const MARK = Buffer.from("5ec7e75ec7e75ec7e7-key-material-in-a-reply");

test("the packer's copy and the frame of a reply are wiped after the write", async (t: TestContext) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-ctl-"));
  const logs = new LogHub({ debugLevel: 0, privilege: 2, destination: { kind: "file", path: path.join(dir, "log") } });
  const server = await ControlServer.listen({ path: path.join(dir, "sock"), log: logs.logger("ctl"), handler: () => ({ ok: true, result: { keyHex: MARK.toString() } }) });
  const concatInputs: Buffer[] = [];
  const concat = Buffer.concat;
  t.mock.method(Buffer, "concat", (list: readonly Uint8Array[], n?: number) => {
    const out = concat(list, n);
    if (out.includes(MARK)) for (const b of list) if (Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(MARK)) concatInputs.push(b as Buffer);
    return out;
  });
  const frames: Buffer[] = [];
  const write = net.Socket.prototype.write;
  t.mock.method(net.Socket.prototype, "write", function (this: net.Socket, ...args: unknown[]) {
    if (Buffer.isBuffer(args[0]) && args[0].includes(MARK)) frames.push(args[0]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  });
  const c = await AdminClient.connect(path.join(dir, "sock"));
  const r = await c.request({ cmd: "get_stats" });
  c.close();
  await server.close();
  t.mock.restoreAll();
  assert.deepEqual(r, { ok: true, result: { keyHex: MARK.toString() } });
  assert.equal(frames.length, 1, "one reply frame written");
  assert.ok(frames[0]!.every((b) => b === 0), "the frame is wiped");
  assert.ok(concatInputs.length === 1 && concatInputs[0]!.every((x) => x === 0), "the packer's copy is wiped");
  logs.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
