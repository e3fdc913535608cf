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
import assert from "node:assert/strict";
import type { QuickModeResult } from "../../src/ike/phase2/quick-mode.js";
import { assertSameSas } from "../helpers/engine-host.js";
import type { StrongSwanOptions } from "../helpers/interop.js";
import { checkCapture, interopTest, type Scenario } from "../helpers/scenario.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { ikeConfig, plan, preshared } from "./common.js";

const PSK = "iop-rekey-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();

/** Our engine on `ourPort` with `p1` (and `extra` rule lines), strongSwan on ourPort+2, a capture. */
async function rekeyPair(s: Scenario, tag: string, ourPort: number, p1: { cipher: string; hash: string; dh: number; encr: string }, extra: string, ss: Pick<StrongSwanOptions, "role" | "childLifetime">) {
  const dh = new RecordingDh(`iop-rk-${tag}`);
  const host = await s.host({
    dh,
    address: US,
    port: ourPort,
    ikeConfig: ikeConfig("ss", US, STRONGSWAN, `p1_xform { auth_method preshared oakley_group ${p1.dh} auth_alg ${p1.hash} encr_alg ${p1.encr} }${extra}`),
    preshared: preshared(US, STRONGSWAN, PSK),
    ipsecinit: `{ raddr ${STRONGSWAN} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  const cap = await s.capture(`iop-rk-cap-${tag}`, ourPort);
  const ssPort = ourPort + 2;
  const peer = await s.strongSwan({
    name: `iop-rk-${tag}`,
    local: STRONGSWAN,
    remote: US,
    localPort: ssPort,
    nattPort: ssPort + 1,
    remotePort: ourPort,
    psk: PSK,
    cipher: p1.cipher,
    hash: p1.hash,
    dh: p1.dh,
    esp: "aes128-sha1",
    espMode: "transport",
    logLevel: 4,
    ...ss,
  });
  const keys = { keysFromLog: [peer.log], keyLines: (pcap: string) => kaLines(pcap, { psk: PSK, suite: suiteByName(p1.cipher, p1.hash), dh }) };
  return { host, cap, peer, ssPort, keys };
}

/** Both SPIs of every SA pair a Quick Mode made. */
const spis = (up: { result: QuickModeResult }) => up.result.sas.flatMap((c) => [c.inboundSpi, c.outboundSpi]);

interopTest("strongSwan rekeys the IPsec SAs after its soft lifetime; we answer on the same ISAKMP SA", async (s) => {
  const p1 = { cipher: "aes128", hash: "sha1", dh: 14, encr: "aes(128..128)" };
  const { host, cap, peer, keys } = await rekeyPair(s, `${process.pid}`, ports.rekey, p1, "", { role: "initiator", childLifetime: 20 });
  await host.waitFor("phase2-up", 1);
  const first = host.of("phase2-up")[0]!;
  assert.equal(first.result.lifeSecs, 20, "strongSwan's proposed lifetime accepted");
  // strongSwan's soft expire comes at ~18 s.
  await host.waitFor("phase2-up", 2, 60_000);
  const second = host.of("phase2-up")[1]!;
  assert.equal(second.sa, first.sa, "the rekey ran on the same ISAKMP SA");
  assert.equal(host.of("phase1-up").length, 1);
  assert.equal(spis(second).filter((x) => spis(first).includes(x)).length, 0, "new SPIs both ways");

  await s.established(peer);
  const fresh = (await host.matureSas()).filter((sa) => spis(second).includes(sa.spi));
  assert.equal(fresh.length, 2, "the rekeyed inbound and outbound SA are in our SADB");
  assertSameSas(fresh, (await peer.keys()).sa);
  assert.deepEqual(host.of("phase2-failed"), []);

  await checkCapture(cap, { ...keys, expect: "main:6,quick:3,quick:3" });
});

interopTest("our soft lifetime runs out first: we rekey the IPsec SAs towards strongSwan", async (s) => {
  const p1 = { cipher: "3des", hash: "sha256", dh: 5, encr: "3des" };
  const { host, cap, peer, ssPort, keys } = await rekeyPair(s, `${process.pid}-us`, ports.rekey + 4, p1, "\n  p2_lifetime_secs 40 p2_softlife_secs 8", { role: "responder" });
  host.negotiate("ss", { address: STRONGSWAN, port: ssPort });
  await host.waitFor("phase2-up", 1);
  const first = host.of("phase2-up")[0]!;
  assert.equal(first.result.lifeSecs, 40);
  // Our soft EXPIRE comes at 8 s.
  await host.waitFor("phase2-up", 2, 60_000);
  const second = host.of("phase2-up")[1]!;
  assert.equal(second.sa, first.sa, "the rekey ran on the same ISAKMP SA");
  assert.equal(second.sa.role, "initiator");
  assert.equal(spis(second).filter((x) => spis(first).includes(x)).length, 0, "new SPIs both ways");
  const fresh = (await host.matureSas()).filter((sa) => spis(second).includes(sa.spi));
  assert.equal(fresh.length, 2, "the rekeyed pair is in our SADB");
  assertSameSas(fresh, (await peer.keys()).sa);
  await s.established(peer);
  assert.deepEqual(host.of("phase2-failed"), []);

  await checkCapture(cap, { ...keys, expect: "main:6,quick:3,quick:3" });
});
