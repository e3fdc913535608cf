/**
 * Loss and duplication between real peers: a seeded lossy relay (test/helpers/lossy-relay.ts) sits
 * between our engine and a strongSwan 5.9.8, dropping and duplicating datagrams in both directions.
 * Main Mode and Quick Mode must still complete in both roles, through retransmission on both
 * sides (RFC 2408 leaves it to the implementation; a repeated request is answered from the cached
 * reply), and duplicates must cost nothing: one DH key pair and one g^xy per negotiation on our
 * side, one GETSPI and one UPDATE + ADD in our kernel, one SA pair in our SADB and in strongSwan's
 * xfrm.log.
 *
 * Layout (all in this process's slot): our engine on US:p, the relay's front on STRONGSWAN:p+3 (our
 * rule names strongSwan's address, so that is where we send), its back on US:p+4 (strongSwan's
 * remote), strongSwan on STRONGSWAN:p+1 (NAT-T p+2). No side is on 500, so both add the non-ESP
 * marker, which the relay passes through. The capture is of our leg (port p) and passes
 * `capture.sh check` without decryption: Wireshark chains IVs in capture order, so a duplicate that
 * arrives after a later message of the same exchange (which the relay makes happen) sends its IV
 * chain astray and the next genuine message "decrypts" as garbage. The decrypted dissection of
 * every message we send is proven by the loss-free cases (strongswan.test.ts); here the check
 * covers headers, framing and the exchange sequence.
 */
import assert from "node:assert/strict";
import { assertSameSas, xfrmSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { RecordingDh } from "./ka.js";
import { ikeConfig, plan, preshared } from "./common.js";

const PSK = "iop-strongswan-lossy-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();
/** This file's block: after strongswan-tunnel's 16 ports; 6 per case. */
const BASE = ports.udp + 20;

const CASES = [
  { ssRole: "responder", seed: 0x1f2e3d4c },
  { ssRole: "initiator", seed: 0x0badcafe },
] as const;

for (const [i, c] of CASES.entries()) {
  const title = c.ssRole === "responder" ? "lossy relay: we initiate Main + Quick Mode to strongSwan" : "lossy relay: strongSwan initiates Main + Quick Mode to us";
  interopTest(title, async (s, t) => {
    const ourPort = BASE + i * 6;
    const ssPort = ourPort + 1;
    const front = { address: STRONGSWAN, port: ourPort + 3 };
    const back = { address: US, port: ourPort + 4 };
    const tag = `${process.pid}-l${i}`;
    const dh = new RecordingDh(`iop-ssl-${tag}`);
    const host = await s.host({
      dh,
      address: US,
      port: ourPort,
      ikeConfig: ikeConfig("ssl", US, STRONGSWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg 3des }"),
      preshared: preshared(US, STRONGSWAN, PSK),
      ipsecinit: `{ raddr ${STRONGSWAN} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
      engine: { retransmit: { initMs: 400, maxMs: 2_000, limit: 8 } },
    });
    // Count what the engine asks of the kernel; duplicates must not add calls.
    const kcalls = { getSpi: 0, update: 0, add: 0 };
    const k = host.kernel;
    const getSpi = k.getSpi.bind(k);
    const update = k.update.bind(k);
    const add = k.add.bind(k);
    k.getSpi = (...a: Parameters<typeof getSpi>) => (kcalls.getSpi++, getSpi(...a));
    k.update = (...a: Parameters<typeof update>) => (kcalls.update++, update(...a));
    k.add = (...a: Parameters<typeof add>) => (kcalls.add++, add(...a));

    const relay = await s.relay({ front, back, a: host.endpoint, b: { address: STRONGSWAN, port: ssPort }, seed: c.seed, drop: 0.25, duplicate: 0.3 });
    const cap = await s.capture(`iop-ssl-cap-${tag}`, ourPort);
    const peer = await s.strongSwan({
      name: `iop-ssl-${tag}`,
      role: c.ssRole,
      local: STRONGSWAN,
      remote: US,
      localPort: ssPort,
      nattPort: ssPort + 1,
      remotePort: back.port,
      auth: "psk",
      psk: PSK,
      cipher: "3des",
      hash: "sha1",
      dh: 14,
      esp: "aes128-sha1",
      pfs: "none",
      espMode: "transport",
      retransmitTries: 8,
      retransmitTimeout: 1,
      logLevel: 4,
    });
    if (c.ssRole === "responder") host.negotiate("ssl", front);
    await host.waitFor("phase2-up", 1, 60_000);
    await s.established(peer);
    // Late retransmissions and duplicates land before counting: every datagram the relay sent us
    // has reached the engine, no duplicate is still pending, and nothing has moved for 2 s.
    await poll(() => host.engine.stats.engine.datagramsIn >= relay.counts.bToA.forwarded && relay.quietFor(2_000), "the relay to go quiet");

    const counts = JSON.stringify(relay.counts);
    t.diagnostic(`relay ${counts}; retransmits answered from cache: ${host.engine.stats.engine.retransmitsAnswered}`);
    for (const dir of ["aToB", "bToA"] as const) {
      assert.ok(relay.counts[dir].dropped > 0 && relay.counts[dir].duplicated > 0, `relay dropped and duplicated ${dir}: ${counts}`);
    }
    assert.deepEqual(dh.calls, { generate: 1, agree: 1 }, `one DH key pair and one g^xy (relay ${counts})`);
    assert.deepEqual(kcalls, { getSpi: 1, update: 1, add: 1 }, `one GETSPI, UPDATE and ADD (relay ${counts})`);
    assert.equal(host.of("phase1-up").length, 1);
    assert.equal(host.of("phase2-up").length, 1);
    assert.equal(host.engine.sas.size, 1, "one ISAKMP SA");
    assert.deepEqual(host.of("phase1-failed"), []);
    assert.deepEqual(host.of("phase2-failed"), []);

    const ours = await host.matureSas();
    assert.equal(ours.length, 2, "one inbound and one outbound SA");
    const theirs = xfrmSas(peer.info.xfrmlog ?? "");
    assertSameSas(ours, theirs);
    const theirSpis = new Set(theirs.map((t) => Number.parseInt(t.spi ?? "", 16)));
    assert.deepEqual([...theirSpis].sort(), ours.map((sa) => sa.spi).sort(), "strongSwan installed exactly our SA pair");

    await checkCapture(cap, { expect: "main:6,quick:3" });
  });
}
