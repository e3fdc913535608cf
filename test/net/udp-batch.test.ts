/**
 * The IKE port's pair read with recvmmsg and written with sendmmsg by the native addon
 * (native/src/udp-batch.c, src/net/udp-batch.ts): every datagram of a burst comes back exactly
 * (bytes, source address and port; both families), in order, a batch at most `slots` long and
 * socket 1 before socket 0; a datagram longer than a slot is reported cut short, never handed on;
 * sends leave in order, a bad destination fails alone; bad arguments are refused and leave the
 * descriptors to the caller; the transport falls back to dgram when the addon refuses them.
 *
 * Resources: 127.0.0.1, 127.0.0.2, ::1, free UDP ports (run in a network namespace of your own).
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import net from "node:net";
import { loadNative, type NativeAddon, type UdpBatchHandle } from "../../native/index.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { BatchBuffers, BatchSendQueue } from "../../src/net/udp-batch.js";
import { DEFAULT_SEND_LIMITS } from "../../src/net/send-queue.js";
import { skipNow } from "../helpers/skip.js";

const WAIT_MS = 30_000;

/** Waits until `done()` holds, polling; fails after a generous bound. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A 28-byte ISAKMP header with the given responder cookie, then `extra` bytes. */
function header(rcookie: string, extra = 0): Buffer {
  const b = Buffer.alloc(28 + extra, 0x5a);
  b.write("0123456789abcdef", 0, "hex");
  b.write(rcookie, 8, "hex");
  return b;
}

interface Got {
  sock: number;
  data: Buffer;
  address: string;
  port: number;
  flags: number;
}

/** The pair on `address`, opened for batches of `slots` x `slotSize`; every datagram and batch size recorded. */
function openBatch(n: NativeAddon, family: 4 | 6, address: string, slots: number, slotSize: number) {
  const [fd0, fd1] = n.udpSocketPair(family, address, 0, { bypass: false });
  const buffers = new BatchBuffers(slots, slotSize);
  const got: Got[] = [];
  const batches: { sock: number; count: number }[] = [];
  let writable = 0;
  const handle = n.udpBatchOpen([fd0, fd1], buffers.data, buffers.meta, slots, slotSize, (sock, count, errno) => {
    assert.equal(errno, 0);
    if (count === -1) return void writable++;
    batches.push({ sock, count });
    for (let i = 0; i < count; i++) {
      const w = (i * 96) / 4;
      const len = buffers.words[w]!;
      got.push({
        sock,
        data: Buffer.from(buffers.data.subarray(i * slotSize, i * slotSize + len)),
        flags: buffers.words[w + 1]!,
        port: buffers.words[w + 2]!,
        address: buffers.meta.toString("latin1", i * 96 + 16, i * 96 + 16 + buffers.words[w + 3]!),
      });
    }
  });
  return { handle, got, batches, port: n.udpBatchPort(handle), writable: () => writable };
}

async function sender(family: 4 | 6, address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(family === 6 ? "udp6" : "udp4");
  s.bind(0, address);
  await once(s, "listening");
  return s;
}

/** Whether the host has an IPv6 loopback. */
async function hasV6(): Promise<boolean> {
  const s = dgram.createSocket("udp6");
  try {
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(0, "::1", () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: a burst of mixed sizes comes back exactly, in order per socket, in full batches, a datagram longer than a slot flagged`, async (t: TestContext) => {
    if (family === 6 && !(await hasV6())) return skipNow(t, "no ::1 on this host");
    const n = loadNative();
    const local = family === 6 ? "::1" : "127.0.0.1";
    const peer = family === 6 ? "::1" : "127.0.0.2";
    const slotSize = 300;
    const b = openBatch(n, family, local, 8, slotSize);
    // The sender is a batch socket too: all 20 leave in one sendmmsg, before the loop polls again.
    const out = openBatch(n, family, peer, 1, 64);
    try {
      const sizes = [0, 1, 27, 28, 100, slotSize, slotSize + 1, 1400, 84, 84, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
      const sent = sizes.map((len, i) => Buffer.alloc(len, i + 1));
      assert.equal(n.udpBatchSend(out.handle, 0, sent, sent.map(() => b.port), sent.map(() => local), sent.length), sent.length);
      await until(() => b.got.length === sent.length, "every datagram");
      // Filled with i + 1: from 28 bytes on the responder cookie is non-zero, so socket 1 (udp-bypass.c).
      const onOne = sizes.map((len) => len >= 28);
      assert.deepEqual(b.batches, [{ sock: 1, count: 7 }, { sock: 0, count: 8 }, { sock: 0, count: 5 }], "socket 1 first, then socket 0 in full batches");
      const order = [...sizes.keys()].sort((x, y) => Number(onOne[y]) - Number(onOne[x]));
      for (const [k, g] of b.got.entries()) {
        const i = order[k]!;
        assert.equal(g.address, peer);
        assert.equal(g.port, out.port);
        assert.equal(g.sock, onOne[i] ? 1 : 0);
        if (sizes[i]! > slotSize) {
          assert.equal(g.flags, 1, `datagram ${i} (${sizes[i]} bytes) is flagged cut short`);
          assert.deepEqual(g.data, sent[i]!.subarray(0, slotSize));
        } else {
          assert.equal(g.flags, 0);
          assert.deepEqual(g.data, sent[i], `datagram ${i} (${sizes[i]} bytes)`);
        }
      }
    } finally {
      n.udpBatchClose(out.handle);
      n.udpBatchClose(b.handle);
    }
  });
}

test("socket 1 (responder cookie set) is read before socket 0 whichever woke the loop", async () => {
  const n = loadNative();
  const b = openBatch(n, 4, "127.0.0.1", 4, 2048);
  const out = openBatch(n, 4, "127.0.0.2", 1, 64);
  try {
    // In one sendmmsg, socket 0's first: all queued before the loop polls.
    const burst = [...Array.from({ length: 10 }, (_, i) => header("0000000000000000", i)), ...Array.from({ length: 3 }, (_, i) => header("00000000000000ff", i))];
    assert.equal(n.udpBatchSend(out.handle, 0, burst, burst.map(() => b.port), burst.map(() => "127.0.0.1"), burst.length), burst.length);
    await until(() => b.got.length === 13, "every datagram");
    assert.deepEqual(b.batches[0], { sock: 1, count: 3 }, "the verified socket's datagrams come first");
    assert.deepEqual(b.got.filter((g) => g.sock === 0).map((g) => g.data.length), [28, 29, 30, 31, 32, 33, 34, 35, 36, 37], "socket 0 in order");
  } finally {
    n.udpBatchClose(out.handle);
    n.udpBatchClose(b.handle);
  }
});

test("sendmmsg: datagrams leave from socket 0 in order; a bad destination fails alone and is counted", async () => {
  const n = loadNative();
  const b = openBatch(n, 4, "127.0.0.1", 4, 2048);
  const r = await sender(4, "127.0.0.2");
  const seen: Buffer[] = [];
  let from = -1;
  r.on("message", (m, rinfo) => {
    seen.push(m);
    from = rinfo.port;
  });
  const errors: Error[] = [];
  const q = new BatchSendQueue(n, b.handle, DEFAULT_SEND_LIMITS, (e) => errors.push(e));
  try {
    const port = r.address().port;
    for (let i = 0; i < 100; i++) assert.equal(q.push(Buffer.from(`d${i}`), port, i === 50 ? "::1" : "127.0.0.2"), true);
    await until(() => seen.length === 99, "99 datagrams");
    assert.deepEqual(seen.map(String), Array.from({ length: 100 }, (_, i) => `d${i}`).filter((_, i) => i !== 50));
    assert.equal(from, b.port, "sent from the IKE port");
    assert.deepEqual(q.stats, { sent: 99, dropped: 0, errors: 1 });
    assert.equal((errors[0] as { code?: string }).code, "EINVAL");
    // Bounded as the dgram queue is: beyond the bound, dropped and counted.
    const small = new BatchSendQueue(n, b.handle, { maxInFlight: 1, maxQueued: 2, maxQueuedBytes: 1024 }, () => {});
    assert.deepEqual([1, 2, 3, 4].map((i) => small.push(Buffer.from(`x${i}`), port, "127.0.0.2")), [true, true, true, false]);
    small.close();
    assert.equal(small.push(Buffer.from("late"), port, "127.0.0.2"), false);
    assert.deepEqual(small.stats, { sent: 0, dropped: 4, errors: 0 });
    // What a send that met EAGAIN waits for: one writable event, then reading goes on as before.
    n.udpBatchWantWritable(b.handle, 0);
    await until(() => b.writable() === 1, "the writable event");
    const before = b.got.length;
    r.send(Buffer.alloc(3), b.port, "127.0.0.1");
    await until(() => b.got.length === before + 1, "a datagram read after the writable event");
    assert.equal(b.writable(), 1, "one event per request");
  } finally {
    r.close();
    n.udpBatchClose(b.handle);
  }
  n.udpBatchClose(b.handle); // a second close does nothing
  assert.throws(() => n.udpBatchSend(b.handle, 0, [Buffer.from("x")], [1], ["127.0.0.1"], 1), { code: "IKE_ERR_NATIVE_CLOSED" });
});

test("bad arguments are refused and leave the descriptors to the caller", async () => {
  const n = loadNative();
  const [fd0, fd1] = n.udpSocketPair(4, "127.0.0.1", 0, { bypass: false });
  const [v6] = (await hasV6()) ? n.udpSocketPair(6, "::1", 0, { bypass: false }) : [undefined];
  const ok = new BatchBuffers(4, 512);
  const cb = (): void => {};
  const tcp = net.createServer();
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  const tcpFd = (tcp as unknown as { _handle: { fd: number } })._handle.fd;
  const cases: [string, () => UdpBatchHandle][] = [
    ["no descriptors", () => n.udpBatchOpen([], ok.data, ok.meta, 4, 512, cb)],
    ["three descriptors", () => n.udpBatchOpen([fd0, fd1, fd1], ok.data, ok.meta, 4, 512, cb)],
    ["a negative descriptor", () => n.udpBatchOpen([-1], ok.data, ok.meta, 4, 512, cb)],
    ["a TCP socket", () => n.udpBatchOpen([tcpFd], ok.data, ok.meta, 4, 512, cb)],
    ["data too short", () => n.udpBatchOpen([fd0, fd1], ok.data.subarray(0, 100), ok.meta, 4, 512, cb)],
    ["meta too short", () => n.udpBatchOpen([fd0, fd1], ok.data, ok.meta.subarray(0, 95), 4, 512, cb)],
    ["unaligned data", () => n.udpBatchOpen([fd0, fd1], ok.data.subarray(1), ok.meta, 1, 512, cb)],
    ["no slots", () => n.udpBatchOpen([fd0, fd1], ok.data, ok.meta, 0, 512, cb)],
    ["slots over 64 KiB", () => n.udpBatchOpen([fd0, fd1], Buffer.allocUnsafeSlow(65537), Buffer.allocUnsafeSlow(96), 1, 65537, cb)],
    ["no callback", () => n.udpBatchOpen([fd0, fd1], ok.data, ok.meta, 4, 512, 7 as unknown as () => void)],
    ...(v6 !== undefined ? [["two families", () => n.udpBatchOpen([fd0, v6], ok.data, ok.meta, 4, 512, cb)] as [string, () => UdpBatchHandle]] : []),
  ];
  try {
    for (const [what, open] of cases) assert.throws(open, { code: "IKE_ERR_NATIVE_ARG" }, what);
    for (const fd of [fd0, fd1, tcpFd, ...(v6 !== undefined ? [v6] : [])]) assert.ok(fs.fstatSync(fd).isSocket(), `fd ${fd} still open`);
    const h = n.udpBatchOpen([fd0, fd1], ok.data, ok.meta, 4, 512, cb);
    for (const [what, send] of [
      ["count 0", () => n.udpBatchSend(h, 0, [], [], [], 0)],
      ["count over the arrays", () => n.udpBatchSend(h, 0, [Buffer.from("x")], [1], ["127.0.0.1"], 2)],
      ["count over 64", () => n.udpBatchSend(h, 0, Array(65).fill(Buffer.from("x")), Array(65).fill(1), Array(65).fill("127.0.0.1"), 65)],
      ["no such socket", () => n.udpBatchSend(h, 2, [Buffer.from("x")], [1], ["127.0.0.1"], 1)],
      ["a string for a datagram", () => n.udpBatchSend(h, 0, ["x" as unknown as Buffer], [1], ["127.0.0.1"], 1)],
      ["a number for an address", () => n.udpBatchSend(h, 0, [Buffer.from("x")], [1], [1 as unknown as string], 1)],
      ["not a handle", () => n.udpBatchSend({} as UdpBatchHandle, 0, [Buffer.from("x")], [1], ["127.0.0.1"], 1)],
    ] as const) {
      assert.throws(send, { code: "IKE_ERR_NATIVE_ARG" }, what);
    }
    assert.equal(n.udpBatchSend(h, 0, [Buffer.from("x")], [70000], ["127.0.0.1"], 1), -22, "a port over 65535 is EINVAL");
    n.udpBatchClose(h);
    assert.throws(() => fs.fstatSync(fd0), /EBADF/, "closed with the handle");
  } finally {
    tcp.close();
    if (v6 !== undefined) fs.closeSync(v6);
  }
});

test("the transport reads the pair in batches: steering, counters and replies as with dgram", async () => {
  const n = loadNative();
  const warnings: string[] = [];
  const t = await UdpTransport.open({
    addresses: ["127.0.0.1"], port: 0, nattPort: null,
    openPair: (address, p, reuseAddr) => n.udpSocketPair(4, address, p, { bypass: false, reuseAddr }),
    adopted: (fd) => n.clearReuseAddr(fd),
    batch: n,
    onWarning: (m) => warnings.push(m),
  });
  const s = await sender(4, "127.0.0.2");
  const got: { d: string; address: string; port: number }[] = [];
  t.onDatagram((d, _local, remote) => got.push({ d: d.toString("hex"), ...remote }));
  try {
    const port = t.ikeEndpoint("127.0.0.1")!.port;
    const M = (d: Buffer): Buffer => Buffer.concat([Buffer.alloc(4), d]);
    const burst = [M(header("0000000000000000")), M(header("0000000000000001")), Buffer.from([0xff]), M(header("0000000000000000", 3)), Buffer.alloc(2), header("0000000000000000")];
    for (const d of burst) s.send(d, port, "127.0.0.1");
    await until(() => {
      const st = t.stats();
      return st.received + st.keepalives + st.runts + st.espDropped === burst.length;
    }, "the burst");
    assert.deepEqual(t.stats(), { received: 3, keepalives: 1, espDropped: 1, runts: 1, verifiedReceived: 1, sent: 0, sendDropped: 0, sendErrors: 0 });
    assert.deepEqual(got.map((g) => g.d), [header("0000000000000001"), header("0000000000000000"), header("0000000000000000", 3)].map((d) => d.toString("hex")), "socket 1's first, then socket 0's in order");
    assert.ok(got.every((g) => g.address === "127.0.0.2" && g.port === s.address().port));
    const reply = once(s, "message") as Promise<[Buffer, dgram.RemoteInfo]>;
    assert.equal(t.send(Buffer.from("reply"), t.ikeEndpoint("127.0.0.1")!, { address: "127.0.0.2", port: s.address().port }), true);
    const [m, rinfo] = await reply;
    assert.deepEqual([m.toString("hex"), rinfo.port], [Buffer.concat([Buffer.alloc(4), Buffer.from("reply")]).toString("hex"), port], "the marker added, sent from the IKE port");
    await until(() => t.stats().sent === 1, "the send counted");
    assert.deepEqual(warnings, []);
  } finally {
    s.close();
    await t.close();
  }
  // Both closed: the port is free again.
  const again = await UdpTransport.open({ addresses: ["127.0.0.1"], port: t.endpoints()[0]?.local.port ?? 0, nattPort: null });
  await again.close();
});

test("an addon that refuses the descriptors leaves the pair to dgram, with one warning", async () => {
  const n = loadNative();
  const warnings: string[] = [];
  const refusing = { ...n, udpBatchOpen: () => { throw Object.assign(new Error("udpBatchOpen: ENOSYS"), { code: "IKE_ERR_NATIVE_SOCKET" }); } };
  const t = await UdpTransport.open({
    addresses: ["127.0.0.1"], port: 0, nattPort: null,
    openPair: (address, p, reuseAddr) => n.udpSocketPair(4, address, p, { bypass: false, reuseAddr }),
    adopted: (fd) => n.clearReuseAddr(fd),
    batch: refusing,
    onWarning: (m) => warnings.push(m),
  });
  const s = await sender(4, "127.0.0.2");
  try {
    const port = t.ikeEndpoint("127.0.0.1")!.port;
    s.send(Buffer.concat([Buffer.alloc(4), header("0000000000000001")]), port, "127.0.0.1");
    s.send(Buffer.concat([Buffer.alloc(4), header("0000000000000000")]), port, "127.0.0.1");
    await until(() => t.stats().received === 2, "both datagrams through dgram");
    assert.equal(t.stats().verifiedReceived, 1, "still the steered pair");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /in batches.*ENOSYS/);
  } finally {
    s.close();
    await t.close();
  }
});

test("a send queue that meets EAGAIN waits for the writable event, then sends the rest in order", async () => {
  const calls: string[][] = [];
  let full = true;
  let wanted = 0;
  const io = {
    udpBatchSend: (_h: UdpBatchHandle, _sock: number, d: Buffer[], _p: number[], _a: string[], count: number) => {
      if (full) return -os.constants.errno.EAGAIN;
      calls.push(d.slice(0, count).map(String));
      return Math.min(count, 2); // the socket takes two at a time
    },
    udpBatchWantWritable: () => void wanted++,
  } as unknown as NativeAddon;
  const q = new BatchSendQueue(io, {} as UdpBatchHandle, DEFAULT_SEND_LIMITS, () => assert.fail("no error"));
  for (const x of ["a", "b", "c"]) q.push(Buffer.from(x), 1, "127.0.0.1");
  await new Promise((r) => process.nextTick(r));
  assert.equal(wanted, 1, "asked for the writable event once");
  assert.equal(q.length, 3);
  q.push(Buffer.from("d"), 1, "127.0.0.1");
  q.push(Buffer.from("e"), 1, "127.0.0.1");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, [], "nothing tried while blocked");
  full = false;
  q.writable();
  assert.deepEqual(calls, [["a", "b", "c", "d", "e"], ["c", "d", "e"], ["e"]]);
  assert.deepEqual(q.stats, { sent: 5, dropped: 0, errors: 0 });
  assert.equal(q.length, 0);
});
