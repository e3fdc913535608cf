/**
 * ikeload's source sockets are opened as in.iked opens its IKE port: the native addon's steered
 * pair, read and written in batches (src/net/native-sockets.ts), so a reply carrying our responder
 * cookie arrives on the pair's second socket. dgram's plain sockets (what ikeload used before)
 * have no second socket: there `verifiedReceived` stays 0.
 *
 * Resources: 127.4.2.1:500, 127.4.2.2 on a free UDP port.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import { openSourceSockets } from "../../src/load/runner.js";
import { poll } from "../helpers/wait.js";

/** A 28-byte ISAKMP header with a non-zero responder cookie, as every reply after MM2 has. */
function reply(): Buffer {
  const b = Buffer.alloc(28);
  b.write("0123456789abcdef", 0, "hex");
  b.write("fedcba9876543210", 8, "hex");
  b[16] = 8; // next payload Hash
  b[17] = 0x10;
  b[18] = 5; // Informational
  b.writeUInt32BE(28, 24);
  return b;
}

test("a datagram with a responder cookie reaches ikeload's sources on the steered pair's second socket", async () => {
  // Port 500, as ikeload binds by default: no non-ESP marker on either side (RFC 3947).
  const t = await openSourceSockets(["127.4.2.1"], 500);
  const sender = dgram.createSocket("udp4");
  try {
    sender.bind(0, "127.4.2.2");
    await once(sender, "listening");
    const got: Buffer[] = [];
    t.onDatagram((d) => got.push(d));
    sender.send(reply(), t.ikeEndpoint("127.4.2.1")!.port, "127.4.2.1");
    await poll(() => got.length === 1, "the datagram to arrive");
    assert.deepEqual(got[0], reply());
    const s = t.stats();
    assert.equal(s.received, 1);
    assert.equal(s.verifiedReceived, 1, "read from the pair's second socket");
  } finally {
    sender.close();
    await t.close();
  }
});
