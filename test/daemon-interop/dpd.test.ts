/**
 * Dead Peer Detection (RFC 3706) between the compiled in.iked (temporary --root, --kernel memory,
 * `dpd_interval_secs 2`, `dpd_retries 3`) and real peers: strongSwan 5.9.8 and Libreswan 4.10.
 * Each peer first runs without DPD probes of its own (it still sends the vendor ID and answers):
 * our R-U-THEREs are answered. Then it is killed with SIGKILL (no Delete): our ISAKMP and IPsec SAs
 * go within interval x (retries + 1). Started again with DPD on, it initiates a fresh negotiation,
 * and its R-U-THEREs are answered by us. Every capture passes `capture.sh check`, decrypted with our
 * own key file, with R-U-THERE and R-U-THERE-ACK dissected both ways. As initiator (on `ikeadm
 * acquire`) to a strongSwan responder that is then killed, the next ACQUIRE negotiates afresh.
 *
 * Resources: addresses 127.0.9.1 (us), 127.0.9.2 (strongSwan), 127.0.9.4 (Libreswan, in namespace
 * dmn-dpd-<pid>), 127.0.9.3 (strongSwan responder), 127.0.9.5 (strongSwan in Aggressive Mode),
 * 127.0.9.6 (Libreswan in Aggressive Mode, in namespace dmn-dpd-am-<pid>), UDP ports 19000-19023,
 * instance names dmn-dpd-*.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { ListResult, P1View, SadbView } from "../../src/control/results.js";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { Capture, InteropPeer, checkPcap, interopSkip, type LibreswanOptions } from "../helpers/interop.js";
import { stopQuietly } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { ikeConfig, preshared } from "../interop/common.js";
import { PSK, keymatArgs, keysFileOf, mature } from "./common.js";

const skip = interopSkip();
const US = "127.0.9.1";
const INTERVAL = 2;
const RETRIES = 3;

function dpdRoot(peer: string, p1: string, mode: "main" | "aggressive" = "main"): string {
  const root = makeRoot(ikeConfig(`dpd ${peer}`, US, peer, `${p1}\n  dpd_interval_secs ${INTERVAL}\n  dpd_retries ${RETRIES}`), preshared(US, peer, PSK, mode));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  return root;
}

async function p1s(root: string): Promise<P1View[]> {
  const r = await ikeadm(root, ["--json", "dump", "p1"]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as ListResult<P1View>).items;
}

/**
 * The common scenario. `start(dpd)` starts the peer as initiator (`dpd` seconds between its
 * probes, 0 = none); `kill()` SIGKILLs it.
 */
async function scenario(root: string, d: RunningDaemon, start: (dpd: number) => Promise<InteropPeer>): Promise<void> {
  let peer = await start(0);
  const st = await peer.status({ wait: 30 });
  assert.ok(st.established, `peer says ${JSON.stringify(st.kv)}\n${d.output()}`);
  await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
  const first = (await p1s(root))[0]!;
  assert.equal(first.dpd?.enabled, true, `DPD in use: ${JSON.stringify(first.dpd)}`);
  // Idle (the peer does not probe, no ESP here): our R-U-THEREs go out and are answered.
  await poll(async () => (await p1s(root))[0]?.dpd?.lastAckMs !== undefined, "an R-U-THERE-ACK from the peer", 20_000);
  const text = (await ikeadm(root, ["dump", "p1"])).stdout;
  assert.match(text, /^       Dead Peer Detection \(RFC 3706\) is enabled; handshake (successful at|in progress)/m);
  assert.match(text, /^       DPD: peer last heard .*; our seq \d+; peer seq none yet$/m);

  // SIGKILL: no Delete. Our SAs go within interval x (retries + 1) of the last answer (+ slack).
  await peer.stop({ kill: true });
  await poll(async () => (await p1s(root)).length === 0, "our ISAKMP SA to go after the peer died", (INTERVAL * (RETRIES + 1) + 6) * 1000);
  // Not before RETRIES probes went unanswered: the daemon's own count (a wall-clock lower bound
  // would also count how long the peer took to die, which a loaded machine stretches).
  const dead = /DPD: peer dead, its SAs deleted .*\bprobes=(\d+)/.exec(d.output());
  assert.ok(dead !== null && Number(dead[1]) >= RETRIES, `not before ${RETRIES} probes went unanswered: ${dead?.[0]}\n${d.output().slice(-3000)}`);
  await poll(async () => (await ikeadm(root, ["--json", "dump", "sadb"])).stdout.includes('"items": []'), "our IPsec SAs to go");
  assert.equal((JSON.parse((await ikeadm(root, ["--json", "dump", "sadb"])).stdout) as ListResult<SadbView>).items.length, 0);
  assert.match(d.output(), /DPD: peer dead, its SAs deleted/);
  const stats = (await ikeadm(root, ["--json", "get", "stats"])).stdout;
  assert.match(stats, /"dpdPeersDead": 1/);

  // The peer comes back (with DPD probes of its own): a fresh negotiation, and we answer it.
  peer = await start(INTERVAL);
  const again = await peer.status({ wait: 30 });
  assert.ok(again.established, `peer says ${JSON.stringify(again.kv)}\n${d.output()}`);
  await poll(async () => (await mature(root)).length === 2, "our two new IPsec SAs");
  const fresh = (await p1s(root))[0]!;
  assert.notEqual(fresh.icookie, first.icookie, "a new ISAKMP SA");
  await poll(async () => (await p1s(root))[0]?.dpd?.peerSeq !== undefined, "an R-U-THERE from the peer, answered", 20_000);
  await peer.stop({ kill: true, purge: true });
}

/** `capture.sh check` with our keys: clean, and DPD both ways in the dissection. */
async function checkCapture(cap: Capture, root: string): Promise<void> {
  await cap.stop();
  const r = await checkPcap(cap.pcap, { keys: keysFileOf(root), expect: "main:12,quick:6,info:4" });
  assert.ok(r.ok, `capture.sh check failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.result.malformed, "0", r.stdout);
  assert.equal(r.result.encrypted_not_decrypted, "0", r.stdout);
  assertDpdSeen(r.stdout, ["ours R-U-THERE", "theirs R-U-THERE-ACK", "theirs R-U-THERE", "ours R-U-THERE-ACK"]);
}

/** `capture.sh check`'s listing shows each of `wanted` ("ours R-U-THERE", "theirs R-U-THERE-ACK", ...). */
function assertDpdSeen(listing: string, wanted: readonly string[]): void {
  // One line per packet: `#n +t src:port -> dst:port exchange ... [payloads] {notify names}`.
  const dpd = listing.split("\n").flatMap((l) => {
    const m = /^#\d+\s+\+\s*[\d.]+s\s+(\S+):\d+ -> (\S+):\d+\s.*\{(R-U-THERE(?:-ACK)?)\}/.exec(l);
    return m === null ? [] : [`${m[1] === US ? "ours" : "theirs"} ${m[3]}`];
  });
  for (const want of wanted) {
    assert.ok(dpd.includes(want), `${want} dissected in the capture (saw ${[...new Set(dpd)].join(", ")}):\n${listing}`);
  }
}

/** The listing has an Aggressive Mode message with an SA (AM1 or AM2) from `from` to `to` (address:port) carrying the DPD vendor ID. */
function assertAmDpdVid(listing: string, from: string, to: string, what: string): void {
  const esc = (t: string): string => t.replaceAll(".", "\\.");
  assert.match(listing, new RegExp(`${esc(from)} -> ${esc(to)} +(?:NAT-T +)?aggressive .*\\[SA,.*RFC 3706 DPD`, "m"), `${what} carries the DPD vendor ID`);
}

/**
 * For Libreswan (it wants ports 500 and 4500 of its own address, and binds 0.0.0.0:500 at start):
 * a fresh network namespace `ns` (loopback up), our daemon on 500/4500 there and a capture; `fn`
 * runs the case, then everything is stopped and the namespace removed.
 */
async function inNamespace(ns: string, root: string, fn: (d: RunningDaemon, cap: Capture, peers: InteropPeer[]) => Promise<void>): Promise<void> {
  let d: RunningDaemon | undefined;
  let cap: Capture | undefined;
  const peers: InteropPeer[] = [];
  execFileSync("ip", ["netns", "add", ns]);
  try {
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    d = await startDaemon(root, [...keymatArgs(root), "--port", "500", "--natt-port", "4500"], {}, { netns: ns });
    cap = await Capture.start({ name: `${ns}-cap`, ports: "500,4500", netns: ns });
    await fn(d, cap, peers);
  } finally {
    await tearDown(cap, d, peers, root);
    execFileSync("ip", ["netns", "del", ns]);
  }
}

/** Libreswan as initiator in namespace `ns`, towards us on port 500 (aes128-sha1-modp2048, ESP aes128-sha1, transport). */
function libreswan(name: string, local: string, ns: string, mode: "main" | "aggressive", dpd: number): Promise<InteropPeer> {
  // `netns` is a start option of libreswan-peer.sh that the typed options do not list.
  const opts: LibreswanOptions & { netns: string } = {
    name, role: "initiator", local, remote: US, remotePort: 500,
    mode, auth: "psk", psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport",
    dpd, netns: ns,
  };
  return InteropPeer.startLibreswan(opts);
}

/** Stop what a test started (capture, daemon, every peer instance) and remove its root. */
async function tearDown(cap: Capture | undefined, d: RunningDaemon | undefined, peers: readonly InteropPeer[], root: string): Promise<void> {
  await stopQuietly(cap);
  await d?.stop();
  for (const p of peers) await p.stop({ kill: true, purge: true }).catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
}

/** A strongSwan peer of in.iked on `ourPort` (aes128-sha256-modp2048, ESP aes128-sha1, transport), `dpd` s between its probes. */
function strongSwan(name: string, role: "initiator" | "responder", local: string, port: number, ourPort: number, dpd: number, mode: "main" | "aggressive" = "main"): Promise<InteropPeer> {
  return InteropPeer.startStrongSwan({
    name, role, local, remote: US, localPort: port, nattPort: port + 1, remotePort: ourPort,
    mode, auth: "psk", psk: PSK, cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport", dpd, logLevel: 1,
  });
}

test("strongSwan: our R-U-THEREs answered, SIGKILLed peer's SAs gone within interval x retries, a fresh negotiation when it returns, its probes answered", { skip, timeout: 240_000 }, async () => {
  const SS = "127.0.9.2";
  const ourPort = 19000;
  const ssPort = 19002;
  const root = dpdRoot(SS, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }");
  let d: RunningDaemon | undefined;
  let cap: Capture | undefined;
  const peers: InteropPeer[] = [];
  try {
    d = await startDaemon(root, [...keymatArgs(root), "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
    cap = await Capture.start({ name: `dmn-dpd-cap-ss-${process.pid}`, ports: String(ourPort) });
    await scenario(root, d, async (dpd) => {
      const p = await strongSwan(`dmn-dpd-ss-${process.pid}`, "initiator", SS, ssPort, ourPort, dpd);
      peers.push(p);
      return p;
    });
    await checkCapture(cap, root);
  } finally {
    await tearDown(cap, d, peers, root);
  }
});

test("strongSwan responder: in.iked initiates on ACQUIRE, the SIGKILLed responder's SAs go, the next ACQUIRE negotiates afresh", { skip, timeout: 240_000 }, async () => {
  const SS = "127.0.9.3";
  const ourPort = 19010;
  const ssPort = 19012;
  const root = dpdRoot(SS, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }");
  let d: RunningDaemon | undefined;
  const peers: InteropPeer[] = [];
  const responder = async (): Promise<InteropPeer> => {
    const p = await strongSwan(`dmn-dpd-ssr-${process.pid}`, "responder", SS, ssPort, ourPort, 0);
    peers.push(p);
    return p;
  };
  const acquire = async (): Promise<void> => {
    const r = await ikeadm(root, ["acquire", US, SS, "proto", "tcp", "dport", "443", "peer", `${SS}:${ssPort}`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
  };
  try {
    d = await startDaemon(root, [...keymatArgs(root), "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
    let peer = await responder();
    await acquire();
    assert.ok((await peer.status({ wait: 30 })).established, d.output());
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    const first = (await p1s(root))[0]!;
    assert.equal(first.initiator, true);
    assert.equal(first.dpd?.enabled, true);
    await peer.stop({ kill: true });
    await poll(async () => (await p1s(root)).length === 0, "our ISAKMP SA to go after the responder died", (INTERVAL * (RETRIES + 1) + 6) * 1000);
    await poll(async () => (await mature(root)).length === 0, "our IPsec SAs to go");
    // The IPsec policy is still loaded: traffic for the peer raises an ACQUIRE, which negotiates anew.
    peer = await responder();
    await acquire();
    assert.ok((await peer.status({ wait: 30 })).established, d.output());
    await poll(async () => (await mature(root)).length === 2, "our two new IPsec SAs");
    assert.notEqual((await p1s(root))[0]!.icookie, first.icookie, "a new ISAKMP SA");
  } finally {
    await tearDown(undefined, d, peers, root);
  }
});

test("strongSwan in Aggressive Mode: the DPD vendor ID both ways (AM1, AM2), our R-U-THEREs answered", { skip, timeout: 180_000 }, async () => {
  const SS = "127.0.9.5";
  const ourPort = 19020;
  const ssPort = 19022;
  const root = dpdRoot(SS, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }", "aggressive");
  let d: RunningDaemon | undefined;
  let cap: Capture | undefined;
  const peers: InteropPeer[] = [];
  try {
    d = await startDaemon(root, [...keymatArgs(root), "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
    cap = await Capture.start({ name: `dmn-dpd-cap-am-${process.pid}`, ports: String(ourPort) });
    const peer = await strongSwan(`dmn-dpd-am-${process.pid}`, "initiator", SS, ssPort, ourPort, 0, "aggressive");
    peers.push(peer);
    assert.ok((await peer.status({ wait: 30 })).established, d.output());
    const [sa] = await p1s(root);
    assert.equal(sa?.state, "ACTIVE");
    assert.equal(sa?.dpd?.enabled, true, JSON.stringify(sa?.dpd));
    // (A peer that probes too keeps us from being idle: its probes are proven in Main Mode above.)
    await poll(async () => (await p1s(root))[0]?.dpd?.lastAckMs !== undefined, "our R-U-THERE answered", 20_000);
    await cap.stop();
    const r = await checkPcap(cap.pcap, { keys: keysFileOf(root), expect: "aggressive:3,info:2" });
    assert.ok(r.ok, r.stdout + r.stderr);
    assert.equal(r.result.malformed, "0", r.stdout);
    assertAmDpdVid(r.stdout, `${SS}:${ssPort}`, `${US}:${ourPort}`, "strongSwan's AM1");
    assertAmDpdVid(r.stdout, `${US}:${ourPort}`, `${SS}:${ssPort}`, "our AM2");
  } finally {
    await tearDown(cap, d, peers, root);
  }
});

test("Libreswan in Aggressive Mode: the DPD vendor ID both ways (AM1, AM2), our R-U-THEREs answered", { skip, timeout: 180_000 }, async () => {
  const LIBRESWAN = "127.0.9.6";
  const root = dpdRoot(LIBRESWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }", "aggressive");
  const ns = `dmn-dpd-am-${process.pid}`;
  await inNamespace(ns, root, async (d, cap, peers) => {
    // No probes of its own (a peer that probes keeps us from being idle), but its vendor ID.
    const peer = await libreswan(`dmn-dpd-lsam-${process.pid}`, LIBRESWAN, ns, "aggressive", 0);
    peers.push(peer);
    assert.ok((await peer.status({ wait: 30 })).established, d.output());
    const [sa] = await p1s(root);
    assert.equal(sa?.state, "ACTIVE");
    assert.equal(sa?.dpd?.enabled, true, `the peer's AM1 carried the DPD vendor ID: ${JSON.stringify(sa?.dpd)}`);
    await poll(async () => (await p1s(root))[0]?.dpd?.lastAckMs !== undefined, "our R-U-THERE answered", 20_000);
    await cap.stop();
    const r = await checkPcap(cap.pcap, { keys: keysFileOf(root), expect: "aggressive:3,quick:3,info:2" });
    assert.ok(r.ok, r.stdout + r.stderr);
    assert.equal(r.result.malformed, "0", r.stdout);
    assert.equal(r.result.encrypted_not_decrypted, "0", r.stdout);
    assertAmDpdVid(r.stdout, `${LIBRESWAN}:500`, `${US}:500`, "Libreswan's AM1");
    assertAmDpdVid(r.stdout, `${US}:500`, `${LIBRESWAN}:500`, "our AM2");
    assertDpdSeen(r.stdout, ["ours R-U-THERE", "theirs R-U-THERE-ACK"]);
  });
});

test("Libreswan: our R-U-THEREs answered, SIGKILLed peer's SAs gone within interval x retries, a fresh negotiation when it returns, its probes answered", { skip, timeout: 240_000 }, async () => {
  const LIBRESWAN = "127.0.9.4";
  const root = dpdRoot(LIBRESWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }");
  const ns = `dmn-dpd-${process.pid}`;
  await inNamespace(ns, root, async (d, cap, peers) => {
    await scenario(root, d, async (dpd) => {
      const p = await libreswan(`dmn-dpd-ls-${process.pid}`, LIBRESWAN, ns, "main", dpd);
      peers.push(p);
      return p;
    });
    await checkCapture(cap, root);
  });
});
