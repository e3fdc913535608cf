/**
 * The addon's kernel sockets: NETLINK_XFRM and NETLINK_ROUTE opened inside a namespace, multicast
 * groups, whole datagrams delivered through the event loop, clean close, argument errors with stable
 * codes, AF_KEY's absence reported with its errno, and several worker threads at once (one of them
 * exiting with its socket open).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { loadNative } from "../../native/index.js";
import { NlFlag, splitMessages } from "../../src/kernel/wire/netlink.js";
import { createNetns, kernelSkip, until, type Netns } from "../helpers/netns.js";

const skip = kernelSkip();
let ns: Netns;
before(async () => {
  if (skip !== false) return;
  ns = await createNetns();
});
after(async () => ns?.remove());

/** A netlink dump request of `type` with sequence number `seq`. */
function dumpRequest(type: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(16, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(NlFlag.Request | NlFlag.Dump, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}

test("argument errors carry IKE_ERR_NATIVE_ARG", () => {
  const n = loadNative();
  assert.throws(() => n.openKernelSocket("bogus" as never, () => undefined), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.openKernelSocket("xfrm", 5 as never), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.openKernelSocket("pfkey", () => undefined, { groups: [1] }), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.openKernelSocket("xfrm", () => undefined, { groups: [0] }), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.kernelSocketSend({} as never, Buffer.alloc(16)), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.kernelSocketClose(Buffer.alloc(4) as never), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.udpSocket(5 as never, "127.0.0.1", 0), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.udpSocket(4, "::1", 0), { code: "IKE_ERR_NATIVE_ARG" });
  assert.throws(() => n.setXfrmBypass(-1, 4), { code: "IKE_ERR_NATIVE_ARG" });
});

test("a netns path that is not one fails with errno and syscall", { skip }, () => {
  assert.throws(() => loadNative().openKernelSocket("xfrm", () => undefined, { netns: "/nonexistent/ns" }), (e: { code: string; errno: number; syscall: string }) => {
    assert.equal(e.code, "IKE_ERR_NATIVE_SOCKET");
    assert.equal(e.errno, 2);
    assert.equal(e.syscall, "setns");
    return true;
  });
});

test("PF_KEY opens where the kernel has AF_KEY, else fails with EAFNOSUPPORT", { skip }, () => {
  const n = loadNative();
  try {
    const h = n.openKernelSocket("pfkey", () => undefined, { netns: ns.path });
    assert.equal(n.kernelSocketPortId(h), 0);
    n.kernelSocketClose(h);
  } catch (err) {
    assert.equal((err as { code: string }).code, "IKE_ERR_NATIVE_SOCKET");
    assert.equal((err as { errno: number }).errno, 97);
  }
});

test("XFRM: a dump answered in whole datagrams through the event loop; closing twice is fine", { skip }, async () => {
  const n = loadNative();
  await ns.ip("xfrm", "policy", "add", "src", "10.1.0.0/16", "dst", "10.2.0.0/16", "dir", "out", "tmpl", "proto", "esp");
  const got: Buffer[] = [];
  const h = n.openKernelSocket("xfrm", (err, msg) => {
    assert.equal(err, null);
    got.push(msg!);
  }, { netns: ns.path, rcvbuf: 1 << 20 });
  try {
    const port = n.kernelSocketPortId(h);
    assert.ok(port > 0);
    n.kernelSocketSend(h, dumpRequest(0x15, 77)); // XFRM_MSG_GETPOLICY dump
    const msgs = await until("NLMSG_DONE", () => {
      const all = got.flatMap((d) => {
        const r = splitMessages(d);
        return r.ok ? r.value : [];
      });
      return all.some((m) => m.type === 3) ? all : undefined;
    });
    assert.deepEqual(msgs.map((m) => [m.type, m.seq, m.pid]), [[0x13, 77, port], [3, 77, port]]);
  } finally {
    n.kernelSocketClose(h);
    n.kernelSocketClose(h);
    await ns.ip("xfrm", "policy", "flush");
  }
  assert.throws(() => n.kernelSocketSend(h, dumpRequest(0x15, 78)), { code: "IKE_ERR_NATIVE_CLOSED" });
});

test("NETLINK_ROUTE with the address groups hears RTM_NEWADDR and RTM_DELADDR", { skip }, async () => {
  const n = loadNative();
  const types: number[] = [];
  // RTNLGRP_IPV4_IFADDR = 5, RTNLGRP_IPV6_IFADDR = 9
  const h = n.openKernelSocket("route", (_e, msg) => {
    const r = msg === null ? null : splitMessages(msg);
    if (r?.ok) types.push(...r.value.map((m) => m.type));
  }, { netns: ns.path, groups: [5, 9] });
  try {
    await ns.ip("addr", "add", "198.51.100.7/32", "dev", "lo");
    await ns.ip("addr", "del", "198.51.100.7/32", "dev", "lo");
    await until("RTM_NEWADDR and RTM_DELADDR", () => types.includes(20) && types.includes(21));
  } finally {
    n.kernelSocketClose(h);
  }
});

const loader = fileURLToPath(new URL("../../native/index.js", import.meta.url));
const workerSource = `
  const { parentPort, workerData } = require("node:worker_threads");
  import(workerData.loader).then(({ loadNative }) => {
    const n = loadNative();
    const req = Buffer.alloc(16);
    req.writeUInt32LE(16, 0); req.writeUInt16LE(0x15, 4); req.writeUInt16LE(0x301, 6); req.writeUInt32LE(5, 8);
    const h = n.openKernelSocket("xfrm", (err, msg) => {
      if (msg === null) return;
      // Last message of the datagram: NLMSG_DONE (3) ends the dump.
      let at = 0, last = 0;
      while (at < msg.length) { last = msg.readUInt16LE(at + 4); at += (msg.readUInt32LE(at) + 3) & ~3; }
      if (last !== 3) return;
      parentPort.postMessage({ port: n.kernelSocketPortId(h) });
      // Every socket stays open until the test has all four ports; then half are closed, and the
      // other workers exit with theirs open: the environment's cleanup must close those.
      parentPort.once("message", () => {
        if (workerData.close) n.kernelSocketClose(h);
        parentPort.postMessage({ done: true });
      });
    }, { netns: workerData.netns });
    n.kernelSocketSend(h, req);
  });
`;

test("four worker threads each open, use and drop their own kernel socket", { skip }, async () => {
  const workers = [0, 1, 2, 3].map((i) => new Worker(workerSource, { eval: true, workerData: { loader, netns: ns.path, close: i % 2 === 0 } }));
  const next = (w: Worker): Promise<{ port?: number }> =>
    new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
  const ports = await Promise.all(workers.map(next));
  assert.equal(new Set(ports.map((p) => p.port)).size, 4, "each worker has a socket of its own");
  await Promise.all(
    workers.map(async (w) => {
      const done = next(w);
      w.postMessage("go");
      await done;
      await w.terminate();
    }),
  );
  // The main thread's addon instance still works after the workers went.
  const n = loadNative();
  const h = n.openKernelSocket("xfrm", () => undefined, { netns: ns.path });
  n.kernelSocketClose(h);
});
