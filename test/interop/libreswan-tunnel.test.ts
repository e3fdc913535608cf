/**
 * Tunnel mode with one subnet per side against a real Libreswan 4.10, both roles, with ESP and (as
 * responder) AH. Our ipsecinit.conf entry names the inner networks (`negotiate tunnel laddr
 * 10.1.0.0/16 raddr 10.2.0.0/16`); Libreswan is configured with the mirror `--local-ts/--remote-ts`,
 * so Quick Mode carries ID_IPV4_ADDR_SUBNET client IDs (RFC 2407 §4.6.2.1) in both directions
 * (unlike host-to-host, where pluto omits IDci/IDcr).
 *
 * Each case checks both ends: `libreswan-peer.sh status` says established, our SADB holds the
 * tunnel-mode inbound and outbound SA pluto installed (SPIs and keys from its xfrm.log), the Quick
 * Mode result names the two subnets, and every packet passes `capture.sh check`, decrypted with Ka
 * derived again from our DH private values (test/interop/ka.ts).
 */
import assert from "node:assert/strict";
import { assertSameSas, xfrmSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { ikeConfig, plan, preshared } from "./common.js";

const PSK = "iop-libreswan-tunnel-psk";
const { us: US, libreswanTunnel: THEM, ports } = plan();
/** This file's block: after strongswan-lossy's 12 ports; 2 per case. */
const BASE = ports.udp + 32;

const OUR_NET = "10.1.0.0/16";
const THEIR_NET = "10.2.0.0/16";

interface Case {
  readonly lsRole: "initiator" | "responder";
  /** ipsecinit.conf action body and Libreswan's Phase 2 option. */
  readonly ipsec: string;
  readonly ls: { readonly esp?: string; readonly ah?: string };
}

const CASES: readonly Case[] = [
  { lsRole: "responder", ipsec: "encr_algs aes encr_auth_algs sha1", ls: { esp: "aes128-sha1" } },
  { lsRole: "initiator", ipsec: "encr_algs aes encr_auth_algs sha1", ls: { esp: "aes128-sha1" } },
  { lsRole: "responder", ipsec: "auth_algs sha1", ls: { ah: "sha1" } },
];

for (const [i, c] of CASES.entries()) {
  const proto = c.ls.ah !== undefined ? "ah" : "esp";
  const what = `subnets 10.1.0.0/16 <-> 10.2.0.0/16, ${proto} ${c.ls.ah ?? c.ls.esp}`;
  const title = c.lsRole === "responder" ? `tunnel mode, we initiate to Libreswan: ${what}` : `tunnel mode, Libreswan initiates to us: ${what}`;
  interopTest(title, async (s) => {
    const ourPort = BASE + i * 2;
    const tag = `${process.pid}-t${i}`;
    const dh = new RecordingDh(`iop-lst-${tag}`);
    const host = await s.host({
      dh,
      address: US,
      port: ourPort,
      ikeConfig: ikeConfig("lst", US, THEM, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }"),
      preshared: preshared(US, THEM, PSK),
      ipsecinit: `{ tunnel ip.tun0 negotiate tunnel laddr ${OUR_NET} raddr ${THEIR_NET} } ipsec { ${c.ipsec} }\n`,
    });
    const cap = await s.capture(`iop-lst-cap-${tag}`, ourPort);
    const peer = await s.libreswan({
      name: `iop-lst-${tag}`,
      role: c.lsRole,
      local: THEM,
      remote: US,
      remotePort: ourPort,
      auth: "psk",
      psk: PSK,
      cipher: "aes128",
      hash: "sha1",
      dh: 14,
      ...(c.ls.esp !== undefined ? { esp: c.ls.esp } : {}),
      ...(c.ls.ah !== undefined ? { ah: c.ls.ah } : {}),
      pfs: "none",
      espMode: "tunnel",
      localTs: THEIR_NET,
      remoteTs: OUR_NET,
    });
    // As an ACQUIRE for inner traffic 10.1.0.5 -> 10.2.0.9 would.
    if (c.lsRole === "responder") host.negotiate("lst", { address: THEM, port: 500 }, { src: "10.1.0.5", dst: "10.2.0.9" });
    await host.waitFor("phase2-up");
    await s.established(peer);

    const up = host.of("phase2-up")[0]!;
    assert.equal(up.result.mode, "tunnel");
    assert.deepEqual([up.result.localId.prefix, up.result.remoteId.prefix], [OUR_NET, THEIR_NET]);
    const ours = await host.matureSas();
    assert.equal(ours.length, 2, "one inbound and one outbound SA");
    assert.ok(ours.every((sa) => sa.proto === proto && sa.mode === "tunnel"), JSON.stringify(ours.map((sa) => [sa.proto, sa.mode])));
    const xfrmlog = peer.info.xfrmlog;
    assert.ok(xfrmlog, "libreswan-peer.sh start printed no xfrmlog");
    assertSameSas(ours, xfrmSas(xfrmlog));
    assert.deepEqual(host.of("phase1-failed"), []);
    assert.deepEqual(host.of("phase2-failed"), []);

    await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes128", "sha1"), dh }), expect: "main:6,quick:3" });
  });
}
