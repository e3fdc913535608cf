/**
 * XfrmKernel against this machine's own kernel, in private network namespaces: the SPD (install,
 * replace, remove, stale and foreign policies), ACQUIRE delivery over `lo`, ALLOCSPI, events for
 * what others do, and SA installation failing cleanly (this kernel has no ESP: EPROTONOSUPPORT).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DebugCategory } from "../../src/log/categories.js";
import { LogHub } from "../../src/log/logger.js";
import { loadNative } from "../../native/index.js";
import type { AcquireEvent, DeleteEvent, FlushEvent } from "../../src/kernel/kernel.js";
import { SPD_PRIORITY_BASE, type SpdPolicy } from "../../src/kernel/spd.js";
import { XfrmKernel } from "../../src/kernel/xfrm/xfrm-kernel.js";
import { espSa } from "./helpers.js";
import { createNetns, kernelSkip, until, type Netns } from "../helpers/netns.js";

const skip = kernelSkip();
let ns: Netns;

before(async () => {
  if (skip !== false) return;
  ns = await createNetns();
  // lo skips IPsec unless told otherwise; 127.0.0.2 is local on lo already.
  await ns.sysctl("net.ipv4.conf.lo.disable_xfrm=0", "net.ipv4.conf.lo.disable_policy=0");
});
after(async () => ns?.remove());

const udpOut = (id: number, dport: number, rank = 0): SpdPolicy => ({
  id,
  dir: "out",
  selector: { src: "127.0.0.1/32", dst: "127.0.0.2/32", ulp: 17, srcPort: 0, dstPort: dport },
  action: "ipsec",
  rank,
  templates: [{ proto: "esp", mode: "transport" }],
});
const udpIn = (id: number, dport: number): SpdPolicy => ({ ...udpOut(id, dport), dir: "in", selector: { src: "127.0.0.1/32", dst: "127.0.0.2/32", ulp: 17, srcPort: 0, dstPort: dport } });

test("policies: install, replace in place without a gap, leave others' alone, remove only ours", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  try {
    await ns.ip("xfrm", "policy", "add", "src", "10.9.9.0/24", "dst", "10.8.8.0/24", "dir", "out", "priority", "100", "tmpl", "proto", "esp");
    const v6: SpdPolicy = { id: 3, dir: "in", selector: { src: "2001:db8::/64", dst: "2001:db8:1::/64", ulp: 0, srcPort: 0, dstPort: 0 }, action: "drop", rank: 1, templates: [] };
    const bypass: SpdPolicy = { id: 4, dir: "out", selector: { src: "0.0.0.0/0", dst: "192.0.2.9/32", ulp: 6, srcPort: 0, dstPort: 22 }, action: "bypass", rank: 0, templates: [] };
    const r1 = await k.installPolicies([udpOut(1, 5001, 2), v6, bypass]);
    assert.deepEqual(r1, { installed: 3, removed: 0, conflicts: [] });
    const d1 = await k.dumpPolicies();
    const ours1 = d1.filter((e) => e.owned);
    assert.equal(ours1.length, 3);
    assert.deepEqual(ours1.map((e) => [e.id, e.dir, e.rank, e.priority - SPD_PRIORITY_BASE, e.action]).sort(), [[1, "out", 2, 2, "ipsec"], [3, "in", 1, 1, "drop"], [4, "out", 0, 0, "bypass"]]);
    assert.deepEqual(ours1.find((e) => e.id === 1)!.templates, [{ proto: "esp", mode: "transport", reqid: 0, optional: false }]);
    const index1 = ours1.find((e) => e.id === 1)!.index;
    // Replace: policy 1 changes rank (same selector: updated in place), 3 goes, 5 comes.
    const r2 = await k.installPolicies([udpOut(1, 5001, 7), { ...udpOut(5, 5002), templates: [{ proto: "esp", mode: "transport" }, { proto: "ah", mode: "transport" }] }, bypass]);
    assert.deepEqual(r2, { installed: 3, removed: 1, conflicts: [] });
    const d2 = await k.dumpPolicies();
    const p1 = d2.find((e) => e.owned && e.id === 1)!;
    assert.equal(p1.index, index1, "an update keeps the policy (no gap, same index)");
    assert.equal(p1.rank, 7);
    assert.equal(d2.find((e) => e.id === 3), undefined);
    assert.deepEqual(d2.find((e) => e.id === 5)!.templates.map((t) => t.proto), ["esp", "ah"]);
    const foreign = d2.filter((e) => !e.owned);
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]!.selector.src, "10.9.9.0/24");
    // A policy of ours with the same selector and direction as someone else's is refused, theirs kept.
    const clash: SpdPolicy = { id: 9, dir: "out", selector: { src: "10.9.9.0/24", dst: "10.8.8.0/24", ulp: 0, srcPort: 0, dstPort: 0 }, action: "bypass", rank: 0, templates: [] };
    const r3 = await k.installPolicies([udpOut(1, 5001), clash]);
    assert.equal(r3.conflicts.length, 1);
    assert.equal(r3.conflicts[0]!.policy.id, 9);
    assert.equal((await k.dumpPolicies()).find((e) => e.selector.src === "10.9.9.0/24")!.priority, 100);
    assert.equal(await k.removePolicies(), 1);
    const left = await k.dumpPolicies();
    assert.deepEqual(left.map((e) => e.owned), [false]);
  } finally {
    await k.close();
    await ns.ip("xfrm", "policy", "flush");
  }
});

test("a restarted daemon finds and removes the policies a previous run left", { skip }, async () => {
  const first = await XfrmKernel.open({ netns: ns.path });
  await first.installPolicies([udpOut(1, 6001), udpOut(2, 6002)]);
  await first.close(); // a crash: nothing removed
  const second = await XfrmKernel.open({ netns: ns.path });
  try {
    const r = await second.installPolicies([udpOut(1, 6001)]);
    assert.deepEqual(r, { installed: 1, removed: 1, conflicts: [] });
    assert.deepEqual((await second.dumpPolicies()).map((e) => e.id), [1]);
    assert.equal(await second.removePolicies(), 1);
  } finally {
    await second.close();
  }
});

test("ACQUIRE: the first packet of outbound traffic a policy covers is reported; ALLOCSPI adopts its larval state", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  const native = loadNative();
  const sock = dgram.createSocket("udp4");
  try {
    await k.installPolicies([udpOut(7, 7007)]);
    const acquires: AcquireEvent[] = [];
    k.on("acquire", (e) => acquires.push(e));
    // A socket without the bypass policy, as any application's.
    await new Promise<void>((resolve) => sock.bind({ fd: native.udpSocket(4, "127.0.0.1", 0, { bypass: false, netns: ns.path }) }, resolve));
    sock.send("first packet", 7007, "127.0.0.2");
    const a = await until("ACQUIRE", () => acquires[0]);
    assert.equal(a.proto, "esp");
    assert.equal(a.mode, "transport");
    assert.deepEqual(a.dst, { address: "127.0.0.2", port: 7007 });
    assert.equal(a.src.address, "127.0.0.1");
    assert.equal(a.src.port, sock.address().port);
    assert.equal(a.ulp, 17);
    assert.equal(a.policy.index, 7, "the kernel's policy index maps back to the caller's id");
    assert.deepEqual(a.endpoints, { src: "127.0.0.1", dst: "127.0.0.2" });
    assert.ok(a.seq > 0);
    const larval = await k.getSpi("127.0.0.1", "127.0.0.2", "esp", { min: 0x1000, max: 0x1fff }, { seq: a.seq });
    assert.equal(larval.state, "larval");
    assert.ok(larval.spi >= 0x1000 && larval.spi <= 0x1fff);
    const listed = await k.dump("esp");
    assert.ok(listed.some((s) => s.spi === larval.spi && s.state === "larval" && s.dst === "127.0.0.2"));
    // The kernel's own SPI-0 placeholder is not an SA of anyone's: never listed.
    assert.ok(listed.every((s) => s.spi !== 0));
  } finally {
    sock.close();
    await k.removePolicies();
    await k.flush();
    await k.close();
  }
});

test("IKE sockets bypass a policy that covers their traffic; other sockets do not", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  const native = loadNative();
  const bound = (fd: number): Promise<dgram.Socket> =>
    new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.bind({ fd }, () => resolve(s));
    });
  const receiver = await bound(native.udpSocket(4, "127.0.0.2", 0, { netns: ns.path }));
  const port = receiver.address().port;
  const ike = await bound(native.udpSocket(4, "127.0.0.1", 0, { netns: ns.path }));
  const plain = await bound(native.udpSocket(4, "127.0.0.1", 0, { bypass: false, netns: ns.path }));
  try {
    await k.installPolicies([udpOut(1, port), udpIn(2, port)]);
    const acquires: AcquireEvent[] = [];
    k.on("acquire", (e) => acquires.push(e));
    const got: string[] = [];
    receiver.on("message", (m) => got.push(m.toString()));
    plain.send("held by the policy", port, "127.0.0.2");
    await until("ACQUIRE for the plain socket", () => acquires.length > 0);
    ike.send("ike", port, "127.0.0.2");
    await until("the IKE datagram", () => got.includes("ike"));
    assert.deepEqual(got, ["ike"], "the plain socket's datagram waited for an SA");
    assert.equal(acquires.every((a) => a.src.port === plain.address().port), true);
  } finally {
    for (const s of [receiver, ike, plain]) s.close();
    await k.removePolicies();
    await k.flush();
    await k.close();
  }
});

test("an SA this kernel cannot hold fails with EPROTONOSUPPORT and leaves nothing behind", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  try {
    await assert.rejects(k.add(espSa(0x4242, { src: "127.0.0.1", dst: "127.0.0.2" })), { code: "IKE_ERR_KERNEL_EPROTONOSUPPORT" });
    const larval = await k.getSpi("127.0.0.2", "127.0.0.1", "esp");
    await assert.rejects(k.update(espSa(larval.spi, { src: "127.0.0.2", dst: "127.0.0.1" })), { code: "IKE_ERR_KERNEL_EPROTONOSUPPORT" });
    const sas = await k.dump();
    assert.deepEqual(sas.map((s) => [s.spi, s.state]), [[larval.spi, "larval"]], "the larval SA stays larval, no other appears");
    await assert.rejects(k.get("127.0.0.1", "127.0.0.2", "esp", 0x4242), { code: "IKE_ERR_KERNEL_ESRCH" });
    await assert.rejects(k.delete("127.0.0.1", "127.0.0.2", "esp", 0x4242), { code: "IKE_ERR_KERNEL_ESRCH" });
  } finally {
    await k.flush();
    await k.close();
  }
});

test("updateEncap: an SA the kernel does not hold (never was, or deleted) answers gone; a larval one is refused", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  try {
    const ports = { sport: 40001, dport: 4500 };
    assert.deepEqual(await k.updateEncap("127.0.0.1", "127.0.0.2", "esp", 0x4243, ports), { kind: "gone" });
    const larval = await k.getSpi("127.0.0.2", "127.0.0.1", "esp");
    await assert.rejects(k.updateEncap("127.0.0.2", "127.0.0.1", "esp", larval.spi, ports), { code: "IKE_ERR_KERNEL_EINVAL" });
    assert.deepEqual(await k.updateEncap("127.0.0.9", "127.0.0.1", "esp", larval.spi, ports), { kind: "gone" }, "another source's SA is not ours");
    await ns.ip("xfrm", "state", "delete", "src", "127.0.0.2", "dst", "127.0.0.1", "proto", "esp", "spi", String(larval.spi));
    assert.deepEqual(await k.updateEncap("127.0.0.2", "127.0.0.1", "esp", larval.spi, ports), { kind: "gone" });
  } finally {
    await k.flush();
    await k.close();
  }
});

test("SAs deleted or flushed by others are reported; the daemon's own deletions are not", { skip }, async () => {
  const k = await XfrmKernel.open({ netns: ns.path });
  const events: Array<DeleteEvent | FlushEvent> = [];
  k.on("delete", (e) => events.push(e));
  k.on("flush", (e) => events.push(e));
  try {
    const a = await k.getSpi("127.0.0.2", "127.0.0.1", "esp");
    const b = await k.getSpi("127.0.0.2", "127.0.0.1", "ah");
    const c = await k.getSpi("127.0.0.2", "127.0.0.1", "esp");
    await k.delete("127.0.0.2", "127.0.0.1", "esp", c.spi);
    await ns.ip("xfrm", "state", "delete", "src", "127.0.0.2", "dst", "127.0.0.1", "proto", "esp", "spi", String(a.spi));
    await until("the DELETE event", () => events.length > 0);
    assert.deepEqual(events[0], { type: "delete", src: "127.0.0.2", dst: "127.0.0.1", proto: "esp", spi: a.spi });
    await ns.ip("xfrm", "state", "flush", "proto", "ah");
    await until("the FLUSH event", () => events.length > 1);
    assert.deepEqual(events[1], { type: "flush", proto: "ah" });
    assert.equal((await k.dump()).some((s) => s.spi === b.spi), false);
    assert.equal(events.length, 2, "our own DELSA raised nothing");
  } finally {
    await k.flush();
    await k.close();
  }
});

test("kernel traffic is logged under the pfkey debug category, never with key bytes", { skip }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-knl-log-"));
  const file = path.join(dir, "log");
  const hub = new LogHub({ debugLevel: DebugCategory.pfkey, privilege: 0, destination: { kind: "file", path: file }, format: "json" });
  const k = await XfrmKernel.open({ netns: ns.path, log: hub.logger("knl") });
  try {
    const sa = espSa(0x4343, { src: "127.0.0.1", dst: "127.0.0.2", encKey: Buffer.alloc(16, 0xc7), authKey: Buffer.alloc(20, 0xd8) });
    await assert.rejects(k.add(sa));
    await k.installPolicies([udpOut(1, 9009)]);
    await k.removePolicies();
  } finally {
    await k.close();
    hub.close();
  }
  const text = readFileSync(file, "utf8");
  rmSync(dir, { recursive: true, force: true });
  assert.match(text, /XFRM_MSG_NEWSA esp 0x00004343/);
  assert.match(text, /UPDPOLICY/);
  assert.doesNotMatch(text, /c7c7c7c7|d8d8d8d8/i);
});
