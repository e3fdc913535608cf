/**
 * NAT traversal through a real NAT (test/helpers/nat-topology.ts: a home namespace behind a
 * MASQUERADE namespace, and the gateway's): strongSwan and Libreswan behind the NAT initiate to
 * in.iked on the gateway; in.iked behind the NAT initiates to strongSwan and Libreswan on the
 * gateway; a NAT rebinding in the middle of an SA, which the daemon's ISAKMP SA and the IPsec SAs
 * it holds in the (in-memory) SADB follow; every
 * capture (taken on the gateway, so it shows the translated side) passes `capture.sh check`,
 * decrypted with the daemon's own key file. Both sides use the real ports 500 and 4500 (each has
 * a namespace to itself), so the float to 4500 and the non-ESP marker are those of the RFCs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SadbView } from "../../src/control/results.js";
import { ikeadm, startDaemon } from "../daemon/harness.js";
import { Capture, InteropPeer, interopSkip, runScript } from "../helpers/interop.js";
import { GW_ADDR, HOME_ADDR, NAT_ADDR, natSkip, natTopology, type NatTopology } from "../helpers/nat-topology.js";
import { poll } from "../helpers/wait.js";
import { checkWithOurKeys, keymatArgs } from "./common.js";
import { assertGatewaySide, cleanup, DAEMON_PORTS, daemonBehindNatInitiates, lsBase, natRoot, p1Of, sadbOf, ssBase, type NatRun } from "./nat-common.js";

const skip = interopSkip() || natSkip();
const IPSEC = "ipsec { encr_algs aes encr_auth_algs sha1 }";

test("strongSwan behind a NAT initiates to in.iked; the NAT rebinds mid-SA and the SA follows", { skip, timeout: 240_000 }, async () => {
  const r: NatRun = {};
  try {
    r.topo = await natTopology();
    r.root = natRoot({ local: GW_ADDR, remote: NAT_ADDR, policyPeers: [NAT_ADDR, HOME_ADDR] });
    r.d = await startDaemon(r.root, [...keymatArgs(r.root), ...DAEMON_PORTS], {}, { netns: r.topo.gw.name });
    r.cap = await Capture.start({ name: `natt-cap-ss-${process.pid}`, ports: "500,4500", netns: r.topo.gw.name, iface: "ng0" });
    r.peer = await InteropPeer.startStrongSwan({ ...ssBase(`natt-ss-${process.pid}`, "initiator", r.topo.home.name), local: HOME_ADDR, remote: GW_ADDR });
    const st = await r.peer.status({ wait: 30 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}\n${r.d.output()}`);
    await poll(async () => (await sadbOf(r.root!)).length === 2, "our two IPsec SAs");
    const before = await assertGatewaySide(r.root, /^rfc3947$/);

    const first = (await sadbOf(r.root)).map((s) => s.spi).sort();

    // The NAT forgets its mappings; strongSwan's next authenticated message (a Quick Mode rekey)
    // comes from a new port, and the daemon's SA follows it there, with the IPsec SAs it holds.
    await r.topo.rebind();
    const rekey = await runScript("strongswan-peer.sh", ["swanctl", "--name", r.peer.name, "--", "--rekey", "--child", "child"]);
    assert.equal(rekey.code, 0, rekey.stdout + rekey.stderr);
    await poll(async () => {
      const p = await p1Of(r.root!);
      return p.length === 1 && p[0]!.remote.port >= 31000;
    }, "the ISAKMP SA at the NAT's new mapping", 30_000);
    const after = (await p1Of(r.root))[0]!;
    assert.notEqual(after.remote.port, before.remote.port);
    // strongSwan keeps the rekeyed pair until it expires (IKEv1, delete_rekeyed = no): both pairs
    // at the new mapping, the first one updated in place in the SADB (same SPIs).
    const atNew = (s: SadbView): boolean => (s.dst === GW_ADDR ? [s.encap?.sport, s.encap?.dport] : [s.encap?.dport, s.encap?.sport]).join() === `${after.remote.port},4500`;
    await poll(async () => {
      const sas = await sadbOf(r.root!);
      return sas.length === 4 && sas.every(atNew);
    }, "the rekeyed SAs and the first pair at the new mapping", 30_000);
    const now = await sadbOf(r.root);
    for (const spi of first) assert.ok(now.some((s) => s.spi === spi && atNew(s)), `the first pair's SA ${spi} at the new mapping:\n${JSON.stringify(now)}`);
    assert.ok(r.d.output().includes("IPsec SAs follow the peer's new port"), r.d.output().slice(-3000));

    await checkWithOurKeys(r.cap, r.root, "main:6,quick:6");
  } finally {
    await cleanup(r);
  }
});

test("Libreswan behind a NAT initiates to in.iked with the draft NAT-T vendor IDs", { skip, timeout: 180_000 }, async () => {
  const r: NatRun = {};
  try {
    r.topo = await natTopology();
    r.root = natRoot({ local: GW_ADDR, remote: NAT_ADDR, policyPeers: [NAT_ADDR, HOME_ADDR] });
    r.d = await startDaemon(r.root, [...keymatArgs(r.root), ...DAEMON_PORTS], {}, { netns: r.topo.gw.name });
    r.cap = await Capture.start({ name: `natt-cap-ls-${process.pid}`, ports: "500,4500", netns: r.topo.gw.name, iface: "ng0" });
    r.peer = await InteropPeer.startLibreswan({ ...lsBase(`natt-ls-${process.pid}`, "initiator", r.topo.home.name), local: HOME_ADDR, remote: GW_ADDR, natMethod: "drafts" });
    const st = await r.peer.status({ wait: 30 });
    assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}\n${r.d.output()}`);
    await poll(async () => (await sadbOf(r.root!)).length === 2, "our two IPsec SAs");
    await assertGatewaySide(r.root, /^draft-/);
    await checkWithOurKeys(r.cap, r.root, "main:6,quick:3");
  } finally {
    await cleanup(r);
  }
});

test("strongSwan behind a NAT initiates a tunnel between subnets: UDP-encapsulated tunnel mode", { skip, timeout: 180_000 }, async () => {
  const r: NatRun = {};
  try {
    r.topo = await natTopology();
    r.root = natRoot({ local: GW_ADDR, remote: NAT_ADDR, ipsecinit: `{ tunnel ip.tun0 negotiate tunnel laddr 10.2.0.0/16 raddr 10.1.0.0/16 } ${IPSEC}\n` });
    r.d = await startDaemon(r.root, [...keymatArgs(r.root), ...DAEMON_PORTS], {}, { netns: r.topo.gw.name });
    r.cap = await Capture.start({ name: `natt-cap-sst-${process.pid}`, ports: "500,4500", netns: r.topo.gw.name, iface: "ng0" });
    r.peer = await InteropPeer.startStrongSwan({
      ...ssBase(`natt-sst-${process.pid}`, "initiator", r.topo.home.name), local: HOME_ADDR, remote: GW_ADDR, espMode: "tunnel", localTs: "10.1.0.0/16", remoteTs: "10.2.0.0/16",
    });
    const st = await r.peer.status({ wait: 30 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}\n${r.d.output()}`);
    await poll(async () => (await sadbOf(r.root!)).length === 2, "our two IPsec SAs");
    await assertGatewaySide(r.root, /^rfc3947$/);
    assert.ok((await sadbOf(r.root)).every((s) => s.mode === "tunnel"));
    await checkWithOurKeys(r.cap, r.root, "main:6,quick:3");
  } finally {
    await cleanup(r);
  }
});

/** in.iked behind the NAT starts Main Mode with `ikeadm acquire`; the peer answers on the gateway. */
async function daemonBehindNat(r: NatRun, startPeer: (topo: NatTopology) => Promise<InteropPeer>): Promise<void> {
  await daemonBehindNatInitiates(r, "us", "main", startPeer);
  await checkWithOurKeys(r.cap!, r.root!, "main:6,quick:3");
}

test("in.iked behind a NAT initiates to strongSwan", { skip, timeout: 180_000 }, async () => {
  const r: NatRun = {};
  try {
    await daemonBehindNat(r, (topo) =>
      InteropPeer.startStrongSwan({ ...ssBase(`natt-ssr-${process.pid}`, "responder", topo.gw.name), local: GW_ADDR, remote: NAT_ADDR, remoteId: HOME_ADDR }),
    );
  } finally {
    await cleanup(r);
  }
});

test("in.iked behind a NAT initiates to Libreswan", { skip, timeout: 180_000 }, async () => {
  const r: NatRun = {};
  try {
    await daemonBehindNat(r, (topo) => InteropPeer.startLibreswan({ ...lsBase(`natt-lsr-${process.pid}`, "responder", topo.gw.name), local: GW_ADDR, remote: NAT_ADDR, remoteId: HOME_ADDR }));
  } finally {
    await cleanup(r);
  }
});
