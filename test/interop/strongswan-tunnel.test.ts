/**
 * Tunnel mode with subnet and protocol/port selectors against a real strongSwan 5.9.8, both roles.
 * Our ipsecinit.conf entry names the inner networks (`laddr 10.1.0.0/16 raddr 10.2.0.0/16`,
 * `negotiate tunnel`), so Quick Mode carries ID_IPV4_ADDR_SUBNET client IDs (RFC 2407 §4.6.2.1)
 * between the 127.0.5.x gateways; the `ulp tcp rport 22` cases add protocol 6 and port 22 to the
 * IDs, which strongSwan configures as `10.2.0.0/16[tcp/22]`.
 *
 * strongSwan also sends address ranges (ID_IPV4_ADDR_RANGE, RFC 2407 §4.6.2.1) for a selector that
 * is no prefix. Our policy engine works in prefixes and refuses ranges: the last case checks that a
 * real peer's range gets INVALID-ID-INFORMATION and no SA on either side.
 *
 * Each case checks both ends: strongSwan reports the CHILD_SA installed, our SADB holds exactly the
 * tunnel-mode inbound and outbound SA strongSwan installed (SPIs and keys from its xfrm.log), the
 * Quick Mode result names the subnets we configured, and every packet passes `capture.sh check`
 * decrypted with the keys from strongSwan's level-4 log.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { assertSameSas } from "../helpers/engine-host.js";
import type { StrongSwanOptions } from "../helpers/interop.js";
import { checkCapture, interopTest, type Scenario } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { ikeConfig, plan, preshared } from "./common.js";

const PSK = "iop-strongswan-tunnel-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();
/** This file's blocks: 4 ports per case after the hostile UDP block of common.ts's plan, and 4 for the range case. */
const BASE = ports.udp + 4;
const RANGE_BASE = ports.udp + 38;

const OUR_NET = "10.1.0.0/16";
const THEIR_NET = "10.2.0.0/16";

interface Case {
  readonly name: string;
  readonly ssRole: "initiator" | "responder";
  /** ipsecinit.conf selector words beyond the two networks. */
  readonly selector: string;
  /** strongSwan's selectors (its own side first). */
  readonly ssLocalTs: string;
  readonly ssRemoteTs: string;
  /** Protocol and remote port our Quick Mode result must carry. */
  readonly ulp: number;
  readonly rport: number;
}

const CASES: readonly Case[] = [
  { name: "subnets 10.1.0.0/16 <-> 10.2.0.0/16", ssRole: "responder", selector: "", ssLocalTs: THEIR_NET, ssRemoteTs: OUR_NET, ulp: 0, rport: 0 },
  { name: "subnets 10.1.0.0/16 <-> 10.2.0.0/16", ssRole: "initiator", selector: "", ssLocalTs: THEIR_NET, ssRemoteTs: OUR_NET, ulp: 0, rport: 0 },
  { name: "subnets, ulp tcp rport 22", ssRole: "responder", selector: "ulp tcp rport 22", ssLocalTs: `${THEIR_NET}[tcp/22]`, ssRemoteTs: `${OUR_NET}[tcp]`, ulp: 6, rport: 22 },
  { name: "subnets, ulp tcp rport 22", ssRole: "initiator", selector: "ulp tcp rport 22", ssLocalTs: `${THEIR_NET}[tcp/22]`, ssRemoteTs: `${OUR_NET}[tcp]`, ulp: 6, rport: 22 },
];

/** Our engine and strongSwan on `ourPort` (and the two above it), and a capture of our port. */
async function tunnelPair(s: Scenario, tag: string, ourPort: number, selector: string, ss: Pick<StrongSwanOptions, "role" | "localTs" | "remoteTs">) {
  const dh = new RecordingDh(`iop-sst-${tag}`);
  const host = await s.host({
    dh,
    address: US,
    port: ourPort,
    ikeConfig: ikeConfig("sst", US, STRONGSWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }"),
    preshared: preshared(US, STRONGSWAN, PSK),
    ipsecinit: `{ tunnel ip.tun0 negotiate tunnel laddr ${OUR_NET} raddr ${THEIR_NET} ${selector} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  const cap = await s.capture(`iop-sst-cap-${tag}`, ourPort);
  const ssPort = ourPort + 2;
  const peer = await s.strongSwan({
    name: `iop-sst-${tag}`,
    local: STRONGSWAN,
    remote: US,
    localPort: ssPort,
    nattPort: ssPort + 1,
    remotePort: ourPort,
    auth: "psk",
    psk: PSK,
    cipher: "aes128",
    hash: "sha1",
    dh: 14,
    esp: "aes128-sha1",
    pfs: "none",
    espMode: "tunnel",
    logLevel: 4,
    ...ss,
  });
  const keys = { keysFromLog: [peer.log], keyLines: (pcap: string) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes128", "sha1"), dh }) };
  return { host, cap, peer, ssPort, keys };
}

for (const [i, c] of CASES.entries()) {
  const title = c.ssRole === "responder" ? `tunnel mode, we initiate to strongSwan: ${c.name}` : `tunnel mode, strongSwan initiates to us: ${c.name}`;
  interopTest(title, async (s) => {
    const { host, cap, peer, ssPort, keys } = await tunnelPair(s, `${process.pid}-t${i}`, BASE + i * 4, c.selector, { role: c.ssRole, localTs: c.ssLocalTs, remoteTs: c.ssRemoteTs });
    // As an ACQUIRE for inner traffic 10.1.0.5 -> 10.2.0.9 (tcp to port 22) would.
    if (c.ssRole === "responder") host.negotiate("sst", { address: STRONGSWAN, port: ssPort }, { src: "10.1.0.5", dst: "10.2.0.9", ulp: c.ulp, dport: c.rport });
    await host.waitFor("phase2-up");
    await s.established(peer);

    const up = host.of("phase2-up")[0]!;
    assert.equal(up.result.mode, "tunnel");
    const ours = await host.matureSas();
    assert.equal(ours.length, 2, "one inbound and one outbound SA");
    assert.ok(ours.every((sa) => sa.proto === "esp" && sa.mode === "tunnel"), JSON.stringify(ours.map((sa) => [sa.proto, sa.mode])));
    assertSameSas(ours, (await peer.keys()).sa);
    assert.deepEqual([up.result.localId.prefix, up.result.localId.ulp, up.result.remoteId.prefix, up.result.remoteId.ulp, up.result.remoteId.port], [OUR_NET, c.ulp, THEIR_NET, c.ulp, c.rport]);
    assert.deepEqual(host.of("phase1-failed"), []);
    assert.deepEqual(host.of("phase2-failed"), []);

    await checkCapture(cap, { ...keys, expect: "main:6,quick:3" });
  });
}

interopTest("tunnel mode, strongSwan initiates with an address range (ID_IPV4_ADDR_RANGE): INVALID-ID-INFORMATION, no SA", async (s) => {
  // Inside our 10.2.0.0/16, but no prefix: strongSwan sends it as a range.
  const { host, cap, peer, keys } = await tunnelPair(s, `${process.pid}-tr`, RANGE_BASE, "", { role: "initiator", localTs: "10.2.0.5-10.2.0.20", remoteTs: OUR_NET });
  await host.waitUntil(() => host.of("phase2-failed").length > 0, "our Quick Mode to refuse the range");
  assert.match(host.of("phase2-failed")[0]!.reason, /client IDs unusable/);
  // strongSwan got our encrypted INVALID-ID-INFORMATION notify (its log names it) and installed nothing.
  await poll(() => /INVALID_ID_INFORMATION/.test(readFileSync(peer.log, "utf8")), "strongSwan to log our INVALID-ID-INFORMATION");
  // The selector strongSwan put in its QM1 (logged per proposal as `<peer|n>  from..to`).
  assert.match(readFileSync(peer.log, "utf8"), /<peer\|\d+>\s+10\.2\.0\.5\.\.10\.2\.0\.20/);
  assert.equal((await peer.status()).established, false);
  assert.equal((await peer.keys()).sa.length, 0, "strongSwan installed no SA");
  assert.equal((await host.matureSas()).length, 0, "our SADB holds no mature SA");
  assert.equal(host.of("phase1-up").length, 1);
  assert.equal(host.of("phase2-up").length, 0);

  await checkCapture(cap, { ...keys, expect: "main:6,quick:1,info:1" });
});
