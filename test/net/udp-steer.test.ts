/**
 * The IKE port's steered pair (issue 11): datagrams whose ISAKMP responder cookie is non-zero
 * arrive on the pair's second socket, all others (MM1s, datagrams too short for the header) on the
 * first; no socket of another user, nor one with only SO_REUSEADDR, joins or takes the port; a
 * failing pair falls back to one socket with one warning.
 *
 * Resources: 127.0.0.1, 127.0.0.2, 127.0.0.78:503, free UDP ports; a child process as uid 65534
 * (root needed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { loadNative, type NativeAddon } from "../../native/index.js";
import { inCi } from "../helpers/skip.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const NATIVE_JS = path.resolve(here, "../../native/index.js");
const WAIT_MS = 30_000;
const INUSE = /EADDRINUSE|Address already in use/;

/** The addon; the pair cannot exist without it (it is part of the build). */
function native(): NativeAddon {
  return loadNative();
}

/** A transport on 127.0.0.1 whose IKE port is the native pair, as the daemon wires it. */
function openSteered(n: NativeAddon, port = 0, extra: { onWarning?: (m: string) => void; openPair?: () => [number, number] } = {}): Promise<UdpTransport> {
  return UdpTransport.open({
    addresses: ["127.0.0.1"], port, nattPort: null,
    openPair: extra.openPair ?? ((address, p, reuseAddr) => n.udpSocketPair(4, address, p, { bypass: false, reuseAddr })),
    adopted: (fd) => n.clearReuseAddr(fd),
    ...(extra.onWarning ? { onWarning: extra.onWarning } : {}),
  });
}

/** A 28-byte ISAKMP header with the given responder cookie (hex, 16 digits). */
function header(rcookie: string): Buffer {
  const b = Buffer.alloc(28);
  b.write("0123456789abcdef", 0, "hex");
  b.write(rcookie, 8, "hex");
  b[16] = 1; // next payload SA
  b[17] = 0x10;
  b[18] = 2;
  b.writeUInt32BE(28, 24);
  return b;
}

/** Sends `d` to the transport's IKE port and says which socket took it: "first" or "verified". */
async function landsOn(t: UdpTransport, sender: dgram.Socket, d: Buffer): Promise<"first" | "verified"> {
  const before = t.stats();
  const port = t.ikeEndpoint("127.0.0.1")!.port;
  sender.send(d, port, "127.0.0.1");
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const s = t.stats();
    const seen = s.received + s.runts + s.espDropped + s.keepalives;
    if (seen > before.received + before.runts + before.espDropped + before.keepalives) {
      return s.verifiedReceived > before.verifiedReceived ? "verified" : "first";
    }
    assert.ok(Date.now() < deadline, `datagram ${d.toString("hex")} never arrived`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("datagrams with a non-zero responder cookie arrive on the pair's second socket, the rest on the first", async () => {
  const n = native();
  const t = await openSteered(n);
  const sender = dgram.createSocket("udp4");
  sender.bind(0, "127.0.0.2");
  await once(sender, "listening");
  const got: string[] = [];
  t.onDatagram((d) => got.push(Buffer.from(d).toString("hex")));
  try {
    // Neither port is 500, so the daemon's peers put the non-ESP marker first (src/net/marker.ts):
    // the program reads the cookie after it. Bare headers (what port 500 gets) are read as ESP by
    // the transport here, but still tell which socket the kernel picked.
    const M = (d: Buffer): Buffer => Buffer.concat([Buffer.alloc(4), d]);
    assert.equal(await landsOn(t, sender, M(header("0000000000000000"))), "first", "MM1: zero responder cookie");
    assert.equal(await landsOn(t, sender, M(header("0000000000000001"))), "verified", "last byte of the cookie set");
    assert.equal(await landsOn(t, sender, M(header("8000000000000000"))), "verified", "first byte of the cookie set");
    assert.equal(await landsOn(t, sender, M(Buffer.concat([header("00000000000000ff"), Buffer.alloc(100)]))), "verified", "a longer datagram");
    assert.equal(await landsOn(t, sender, M(header("ffffffffffffffff")).subarray(0, 31)), "first", "31 bytes with the marker: too short for the header");
    assert.equal(await landsOn(t, sender, header("0000000000000000")), "first", "bare MM1");
    assert.equal(await landsOn(t, sender, header("0000000100000000")), "verified", "bare header, cookie set");
    assert.equal(await landsOn(t, sender, header("ffffffffffffffff").subarray(0, 27)), "first", "27 bytes: too short for the header");
    assert.equal(await landsOn(t, sender, header("ffffffffffffffff").subarray(0, 12)), "first", "too short to hold the cookie");
    assert.equal(await landsOn(t, sender, Buffer.from([0xff])), "first", "a keepalive's one byte");
    assert.equal(await landsOn(t, sender, M(header("0000000000000000"))), "first", "zero again after non-zero ones");
    assert.equal(got.length, 6, "the six marked ones reach the handler, from either socket");
    const s = t.stats();
    assert.equal(s.verifiedReceived, 4);
    // Sends leave from the first socket: the reply's source port is the IKE port.
    const reply = once(sender, "message") as Promise<[Buffer, dgram.RemoteInfo]>;
    const local = t.ikeEndpoint("127.0.0.1")!;
    assert.equal(t.send(Buffer.from("x"), local, { address: "127.0.0.2", port: sender.address().port }), true);
    const [, rinfo] = await reply;
    assert.equal(rinfo.port, local.port);
  } finally {
    sender.close();
    await t.close();
  }
  // Both closed: the port is free again for a fresh pair.
  const again = await openSteered(n, t.endpoints()[0]?.local.port ?? 0);
  await again.close();
});

test("on port 500 (never a non-ESP marker) an MM1 whose initiator cookie starts with four zero bytes arrives on the first socket", async () => {
  const n = native();
  const t = await openSteered(n, 500);
  const sender = dgram.createSocket("udp4");
  sender.bind(0, "127.0.0.2");
  await once(sender, "listening");
  try {
    const mm1 = Buffer.concat([header("0000000000000000"), Buffer.alloc(92)]);
    mm1.write("0000000011223344", 0, "hex");
    mm1.writeUInt32BE(mm1.length, 24);
    assert.equal(await landsOn(t, sender, mm1), "first", "not read as if it carried a marker");
    assert.equal(await landsOn(t, sender, header("0000000000000001")), "verified");
  } finally {
    sender.close();
    await t.close();
  }
});

/** In a child process as uid 65534: what binding `address`:`port` (pair, or SO_REUSEADDR socket) gives. */
async function asNobody(kind: "pair" | "reuseaddr", address: string, port: number): Promise<string> {
  const script = `
    const { loadNative } = await import(${JSON.stringify(NATIVE_JS)});
    const n = loadNative();
    try {
      if (${JSON.stringify(kind)} === "pair") n.udpSocketPair(4, ${JSON.stringify(address)}, ${port}, { bypass: false });
      else n.udpSocket(4, ${JSON.stringify(address)}, ${port}, { bypass: false, reuseAddr: true });
      console.log("bound");
    } catch (e) { console.log(e.code === "IKE_ERR_NATIVE_SOCKET" ? e.message : "other " + e.message); }`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 0, out);
  return out.trim();
}

test("another user can neither join the pair's group nor take its port with SO_REUSEADDR", async (t) => {
  if (process.getuid?.() !== 0) {
    if (inCi()) assert.fail("CI=true: this test needs root (it runs a child as uid 65534)");
    return t.skip("needs root to run a child as uid 65534");
  }
  const n = native();
  const tr = await openSteered(n);
  try {
    const port = tr.ikeEndpoint("127.0.0.1")!.port;
    assert.match(await asNobody("pair", "127.0.0.1", port), INUSE);
    assert.match(await asNobody("reuseaddr", "127.0.0.1", port), INUSE);
    assert.match(await asNobody("reuseaddr", "0.0.0.0", port), INUSE);
    assert.equal(await asNobody("pair", "127.0.0.2", port), "bound", "another address of the host stays free");
  } finally {
    await tr.close();
  }
});

test("on a privileged port the pair keeps SO_REUSEADDR: another IKE daemon may bind the wildcard beside it (Libreswan's start-up)", async (t) => {
  if (process.getuid?.() !== 0) {
    if (inCi()) assert.fail("CI=true: this test needs root (port 503 is privileged)");
    return t.skip("needs root for port 503");
  }
  const n = native();
  const tr = await UdpTransport.open({
    addresses: ["127.0.0.78"], port: 503, nattPort: null,
    openPair: (address, p, reuseAddr) => n.udpSocketPair(4, address, p, { bypass: false, reuseAddr }),
    adopted: (fd) => n.clearReuseAddr(fd),
  });
  const other = dgram.createSocket({ type: "udp4", reuseAddr: true });
  try {
    const r = await new Promise<string>((resolve) => {
      other.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      other.bind(503, "0.0.0.0", () => resolve("bound"));
    });
    assert.equal(r, "bound");
  } finally {
    other.close();
    await tr.close();
  }
});

test("a pair whose bind fails is a bind error (no fallback, no warning)", async () => {
  const n = native();
  const warnings: string[] = [];
  await assert.rejects(
    UdpTransport.open({
      addresses: ["192.0.2.77"], port: 0, nattPort: null,
      openPair: (address, p, reuseAddr) => n.udpSocketPair(4, address, p, { bypass: false, reuseAddr }),
      onWarning: (m) => warnings.push(m),
    }),
    { code: "IKE_ERR_BIND" },
  );
  assert.deepEqual(warnings, []);
});

test("a pair that cannot be made falls back to one socket with one warning", async () => {
  const n = native();
  const warnings: string[] = [];
  const t = await UdpTransport.open({
    addresses: ["127.0.0.1", "127.0.0.2"], port: 0, nattPort: 0,
    openPair: () => { throw Object.assign(new Error("setsockopt(SO_ATTACH_REUSEPORT_CBPF): ENOPROTOOPT"), { code: "IKE_ERR_NATIVE_SOCKET" }); },
    adopted: (fd) => n.clearReuseAddr(fd),
    onWarning: (m) => warnings.push(m),
  });
  try {
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, /ENOPROTOOPT/);
    const sender = dgram.createSocket("udp4");
    sender.bind(0, "127.0.0.2");
    await once(sender, "listening");
    try {
      assert.equal(await landsOn(t, sender, header("0000000000000001")), "first");
    } finally {
      sender.close();
    }
    assert.equal(t.endpoints().length, 4);
  } finally {
    await t.close();
  }
});
