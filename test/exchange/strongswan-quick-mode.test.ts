/**
 * Main Mode + Quick Mode against a real strongSwan 5.9.8 (shared/interop), both directions, ESP in
 * transport mode host to host. Our SAs go to the in-memory SADB; strongSwan's to its fake XFRM
 * (xfrm.log), and the test checks that every SA both sides hold has the same SPI and keys.
 */
import assert from "node:assert/strict";
import type { SaInfo } from "../../src/kernel/kernel.js";
import type { Kv } from "../helpers/interop.js";
import { interopTest, type Scenario } from "../helpers/scenario.js";
import { interopPlan, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(1);
const PSK = "interop-secret-2";

interface Case {
  readonly name: string;
  readonly ruleExtra: string;
  readonly ipsec: string;
  readonly ss: { esp: string; pfs: string };
}

const CASES: readonly Case[] = [
  { name: "esp aes128-sha1", ruleExtra: "", ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "none" } },
  { name: "esp 3des-sha256 pfs 14", ruleExtra: "p2_pfs 14", ipsec: "encr_algs 3des encr_auth_algs sha256", ss: { esp: "3des-sha256", pfs: "14" } },
];

/** Our engine on US:500 with the case's rule and ipsecinit.conf. */
function host(s: Scenario, c: Case) {
  return s.host({
    address: US,
    port: 500,
    ikeConfig: ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n  ${c.ruleExtra}`),
    preshared: pskText(US, THEM, PSK),
    ipsecinit: `{ raddr ${THEM} } ipsec { ${c.ipsec} }\n`,
  });
}

/** Every SA strongSwan installed is in our kernel with the same keys, and vice versa. */
function assertSameSas(ours: SaInfo[], theirs: Kv[]): void {
  const mature = ours.filter((s) => s.state === "mature");
  const added = theirs.filter((s) => s.spi !== undefined && s.enc_key !== undefined);
  assert.equal(mature.length, 2, "inbound and outbound");
  for (const sa of mature) {
    const twin = added.find((t) => Number.parseInt(t.spi!, 16) === sa.spi && t.src === sa.src && t.dst === sa.dst);
    assert.ok(twin, `strongSwan has no SA ${sa.src}>${sa.dst} spi ${sa.spi.toString(16)}: ${JSON.stringify(added)}`);
    assert.equal(twin.enc_key, sa.keys!.enc!.toString("hex"), "encryption key");
    assert.equal(twin.auth_key, sa.keys!.auth!.toString("hex"), "authentication key");
  }
}

for (const [i, c] of CASES.entries()) {
  const ss = { remote: US, remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", ...c.ss, logLevel: 4 } as const;

  interopTest(`strongSwan responder: we initiate Main + Quick Mode (${c.name})`, async (s) => {
    const port = PORT + i * 4;
    const peer = await s.strongSwan({ name: `ike-qmr-${process.pid}-${i}`, role: "responder", local: THEM, localPort: port, nattPort: port + 1, ...ss });
    const h = await host(s, c);
    h.negotiate("ss", { address: THEM, port });
    await h.waitFor("phase2-up");
    await s.established(peer);
    assertSameSas(await h.kernel.dump(undefined, { includeKeys: true }), (await peer.keys()).sa);
  });

  interopTest(`strongSwan initiates Main + Quick Mode, we respond (${c.name})`, async (s) => {
    const port = PORT + i * 4 + 2;
    const h = await host(s, c);
    const peer = await s.strongSwan({ name: `ike-qmi-${process.pid}-${i}`, role: "initiator", local: THEM, localPort: port, nattPort: port + 1, ...ss });
    await h.waitFor("phase2-up");
    await s.established(peer);
    assertSameSas(await h.kernel.dump(undefined, { includeKeys: true }), (await peer.keys()).sa);
    // A graceful stop makes strongSwan send Delete for its ESP SAs and the ISAKMP SA.
    await peer.stop();
    await h.waitFor("sa-dead");
    assert.equal(h.of("sa-dead")[0]!.reason, "deleted by peer");
    assert.equal((await h.kernel.dump()).filter((x) => x.state === "mature").length, 0, "IPsec SAs deleted");
  });
}
