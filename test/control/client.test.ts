/**
 * The admin client (ikeadm, interactive mode included) wipes each request frame once the socket
 * has taken it: a token PIN does not stay in this process's memory in a Buffer.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AdminClient } from "../../src/control/client.js";
import { encodeFrame, FrameDecoder } from "../../src/control/frame.js";
import { MESSAGE_VERSION } from "../../src/control/messages.js";

test("a token login request frame is zeroed once sent", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-client-"));
  const sockPath = path.join(dir, "door");
  const received: unknown[] = [];
  const server = net.createServer((s) => {
    const d = new FrameDecoder();
    s.on("data", (chunk: Buffer) => {
      for (const item of d.push(chunk)) {
        assert.ok(item.ok);
        received.push(item.value);
        s.write(encodeFrame({ v: MESSAGE_VERSION, id: (item.value as { id: number }).id, ok: true, result: { token: "hsm", keys: 1 } }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  // The frames the client hands to its socket.
  const sent: Buffer[] = [];
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    if (Buffer.isBuffer(chunk) && chunk.includes("8642-secret-pin")) sent.push(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof write;
  let client: AdminClient | undefined;
  try {
    client = await AdminClient.connect(sockPath);
    const reply = await client.request({ cmd: "token_login", label: "hsm", pin: "8642-secret-pin" });
    assert.deepEqual(reply, { ok: true, result: { token: "hsm", keys: 1 } });
  } finally {
    net.Socket.prototype.write = write;
    client?.close();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(received, [{ v: MESSAGE_VERSION, id: 1, req: { cmd: "token_login", label: "hsm", pin: "8642-secret-pin" } }]);
  assert.equal(sent.length, 1, "the request went out in one frame");
  assert.ok(sent[0]!.every((b) => b === 0), "the frame was wiped after the write");
});
