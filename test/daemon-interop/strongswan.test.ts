/**
 * The compiled in.iked (temporary --root, --kernel memory) against a real strongSwan 5.9.8 over
 * loopback: strongSwan initiates Main Mode + Quick Mode to the daemon; the daemon initiates to a
 * strongSwan responder through `ikeadm acquire`; `del p1` and daemon shutdown send Deletes
 * strongSwan acts on; `ikeadm dump sadb` matches the SAs strongSwan installed (xfrm.log), keys
 * included at privilege keymat; every capture passes `capture.sh check`, decrypted with the keys
 * from strongSwan's log.
 *
 * A Libreswan 4.10 peer on 127.0.6.4:500 initiates to the daemon on 127.0.6.1:500 while both
 * hold port 500 on their own address (the daemon never binds the wildcard).
 *
 * Resources (shared machine): addresses 127.0.6.1-4, UDP ports 16000-16019, and 500/4500 on
 * 127.0.6.1 and 127.0.6.4; instance names dmn-*. With strongSwan neither side is on port 500, so
 * both use the RFC 3948 non-ESP marker (the harness's marker rule); with Libreswan both are on 500,
 * and that case records no capture: a port-500 filter would also catch other tests' (hostile)
 * traffic on other 127.x addresses.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { ListResult, P1View, SadbView, StatsResult } from "../../src/control/results.js";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { xfrmSas } from "../helpers/engine-host.js";
import { Capture, InteropPeer, interopSkip, type Kv } from "../helpers/interop.js";
import { checkCapture, ikeConfig, poll, preshared, stopQuietly } from "../interop/common.js";

const US = "127.0.6.1";
const SS_INITIATOR = "127.0.6.2";
const SS_RESPONDER = "127.0.6.3";
const PSK = "daemon-interop-psk-9f3c";
const skip = interopSkip();
const P1 = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";

/** A root with one rule towards `peer`, its pre-shared key and an ipsecinit.conf entry for it. */
function rootFor(peer: string): string {
  return rootWith(peer);
}

function rootWith(peer: string, p1 = P1): string {
  const root = makeRoot(ikeConfig(`dmn ${peer}`, US, peer, p1), preshared(US, peer, PSK));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  return root;
}

async function json<T>(root: string, args: string[]): Promise<T> {
  const r = await ikeadm(root, ["--json", ...args]);
  assert.equal(r.code, 0, `ikeadm ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const mature = async (root: string) => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.filter((s) => s.state === "mature");

/** Our SADB (with keys) equals what strongSwan installed: addresses, SPI, protocol, key bytes. */
function assertSameSadb(ours: readonly SadbView[], theirs: readonly Kv[]): void {
  assert.equal(ours.length, 2, "one inbound and one outbound SA");
  for (const sa of ours) {
    const twin = theirs.find((t) => t.spi !== undefined && Number.parseInt(t.spi, 16) === Number.parseInt(sa.spi, 16) && t.src === sa.src && t.dst === sa.dst && t.proto === sa.proto);
    assert.ok(twin, `strongSwan installed no ${sa.proto} SA ${sa.src}>${sa.dst} spi ${sa.spi}; it has ${theirs.map((t) => `${t.proto}:${t.src}>${t.dst}:${t.spi}`).join(" ")}`);
    assert.equal(twin.enc_key?.toLowerCase(), sa.encKeyHex, `encryption key of spi ${sa.spi}`);
    assert.equal(twin.auth_key?.toLowerCase(), sa.authKeyHex, `authentication key of spi ${sa.spi}`);
  }
}

function strongSwan(name: string, role: "initiator" | "responder", local: string, port: number, ourPort: number): Promise<InteropPeer> {
  return InteropPeer.startStrongSwan({
    name, role, local, remote: US, localPort: port, nattPort: port + 1, remotePort: ourPort,
    mode: "main", auth: "psk", psk: PSK, cipher: "aes128", hash: "sha256", dh: 14,
    esp: "aes128-sha1", pfs: "none", espMode: "transport", logLevel: 4,
  });
}

test("strongSwan initiates to in.iked: MM + QM, ikeadm views match strongSwan, del p1 reaches it", { skip, timeout: 180_000 }, async () => {
  const ourPort = 16000;
  const ssPort = 16002;
  const root = rootFor(SS_INITIATOR);
  let d: RunningDaemon | undefined;
  let cap: Capture | undefined;
  let peer: InteropPeer | undefined;
  try {
    d = await startDaemon(root, ["-p", "keymat", "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
    cap = await Capture.start({ name: `dmn-cap-resp-${process.pid}`, ports: String(ourPort) });
    peer = await strongSwan(`dmn-ss-init-${process.pid}`, "initiator", SS_INITIATOR, ssPort, ourPort);
    const st = await peer.status({ wait: 25 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}\n${d.output()}`);
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");

    assertSameSadb(await mature(root), (await peer.keys()).sa);

    const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
    assert.equal(p1.length, 1);
    assert.equal(p1[0]!.initiator, false);
    assert.equal(p1[0]!.state, "ACTIVE");
    assert.deepEqual(p1[0]!.remote, { address: SS_INITIATOR, port: ssPort });
    const text = (await ikeadm(root, ["dump", "p1"])).stdout;
    assert.match(text, /^       Local host is the responder; IKE version 1\.0; state ACTIVE; rule "dmn 127\.0\.6\.2"$/m);
    assert.match(text, /^XFORM: Authentication method: pre-shared key; Encryption alg: AES-CBC\(128\); Authentication alg: SHA256;/m);
    assert.match(text, new RegExp(`^REMIP: Remote \\(Initiator\\) IP address: AF_INET: port ${ssPort}, 127\\.0\\.6\\.2$`, "m"));
    const stats = (await ikeadm(root, ["get", "stats"])).stdout;
    assert.match(stats, /^Current:   initiator:          0   responder:          1$/m);
    assert.match(stats, /^Total:     initiator:          0   responder:          1$/m);
    assert.equal((await json<StatsResult>(root, ["get", "stats"])).p1.resp_p1_fail, 0);

    // Lowered to base, the daemon sends no key bytes.
    assert.equal((await ikeadm(root, ["set", "priv", "base"])).code, 0);
    assert.ok((await mature(root)).every((s) => s.encKeyHex === undefined && s.authKeyHex === undefined));

    const del = await ikeadm(root, ["del", "p1", US, SS_INITIATOR]);
    assert.equal(del.code, 0, del.stderr);
    await poll(async () => (await peer!.status()).code === 1, "strongSwan to drop the SAs after our Delete");
    assert.equal((await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.length, 0);
    assert.equal((await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length, 0);

    await checkCapture(cap, { keysFromLog: [peer.log], expect: "main:6,quick:3,info:2" });
  } finally {
    await stopQuietly(cap);
    await d?.stop();
    await peer?.stop({ kill: true, purge: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("in.iked initiates to a strongSwan responder on ikeadm acquire; shutdown sends Deletes", { skip, timeout: 180_000 }, async () => {
  const ourPort = 16010;
  const ssPort = 16012;
  const root = rootFor(SS_RESPONDER);
  let d: RunningDaemon | undefined;
  let cap: Capture | undefined;
  let peer: InteropPeer | undefined;
  try {
    d = await startDaemon(root, ["-p", "keymat", "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
    cap = await Capture.start({ name: `dmn-cap-init-${process.pid}`, ports: String(ourPort) });
    peer = await strongSwan(`dmn-ss-resp-${process.pid}`, "responder", SS_RESPONDER, ssPort, ourPort);

    const acq = await ikeadm(root, ["acquire", US, SS_RESPONDER, "proto", "tcp", "dport", "443", "peer", `${SS_RESPONDER}:${ssPort}`]);
    assert.equal(acq.code, 0, acq.stderr + acq.stdout);
    assert.match(acq.stdout, new RegExp(`negotiating with 127\\.0\\.6\\.3:${ssPort}\\.`));
    const st = await peer.status({ wait: 25 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}\n${d.output()}`);
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), (await peer.keys()).sa);
    assert.match((await ikeadm(root, ["get", "stats"])).stdout, /^Total:     initiator:          1   responder:          0$/m);
    const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
    assert.equal(p1[0]?.initiator, true);
    assert.equal(p1[0]?.qmCreated, 1);

    // SIGTERM: the daemon deletes its SAs politely before it exits.
    assert.equal(await d.stop(), 0);
    await poll(async () => (await peer!.status()).code === 1, "strongSwan to drop the SAs after our shutdown Deletes");

    await checkCapture(cap, { keysFromLog: [peer.log], expect: "main:6,quick:3,info:2" });
  } finally {
    await stopQuietly(cap);
    await d?.stop();
    await peer?.stop({ kill: true, purge: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("Libreswan on 127.0.6.4:500 initiates to in.iked on 127.0.6.1:500; SADB matches; Libreswan's Delete reaches us", { skip, timeout: 180_000 }, async () => {
  const LIBRESWAN = "127.0.6.4";
  const root = rootWith(LIBRESWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }");
  let d: RunningDaemon | undefined;
  let peer: InteropPeer | undefined;
  try {
    d = await startDaemon(root, ["-p", "keymat", "--port", "500", "--natt-port", "4500"]);
    peer = await InteropPeer.startLibreswan({
      name: `dmn-ls-${process.pid}`, role: "initiator", local: LIBRESWAN, remote: US, remotePort: 500,
      mode: "main", auth: "psk", psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport",
    });
    const st = await peer.status({ wait: 30 });
    assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}\n${d.output()}`);
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), xfrmSas(peer.info.xfrmlog ?? ""));
    assert.match(d.output(), /IKE engine started sockets=\["127\.0\.6\.1:500","127\.0\.6\.1:4500 \(NAT-T\)"\]/);

    await peer.stop();
    await poll(async () => (await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length === 0, "our ISAKMP SA to go after Libreswan's Delete");
    await poll(async () => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.length === 0, "our IPsec SAs to go after Libreswan's Delete");
  } finally {
    await d?.stop();
    await peer?.stop({ kill: true, purge: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
});
