import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import { sharesPort, UdpTransport } from "../../src/net/udp-transport.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { skipNow } from "../helpers/skip.js";
import { loadNative, type NativeAddon } from "../../native/index.js";

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

/** Binds a socket with SO_REUSEADDR to `address`:`port`; the error code, or "bound". */
async function hijack(address: string, port: number): Promise<string> {
  const other = dgram.createSocket({ type: "udp4", reuseAddr: true });
  try {
    return await new Promise<string>((resolve) => {
      other.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      other.bind(port, address, () => resolve("bound"));
    });
  } finally {
    other.close();
  }
}

test("no other socket, even one with SO_REUSEADDR, binds our address and port; another address of the host may", async () => {
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: 0 });
  try {
    for (const e of a.endpoints()) {
      assert.equal(await hijack("127.0.0.1", e.local.port), "EADDRINUSE", `${e.natt ? "NAT-T" : "IKE"} port taken over`);
      assert.equal(await hijack("0.0.0.0", e.local.port), "EADDRINUSE");
      assert.equal(await hijack("127.0.0.2", e.local.port), "bound", "another IKE daemon on another address coexists");
    }
  } finally {
    await a.close();
  }
});

test("on a privileged port (as 500) another IKE daemon may bind the wildcard beside us (Libreswan's start-up); the NAT-T port stays ours", async (t) => {
  // Port 501: privileged like 500, and used by no other test.
  let a: UdpTransport;
  try {
    a = await UdpTransport.open({ addresses: ["127.0.0.77"], port: 501, nattPort: 0 });
  } catch (err) {
    // A privileged port needs root (CI runs as root; under CI=true skipNow throws).
    return skipNow(t, `cannot bind 127.0.0.77:501: ${(err as Error).message}`);
  }
  try {
    assert.equal(sharesPort(501), true);
    assert.equal(await hijack("0.0.0.0", 501), "bound", "a probe of 0.0.0.0 on the port, as pluto's of 0.0.0.0:500, succeeds");
    const natt = a.endpoints().find((e) => e.natt)!.local.port;
    assert.equal(sharesPort(natt), false);
    assert.equal(await hijack("127.0.0.77", natt), "EADDRINUSE");
  } finally {
    await a.close();
  }
});

test("a descriptor from openSocket loses the SO_REUSEADDR libuv sets when adopting it", async (t) => {
  let native: NativeAddon;
  try {
    native = loadNative();
  } catch (err) {
    // Under CI=true skipNow throws: the addon is part of the build.
    return skipNow(t, `native addon not built: ${(err as Error).message}`);
  }
  const openSocket = (address: string, port: number) => native.udpSocket(4, address, port, { bypass: false });
  // Without the hook, libuv's SO_REUSEADDR lets another socket share our address and port.
  const plain = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null, openSocket });
  try {
    assert.equal(await hijack("127.0.0.1", plain.endpoints()[0]!.local.port), "bound", "libuv sets SO_REUSEADDR on an adopted descriptor");
  } finally {
    await plain.close();
  }
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: 0, openSocket, adopted: (fd) => native.clearReuseAddr(fd) });
  try {
    for (const e of a.endpoints()) assert.equal(await hijack("127.0.0.1", e.local.port), "EADDRINUSE", `${e.natt ? "NAT-T" : "IKE"} port taken over`);
  } finally {
    await a.close();
  }
  const failing = UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null, openSocket, adopted: () => { throw new Error("EBADF"); } });
  await assert.rejects(failing, { code: "IKE_ERR_BIND" });
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

test("send counters keep what an address's sockets sent after the address is gone (they never go back)", async () => {
  const a = await UdpTransport.open({ addresses: ["127.0.0.1"], port: 0, nattPort: null });
  const raw = dgram.createSocket("udp4");
  raw.bind(0, "127.0.0.1");
  await once(raw, "listening");
  try {
    await a.addAddress("127.0.0.2");
    const from = a.ikeEndpoint("127.0.0.2")!;
    const wire = once(raw, "message");
    assert.equal(a.send(Buffer.from("abc"), from, { address: "127.0.0.1", port: raw.address().port }), true);
    await wire;
    assert.equal(a.stats().sent, 1);
    await a.removeAddress("127.0.0.2");
    assert.equal(a.ikeEndpoint("127.0.0.2"), undefined);
    assert.equal(a.stats().sent, 1, "the gone address's send still counted");
    assert.equal(a.send(Buffer.from("x"), from, { address: "127.0.0.1", port: raw.address().port }), false);
    assert.equal(a.stats().sendDropped, 1);
  } finally {
    raw.close();
    await a.close();
  }
});
