/**
 * An MM1 answered from a reused answer (src/ike/mm1-answers.ts) against a real strongSwan 5.9.8:
 * two strongSwan initiators with one configuration, one after the other, negotiate Main Mode and
 * Quick Mode with our engine; the second's MM1 (the first's bytes under new cookies) gets the
 * stored answer. Both exchanges complete on both ends with the same SAs, and every packet of the
 * run passes `capture.sh check`, decrypted.
 */
import assert from "node:assert/strict";
import { assertSameSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { hostToHost, plan } from "./common.js";

const PSK = "iop-mm1-answers-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();
// After libreswan-road-warrior.test.ts's ports (ports.udp + 42 on), within this slot's 120.
const OUR_PORT = ports.udp + 47;
const SS_PORT = OUR_PORT + 2;
const P1 = { cipher: "aes128", hash: "sha1", dh: 14, encr: "aes(128..128)" };

interopTest("a second strongSwan initiator's MM1, the first's bytes under new cookies, is answered from the first's answer; both complete", async (s) => {
  const tag = `${process.pid}`;
  const dh = new RecordingDh(`iop-mm1a-${tag}`);
  const host = await s.host({ dh, address: US, port: OUR_PORT, ...hostToHost({ label: "ss", us: US, them: STRONGSWAN, psk: PSK, p1: P1, pfs: "none", ipsec: "encr_algs aes encr_auth_algs sha1" }) });
  const cap = await s.capture(`iop-mm1a-cap-${tag}`, OUR_PORT);
  const logs: string[] = [];
  for (const round of [1, 2]) {
    const peer = await s.strongSwan({
      name: `iop-mm1a-${tag}-${round}`, role: "initiator", local: STRONGSWAN, remote: US, localPort: SS_PORT, nattPort: SS_PORT + 1, remotePort: OUR_PORT,
      mode: "main", auth: "psk", psk: PSK, cipher: P1.cipher, hash: P1.hash, dh: P1.dh, esp: "aes128-sha1", pfs: "none", espMode: "transport", logLevel: 4,
    });
    logs.push(peer.log);
    await host.waitFor("phase2-up", round);
    await s.established(peer);
    assertSameSas(await host.matureSas(), (await peer.keys()).sa);
    assert.equal(host.engine.mm1Answers.hits, round - 1, round === 1 ? "the first MM1 is answered in full" : "the second from the first's answer");
    // strongSwan's graceful stop deletes both SAs; ours go with them before the next round.
    await peer.stop();
    await poll(async () => host.engine.sas.size === 0 && (await host.kernel.dump()).length === 0, `our SAs to go after round ${round}'s Delete`);
  }
  assert.deepEqual(host.of("phase1-failed"), []);
  assert.deepEqual(host.of("phase2-failed"), []);
  await checkCapture(cap, { keysFromLog: logs, keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName(P1.cipher, P1.hash), dh }), expect: "main:12,quick:6,info:4" });
});
