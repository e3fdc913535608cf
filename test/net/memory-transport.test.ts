import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork, memoryTransportPair } from "../../src/net/memory-transport.js";

const A = { address: "10.0.0.1", port: 500 };
const B = { address: "10.0.0.2", port: 500 };

test("memory pair delivers asynchronously, never inside send()", async () => {
  const { network, a, b } = memoryTransportPair(A, B);
  const got: string[] = [];
  b.onDatagram((d, local, remote) => got.push(`${d.toString()} ${local.address} ${remote.address}`));
  const buf = Buffer.from("one");
  assert.equal(a.send(buf, A, B), true);
  buf.write("XXX"); // the network copied it
  assert.deepEqual(got, []);
  await network.idle();
  assert.deepEqual(got, ["one 10.0.0.2 10.0.0.1"]);
  assert.equal(a.send(buf, B, A), false, "a does not own B");
});

test("loss, duplication and filters are applied and counted, reproducibly per seed", async () => {
  const run = async (seed: number): Promise<string[]> => {
    const { network, a, b } = memoryTransportPair(A, B, { seed, impair: { loss: 0.3, duplicate: 0.3 } });
    const got: string[] = [];
    b.onDatagram((d) => got.push(d.toString()));
    for (let i = 0; i < 50; i++) a.send(Buffer.from(String(i)), A, B);
    await network.idle();
    assert.equal(network.stats.sent, 50);
    assert.equal(network.stats.delivered, 50 - network.stats.lost + network.stats.duplicated);
    assert.ok(network.stats.lost > 0 && network.stats.duplicated > 0);
    return got;
  };
  assert.deepEqual(await run(7), await run(7));
  assert.notDeepEqual(await run(7), await run(8));

  const net = new MemoryNetwork({ impair: { filter: (d) => (d.toString() === "drop" ? "drop" : "pass") } });
  const x = net.attach([A]);
  const y = net.attach([B]);
  const got: string[] = [];
  y.onDatagram((d) => got.push(d.toString()));
  x.send(Buffer.from("drop"), A, B);
  x.send(Buffer.from("keep"), A, B);
  x.send(Buffer.from("nowhere"), A, { address: "10.9.9.9", port: 500 });
  await net.idle();
  assert.deepEqual(got, ["keep"]);
  assert.equal(net.stats.undeliverable, 1);
});

test("reordering swaps a held datagram with the next one", async () => {
  const { network, a, b } = memoryTransportPair(A, B, { impair: { reorder: 1 } });
  const got: string[] = [];
  b.onDatagram((d) => got.push(d.toString()));
  a.send(Buffer.from("first"), A, B);
  network.setImpairment({});
  a.send(Buffer.from("second"), A, B);
  await network.idle();
  assert.deepEqual(got, ["second", "first"]);
  assert.equal(network.stats.reordered, 1);
});

test("attaching the same endpoint twice is a test bug", () => {
  const net = new MemoryNetwork();
  net.attach([A]);
  assert.throws(() => net.attach([A]));
});
