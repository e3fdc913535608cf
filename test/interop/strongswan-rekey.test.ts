/**
 * Phase 2 rekey against a real strongSwan 5.9.8: with `--child-lifetime 20` its fake XFRM sends the
 * soft expire at 90 %, and strongSwan runs a new Quick Mode on the same ISAKMP SA after ~18 s. We
 * answer it; the new inbound/outbound pair must be in our SADB with the keys strongSwan installed,
 * under new SPIs, while the ISAKMP SA stays the same. The capture must hold both Quick Modes and
 * pass `capture.sh check`.
 *
 * The other direction: we initiate with `p2_lifetime_secs 40` and `p2_softlife_secs 8`; our
 * in-memory SADB raises the soft EXPIRE at 8 s, the engine renegotiates (engine.expire, wired by
 * the engine host as the daemon wires it), and strongSwan, whose own soft expire comes at ~36 s,
 * answers our new Quick Mode.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineHost, assertSameSas } from "../helpers/engine-host.js";
import { InteropPeer, interopSkip, type Capture } from "../helpers/interop.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { captureOn, checkCapture, ikeConfig, plan, preshared, stopPeer, stopQuietly } from "./common.js";

const PSK = "iop-rekey-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();
const skip = interopSkip();

test("strongSwan rekeys the IPsec SAs after its soft lifetime; we answer on the same ISAKMP SA", { skip, timeout: 120_000 }, async () => {
  const ourPort = ports.rekey;
  const ssPort = ports.rekey + 2;
  const tag = `${process.pid}`;
  const dh = new RecordingDh(`iop-rk-${tag}`);
  const host = await EngineHost.open({
    dh,
    address: US,
    port: ourPort,
    ikeConfig: ikeConfig("ss", US, STRONGSWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }"),
    preshared: preshared(US, STRONGSWAN, PSK),
    ipsecinit: `{ raddr ${STRONGSWAN} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  let cap: Capture | undefined;
  let peer: InteropPeer | undefined;
  try {
    cap = await captureOn(`iop-rk-cap-${tag}`, ourPort);
    peer = await InteropPeer.startStrongSwan({
      name: `iop-rk-${tag}`,
      role: "initiator",
      local: STRONGSWAN,
      remote: US,
      localPort: ssPort,
      nattPort: ssPort + 1,
      remotePort: ourPort,
      psk: PSK,
      cipher: "aes128",
      hash: "sha1",
      dh: 14,
      esp: "aes128-sha1",
      espMode: "transport",
      childLifetime: 20,
      logLevel: 4,
    });
    await host.waitFor("phase2-up", 1, 25_000);
    const first = host.of("phase2-up")[0]!;
    assert.equal(first.result.lifeSecs, 20, "strongSwan's proposed lifetime accepted");
    await host.waitFor("phase2-up", 2, 45_000);
    const second = host.of("phase2-up")[1]!;
    assert.equal(second.sa, first.sa, "the rekey ran on the same ISAKMP SA");
    assert.equal(host.of("phase1-up").length, 1);
    const spis = (r: typeof first) => r.result.sas.flatMap((c) => [c.inboundSpi, c.outboundSpi]);
    assert.equal(spis(second).filter((x) => spis(first).includes(x)).length, 0, "new SPIs both ways");

    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    const fresh = (await host.matureSas()).filter((s) => spis(second).includes(s.spi));
    assert.equal(fresh.length, 2, "the rekeyed inbound and outbound SA are in our SADB");
    assertSameSas(fresh, (await peer.keys()).sa);
    assert.deepEqual(host.of("phase2-failed"), []);

    await checkCapture(cap, { keysFromLog: [peer.log], keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes128", "sha1"), dh }), expect: "main:6,quick:3,quick:3" });
  } finally {
    await stopQuietly(cap);
    await host.close();
    await stopPeer(peer);
  }
});

test("our soft lifetime runs out first: we rekey the IPsec SAs towards strongSwan", { skip, timeout: 120_000 }, async () => {
  const ourPort = ports.rekey + 4;
  const ssPort = ports.rekey + 6;
  const tag = `${process.pid}-us`;
  const dh = new RecordingDh(`iop-rk-${tag}`);
  const host = await EngineHost.open({
    dh,
    address: US,
    port: ourPort,
    ikeConfig: ikeConfig("ss", US, STRONGSWAN, "p1_xform { auth_method preshared oakley_group 5 auth_alg sha256 encr_alg 3des }\n  p2_lifetime_secs 40 p2_softlife_secs 8"),
    preshared: preshared(US, STRONGSWAN, PSK),
    ipsecinit: `{ raddr ${STRONGSWAN} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  let cap: Capture | undefined;
  let peer: InteropPeer | undefined;
  try {
    cap = await captureOn(`iop-rk-cap-${tag}`, ourPort);
    peer = await InteropPeer.startStrongSwan({
      name: `iop-rk-${tag}`,
      role: "responder",
      local: STRONGSWAN,
      remote: US,
      localPort: ssPort,
      nattPort: ssPort + 1,
      remotePort: ourPort,
      psk: PSK,
      cipher: "3des",
      hash: "sha256",
      dh: 5,
      esp: "aes128-sha1",
      espMode: "transport",
      logLevel: 4,
    });
    host.negotiate("ss", { address: STRONGSWAN, port: ssPort });
    await host.waitFor("phase2-up", 1, 25_000);
    const first = host.of("phase2-up")[0]!;
    assert.equal(first.result.lifeSecs, 40);
    await host.waitFor("phase2-up", 2, 30_000);
    const second = host.of("phase2-up")[1]!;
    assert.equal(second.sa, first.sa, "the rekey ran on the same ISAKMP SA");
    assert.equal(second.sa.role, "initiator");
    const spis = (r: typeof first) => r.result.sas.flatMap((c) => [c.inboundSpi, c.outboundSpi]);
    assert.equal(spis(second).filter((x) => spis(first).includes(x)).length, 0, "new SPIs both ways");
    const fresh = (await host.matureSas()).filter((s) => spis(second).includes(s.spi));
    assert.equal(fresh.length, 2, "the rekeyed pair is in our SADB");
    assertSameSas(fresh, (await peer.keys()).sa);
    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    assert.deepEqual(host.of("phase2-failed"), []);

    await checkCapture(cap, { keysFromLog: [peer.log], keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("3des", "sha256"), dh }), expect: "main:6,quick:3,quick:3" });
  } finally {
    await stopQuietly(cap);
    await host.close();
    await stopPeer(peer);
  }
});
