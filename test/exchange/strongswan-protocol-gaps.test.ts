/**
 * The protocol gaps closed in issue 5 against a real strongSwan 5.9.8, which ignores
 * RESPONDER-LIFETIME and never sets the commit bit: our responder with a shorter Phase 2 lifetime
 * sends RESPONDER-LIFETIME in QM2 and nothing breaks (both sides install matching SAs, ours with
 * our shorter lifetime); and our Quick Mode rekey on the kernel's soft EXPIRE, with a short
 * lifetime, lands in strongSwan. Addresses 127.0.8.x, ports 18000-18999, instance names eng-*.
 */
import assert from "node:assert/strict";
import { interopTest, type Scenario } from "../helpers/scenario.js";
import { pskText, ruleText } from "./harness.js";

const slot = process.pid % 40;
const US = `127.0.8.${1 + slot * 2}`;
const THEM = `127.0.8.${2 + slot * 2}`;
const PORT = 18000 + slot * 20;
const PSK = "interop-gaps-secret";

/** Our engine on US:500 with `p2` (Phase 2 lifetime lines). */
function host(s: Scenario, p2: string) {
  return s.host({
    address: US,
    port: 500,
    ikeConfig: ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n  ${p2}`),
    preshared: pskText(US, THEM, PSK),
    ipsecinit: `{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
}

const ss = { local: THEM, remote: US, remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", esp: "aes128-sha1", pfs: "none", logLevel: 2 } as const;

interopTest("strongSwan initiates with a 1 h child lifetime; our 600 s policy answers with RESPONDER-LIFETIME and both sides install", async (s) => {
  const h = await host(s, "p2_lifetime_secs 600");
  const peer = await s.strongSwan({ name: `eng-rl-${process.pid}`, role: "initiator", localPort: PORT, nattPort: PORT + 1, childLifetime: 3600, ...ss });
  await h.waitFor("phase2-up");
  assert.equal(h.of("phase2-up")[0]!.result.lifeSecs, 600);
  await s.established(peer);
  const ours = (await h.kernel.dump(undefined, { includeKeys: true })).filter((x) => x.state === "mature");
  assert.equal(ours.length, 2);
  assert.ok(ours.every((x) => x.hard.addSeconds === 600));
  const theirs = (await peer.keys()).sa.filter((x) => x.spi !== undefined && x.enc_key !== undefined);
  for (const sa of ours) {
    const twin = theirs.find((t) => Number.parseInt(t.spi!, 16) === sa.spi && t.src === sa.src && t.dst === sa.dst);
    assert.ok(twin, `strongSwan has no SA spi ${sa.spi.toString(16)}`);
    assert.equal(twin.enc_key, sa.keys!.enc!.toString("hex"));
  }
});

interopTest("our soft EXPIRE (p2_lifetime_secs 12, soft 6) renegotiates the IPsec SAs with a strongSwan responder", async (s) => {
  const port = PORT + 4;
  const peer = await s.strongSwan({ name: `eng-rk-${process.pid}`, role: "responder", localPort: port, nattPort: port + 1, ...ss });
  // The engine host wires the kernel's soft EXPIRE to engine.expire, as the daemon does.
  const h = await host(s, "p2_lifetime_secs 12 p2_softlife_secs 6");
  h.negotiate("ss", { address: THEM, port });
  await h.waitFor("phase2-up", 2);
  const ups = h.of("phase2-up").map((e) => e.result);
  assert.notEqual(ups[1]!.sas[0]!.inboundSpi, ups[0]!.sas[0]!.inboundSpi, "new SPIs");
  assert.equal(h.engine.sas.all().filter((x) => x.state === "established").length, 1, "the rekey reused the ISAKMP SA");
  const theirs = (await peer.keys()).sa.filter((x) => x.spi !== undefined && x.enc_key !== undefined);
  for (const spi of [ups[1]!.sas[0]!.inboundSpi, ups[1]!.sas[0]!.outboundSpi]) {
    assert.ok(theirs.some((t) => Number.parseInt(t.spi!, 16) === spi), `strongSwan installed the rekeyed SPI ${spi.toString(16)}`);
  }
});
