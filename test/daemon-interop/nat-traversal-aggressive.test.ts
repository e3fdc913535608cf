/**
 * NAT traversal in Aggressive Mode through a real NAT (test/helpers/nat-topology.ts): strongSwan
 * and Libreswan behind the NAT initiate Aggressive Mode to in.iked on the gateway, and in.iked
 * behind the NAT initiates Aggressive Mode to strongSwan and to Libreswan on the gateway.
 *
 * RFC 3947 section 3.2 puts the NAT-D payloads in AM2 and AM3, and section 4 moves the initiator
 * to port 4500 with AM3 when a NAT is between the peers. Each case shows Phase 1 and Quick Mode
 * complete, the daemon's NAT state in `ikeadm dump p1`, both IPsec SAs UDP-encapsulated in its
 * SADB, and the gateway's capture clean under `capture.sh check` (decrypted with the daemon's own
 * key file), with AM1 and AM2 on port 500, AM2 carrying two NAT-D, and AM3 (HASH and two NAT-D)
 * and every Quick Mode message on port 4500 behind the non-ESP marker. The peer's log shows it
 * read our NAT-D the same way (who is behind the NAT) and put its SAs in UDP.
 *
 * Libreswan's AM3 hashes the ports of the AM2 it answers (500), strongSwan's those of AM3 itself
 * (4500): the gateway accepts both (src/ike/natt-phase1.ts), and must not think itself behind a NAT.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { startDaemon } from "../daemon/harness.js";
import { Capture, InteropPeer, interopSkip, type CheckResult } from "../helpers/interop.js";
import { GW_ADDR, HOME_ADDR, NAT_ADDR, natSkip, natTopology, type NatTopology } from "../helpers/nat-topology.js";
import { poll } from "../helpers/wait.js";
import { checkWithOurKeys, keymatArgs } from "./common.js";
import { assertGatewaySide, cleanup, DAEMON_PORTS, daemonBehindNatInitiates, lsBase, natRoot, sadbOf, ssBase, type NatRun } from "./nat-common.js";

const skip = interopSkip() || natSkip();

/** One ISAKMP packet of `capture.sh check`'s listing. */
interface Line {
  sport: number;
  dport: number;
  natt: boolean;
  exchange: string;
  payloads: string[];
  text: string;
}

function packets(check: CheckResult): Line[] {
  return check.stdout.split("\n").flatMap((text) => {
    const m = /^#\d+\s+\+\s*[\d.]+s\s+\S+?:(\d+) -> \S+?:(\d+)\s+(NAT-T )?(\S+)\s+flags=\S+\s+mid=\S+\s+\[([^\]]*)\]/.exec(text);
    if (m === null || /RETRANSMIT/.test(text)) return [];
    return [{ sport: Number(m[1]), dport: Number(m[2]), natt: m[3] !== undefined, exchange: m[4]!, payloads: m[5]!.split(","), text }];
  });
}

/**
 * The wire as RFC 3947 wants it in Aggressive Mode: AM1 and AM2 on port 500 without the marker,
 * AM2 with two NAT-D; AM3 to or from port 4500 behind the non-ESP marker, with two NAT-D inside
 * its encryption; then Quick Mode there too.
 */
function assertAggressiveFloat(check: CheckResult): void {
  const all = packets(check);
  const listing = check.stdout;
  const am = all.filter((p) => p.exchange === "aggressive");
  assert.equal(am.length, 3, `three Aggressive Mode messages:\n${listing}`);
  const [am1, am2, am3] = am as [Line, Line, Line];
  for (const p of [am1, am2]) assert.ok(!p.natt && (p.sport === 500 || p.dport === 500), `AM1/AM2 on port 500: ${p.text}`);
  assert.ok(!am1.payloads.includes("NAT-D"), `no NAT-D in AM1: ${am1.text}`);
  assert.equal(am2.payloads.filter((x) => x === "NAT-D").length, 2, `two NAT-D in AM2: ${am2.text}`);
  assert.ok(am3.natt && (am3.sport === 4500 || am3.dport === 4500), `AM3 floated to 4500: ${am3.text}`);
  // strongSwan and we send [HASH,NAT-D,NAT-D], Libreswan [NAT-D,NAT-D,HASH].
  assert.deepEqual([...am3.payloads].sort(), ["HASH", "NAT-D", "NAT-D"], `AM3: ${am3.text}`);
  const quick = all.filter((p) => p.exchange === "quick");
  assert.ok(quick.length >= 3, `Quick Mode:\n${listing}`);
  for (const q of quick) assert.ok(q.natt && (q.sport === 4500 || q.dport === 4500), `Quick Mode on 4500: ${q.text}`);
}

/**
 * What the peer's log must show (and must not) about who is behind the NAT: the peer's reading of
 * our NAT-D (AM2 from the gateway, AM3 from behind the NAT) and of our NAT-OA.
 */
interface PeerSees {
  has: RegExp[];
  hasNot: RegExp[];
}

async function assertPeerSees(peer: InteropPeer, sees: PeerSees): Promise<void> {
  const log = (): string => fs.readFileSync(peer.log, "utf8");
  await poll(async () => sees.has.every((re) => re.test(log())), `the peer's log to show ${sees.has.join(", ")}`);
  for (const re of sees.hasNot) assert.doesNotMatch(log(), re);
}

/** A daemon on the gateway answers Aggressive Mode from a peer behind the NAT, started by `startPeer`. */
async function gatewayResponds(r: NatRun, tag: string, startPeer: (topo: NatTopology) => Promise<InteropPeer>, sees: PeerSees): Promise<void> {
  r.topo = await natTopology();
  // The peer's AM1 names it by its own address (HOME_ADDR), which picks the key.
  r.root = natRoot({ local: GW_ADDR, remote: NAT_ADDR, remoteId: HOME_ADDR, mode: "aggressive", policyPeers: [NAT_ADDR, HOME_ADDR] });
  r.d = await startDaemon(r.root, [...keymatArgs(r.root), ...DAEMON_PORTS], {}, { netns: r.topo.gw.name });
  r.cap = await Capture.start({ name: `natt-am-cap-${tag}-${process.pid}`, ports: "500,4500", netns: r.topo.gw.name, iface: "ng0" });
  r.peer = await startPeer(r.topo);
  const st = await r.peer.status({ wait: 30 });
  assert.ok(st.established, `the peer says ${JSON.stringify(st.kv)}\n${r.d.output()}`);
  await poll(async () => (await sadbOf(r.root!)).length === 2, "our two IPsec SAs");
  await assertGatewaySide(r.root, /^rfc3947$/);
  await assertPeerSees(r.peer, sees);
  assertAggressiveFloat(await checkWithOurKeys(r.cap, r.root, "aggressive:3,quick:3"));
}

/** in.iked behind the NAT starts Aggressive Mode with `ikeadm acquire`; the peer answers on the gateway. */
async function daemonInitiates(r: NatRun, tag: string, startPeer: (topo: NatTopology) => Promise<InteropPeer>, sees: PeerSees): Promise<void> {
  const v = await daemonBehindNatInitiates(r, `am-${tag}`, "aggressive", startPeer);
  assert.equal(v.initiator, true);
  await assertPeerSees(r.peer!, sees);
  assertAggressiveFloat(await checkWithOurKeys(r.cap!, r.root!, "aggressive:3,quick:3"));
}

const AM = "aggressive";
const cases: { name: string; run: (r: NatRun) => Promise<void> }[] = [
  {
    name: "strongSwan behind a NAT initiates Aggressive Mode to in.iked: NAT-D in AM2 and AM3, float with AM3, UDP-encapsulated SAs",
    run: (r) =>
      gatewayResponds(r, "ss", (topo) => InteropPeer.startStrongSwan({ ...ssBase(`natt-am-ss-${process.pid}`, "initiator", topo.home.name, AM), local: HOME_ADDR, remote: GW_ADDR }), {
        has: [/local host is behind NAT/],
        hasNot: [/remote host is behind NAT/],
      }),
  },
  {
    name: "Libreswan behind a NAT initiates Aggressive Mode to in.iked: NAT-D in AM2 and AM3 (over AM2's ports), float with AM3, UDP-encapsulated SAs",
    run: (r) =>
      gatewayResponds(r, "ls", (topo) => InteropPeer.startLibreswan({ ...lsBase(`natt-am-ls-${process.pid}`, "initiator", topo.home.name, AM), local: HOME_ADDR, remote: GW_ADDR }), {
        // Its SAs in UDP; the gateway not behind a NAT, so our NAT-OA is ignored.
        has: [/IPsec SA established transport mode \{ESPinUDP=>/, /NAT-OA\. Ignored because peer is not NATed/],
        hasNot: [/NAT-OA\. Using first/],
      }),
  },
  {
    name: "in.iked behind a NAT initiates Aggressive Mode to strongSwan",
    run: (r) =>
      daemonInitiates(
        r,
        "ssr",
        (topo) => InteropPeer.startStrongSwan({ ...ssBase(`natt-am-ssr-${process.pid}`, "responder", topo.gw.name, AM), local: GW_ADDR, remote: NAT_ADDR, remoteId: HOME_ADDR }),
        { has: [/remote host is behind NAT/], hasNot: [/local host is behind NAT/] },
      ),
  },
  {
    name: "in.iked behind a NAT initiates Aggressive Mode to Libreswan",
    run: (r) =>
      daemonInitiates(
        r,
        "lsr",
        (topo) => InteropPeer.startLibreswan({ ...lsBase(`natt-am-lsr-${process.pid}`, "responder", topo.gw.name, AM), local: GW_ADDR, remote: NAT_ADDR, remoteId: HOME_ADDR }),
        // We are behind a NAT: it takes our NAT-OA (our address before the NAT).
        { has: [new RegExp(`IPsec SA established transport mode \\{ESPinUDP=>.* NATOA=${HOME_ADDR.replaceAll(".", "\\.")} `)], hasNot: [/Ignored because peer is not NATed/] },
      ),
  },
];

for (const c of cases) {
  test(c.name, { skip, timeout: 180_000 }, async () => {
    const r: NatRun = {};
    try {
      await c.run(r);
    } finally {
      await cleanup(r);
    }
  });
}
