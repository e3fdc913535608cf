/**
 * Lost XFRM events on this machine's own kernel, in a private network namespace: an event socket
 * with the smallest receive buffer overruns under a burst of SA notices (recvmsg ENOBUFS), the
 * backend raises "lost", and a resync (src/kernel/resync.ts) makes a table of SA pairs match the
 * kernel again, whether the DELETE of a pair removed by someone else in the burst was dropped or
 * came through; events keep coming after the overrun. This kernel has no ESP: the pairs are larval SAs from ALLOCSPI, which the kernel
 * holds, dumps and deletes like any other.
 *
 * A lost ACQUIRE needs no resync (the man page says so): the kernel's larval state for it times out
 * (net.core.xfrm_acq_expires) and the traffic's next packet raises a new ACQUIRE.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { loadNative } from "../../native/index.js";
import type { AcquireEvent, DeleteEvent, LostEvent } from "../../src/kernel/kernel.js";
import { KernelResync, type HeldPair, type ResyncReport } from "../../src/kernel/resync.js";
import { XfrmKernel } from "../../src/kernel/xfrm/xfrm-kernel.js";
import { createNetns, kernelSkip, until, type Netns } from "../helpers/netns.js";

const skip = kernelSkip();
let ns: Netns;

before(async () => {
  if (skip !== false) return;
  ns = await createNetns();
  // lo skips IPsec unless told otherwise; the kernel's larval ACQUIRE state lives 1 s here.
  await ns.sysctl("net.ipv4.conf.lo.disable_xfrm=0", "net.ipv4.conf.lo.disable_policy=0", "net.core.xfrm_acq_expires=1");
});
after(async () => ns?.remove());

const L = "127.0.0.1";
const R = "127.0.0.2";

test("an overrun of the XFRM event socket raises 'lost'; the resync makes the table match the kernel", { skip }, async () => {
  // SO_RCVBUFFORCE of 1 byte: the kernel's minimum, room for a few notices.
  const k = await XfrmKernel.open({ netns: ns.path, eventRcvbuf: 1 });
  const other = await XfrmKernel.open({ netns: ns.path });
  try {
    const table: HeldPair[] = [];
    for (let i = 0; i < 3; i++) {
      const inbound = await k.getSpi(R, L, "esp");
      const outbound = await k.getSpi(L, R, "esp");
      table.push({ proto: "esp", inbound: { src: R, dst: L, spi: inbound.spi }, outbound: { src: L, dst: R, spi: outbound.spi } });
    }
    const filler = await Promise.all(Array.from({ length: 64 }, () => k.getSpi(R, L, "ah")));
    const forget = (ev: DeleteEvent): number => {
      const i = table.findIndex((p) => p.proto === ev.proto && [p.inbound, p.outbound].some((h) => h.dst === ev.dst && h.spi === ev.spi));
      if (i < 0) return 0;
      table.splice(i, 1);
      return 1;
    };
    const viaEvent: DeleteEvent[] = [];
    const viaResync: DeleteEvent[] = [];
    const lost: LostEvent[] = [];
    const reports: ResyncReport[] = [];
    const resync = new KernelResync({
      kernel: k,
      held: () => table,
      removed: (ev) => (viaResync.push(ev), forget(ev)),
      softExpired: () => false,
      done: (r) => reports.push(r),
    });
    k.on("delete", (ev) => (viaEvent.push(ev), forget(ev)));
    k.on("lost", (ev) => (lost.push(ev), resync.request(ev.cause)));
    // One burst in one tick, before the event socket is read: 64 DELSA notices of our own, then
    // someone else deletes the inbound SA of the first pair.
    const gone = table[0]!;
    const burst = filler.map((f) => k.delete(R, L, "ah", f.spi));
    burst.push(other.delete(gone.inbound.src, gone.inbound.dst, "esp", gone.inbound.spi));
    await Promise.all(burst);
    await until("the lost event", () => lost.length > 0);
    await until("the resync", () => reports.length > 0);
    await resync.idle();
    assert.equal(lost[0]!.cause, "overrun", lost[0]!.detail);
    assert.match(lost[0]!.detail, /IKE_ERR_NATIVE_OVERRUN/);
    assert.equal(reports[0]!.error, undefined);
    assert.equal(viaEvent.length + viaResync.length, 1, `the foreign DELETE handled once (event ${viaEvent.length}, resync ${viaResync.length})`);
    // The table matches the kernel: the pair is forgotten, every half of the others is there.
    const live = new Set((await k.dump()).map((s) => `${s.proto}:${s.dst}:${s.spi}`));
    assert.equal(table.length, 2);
    assert.ok(!table.includes(gone));
    for (const p of table) for (const h of [p.inbound, p.outbound]) assert.ok(live.has(`esp:${h.dst}:${h.spi}`));
    assert.ok(!live.has(`esp:${gone.inbound.dst}:${gone.inbound.spi}`));
    // The event socket still delivers after the overrun (libuv reported it as POLLERR).
    const next = table[0]!;
    const before = viaEvent.length;
    await other.delete(next.outbound.src, next.outbound.dst, "esp", next.outbound.spi);
    await until("the DELETE event after the overrun", () => viaEvent.length > before);
    assert.deepEqual(viaEvent.at(-1), { type: "delete", src: L, dst: R, proto: "esp", spi: next.outbound.spi });
    assert.equal(table.length, 1);
  } finally {
    await k.flush();
    await k.close();
    await other.close();
  }
});

test("a lost ACQUIRE: once the kernel's larval state times out, the traffic's next packet raises a new one", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  const sock = dgram.createSocket("udp4");
  try {
    await k.installPolicies([{
      id: 1, dir: "out", action: "ipsec", rank: 0, templates: [{ proto: "esp", mode: "transport" }],
      selector: { src: "127.0.0.1/32", dst: "127.0.0.2/32", ulp: 17, srcPort: 0, dstPort: 7010 },
    }]);
    const acquires: AcquireEvent[] = [];
    k.on("acquire", (e) => acquires.push(e));
    await new Promise<void>((resolve) => sock.bind({ fd: loadNative().udpSocket(4, L, 0, { bypass: false, netns: ns.path }) }, resolve));
    sock.send("first", 7010, R);
    const first = await until("the first ACQUIRE", () => acquires[0]);
    // Nobody answers it (as if it had been lost): the kernel's SPI-0 state for it goes by itself.
    await until("the larval ACQUIRE state to time out", async () => !(await ns.ip("xfrm", "state")).includes("proto esp"));
    sock.send("again", 7010, R);
    const second = await until("a new ACQUIRE", () => acquires[1]);
    assert.notEqual(second.seq, first.seq);
    assert.deepEqual(second.dst, { address: R, port: 7010 });
  } finally {
    sock.close();
    await k.removePolicies();
    await k.flush();
    await k.close();
  }
});
