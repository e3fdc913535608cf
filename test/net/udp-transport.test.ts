import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import { UdpTransport } from "../../src/net/udp-transport.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { skipNow } from "../helpers/skip.js";

function next(t: UdpTransport): Promise<{ d: Buffer; local: Endpoint; remote: Endpoint }> {
  return new Promise((resolve) => t.onDatagram((d, local, remote) => resolve({ d: Buffer.from(d), local, remote })));
}

test("two transports on loopback high ports exchange datagrams with the marker on the wire", async () => {
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: 0 });
  const b = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null });
  try {
    const aIke = a.ikeEndpoint("127.0.0.1")!;
    const bIke = b.ikeEndpoint("127.0.0.1")!;
    assert.ok(aIke.port > 0 && a.nattEndpoint("127.0.0.1")!.port > 0);
    assert.equal(b.nattEndpoint("127.0.0.1"), undefined);
    const got = next(b);
    assert.equal(a.send(Buffer.from("hello-isakmp"), aIke, bIke), true);
    const r = await got;
    assert.equal(r.d.toString(), "hello-isakmp");
    assert.deepEqual(r.local, bIke);
    assert.deepEqual(r.remote, aIke);

    // A raw socket sees the marker (neither port is 500) and its keepalives/ESP are dropped.
    const raw = dgram.createSocket("udp4");
    raw.bind(0, "127.0.0.1");
    await once(raw, "listening");
    const rawEp = { address: "127.0.0.1", port: raw.address().port };
    const wire = once(raw, "message");
    a.send(Buffer.from("abc"), aIke, rawEp);
    const [msg] = (await wire) as [Buffer];
    assert.equal(msg.toString("hex"), "00000000" + Buffer.from("abc").toString("hex"));
    const got2 = next(a);
    raw.send(Buffer.from([0xff]), aIke.port, "127.0.0.1");
    raw.send(Buffer.from("c000000100000001", "hex"), aIke.port, "127.0.0.1");
    raw.send(Buffer.concat([Buffer.alloc(4), Buffer.from("xyz")]), aIke.port, "127.0.0.1");
    const r2 = await got2;
    assert.equal(r2.d.toString(), "xyz");
    const s = a.stats();
    assert.equal(s.keepalives, 1);
    assert.equal(s.espDropped, 1);
    raw.close();
  } finally {
    await a.close();
    await b.close();
  }
});

test("sending from an unbound local endpoint is refused", async () => {
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null });
  try {
    assert.equal(a.send(Buffer.from("x"), { address: "127.0.0.9", port: 1 }, { address: "127.0.0.1", port: 9 }), false);
    assert.equal(a.stats().sendDropped, 1);
  } finally {
    await a.close();
  }
});

test("per-address binding coexists with another socket using SO_REUSEADDR on the same port", async () => {
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null });
  const port = a.ikeEndpoint("127.0.0.1")!.port;
  const other = dgram.createSocket({ type: "udp4", reuseAddr: true });
  try {
    other.bind(port, "0.0.0.0");
    await once(other, "listening");
    assert.equal(other.address().port, port);
  } finally {
    other.close();
    await a.close();
  }
});

test("bad addresses and bind failures are SocketErrors", async () => {
  await assert.rejects(UdpTransport.open({ addresses: ["not-an-ip"], port: 0 }), { code: "IKE_ERR_BAD_ADDRESS" });
  await assert.rejects(UdpTransport.open({ addresses: ["192.0.2.77"], port: 0, nattPort: null }), { code: "IKE_ERR_BIND" });
});

test("IPv6 loopback works when the host has it", async (t) => {
  let a: UdpTransport;
  try {
    a = await UdpTransport.open({ addresses: ["::1"], port: 0, nattPort: null });
  } catch {
    skipNow(t, "no ::1 on this host");
    return;
  }
  const b = await UdpTransport.open({ addresses: ["::1"], port: 0, nattPort: null });
  try {
    const got = next(b);
    a.send(Buffer.from("v6"), a.ikeEndpoint("::1")!, b.ikeEndpoint("::1")!);
    const r = await got;
    assert.equal(r.d.toString(), "v6");
    assert.equal(r.remote.address, "::1");
  } finally {
    await a.close();
    await b.close();
  }
});
