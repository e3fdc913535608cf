/**
 * Issue 5's lifetime gaps against a real strongSwan 5.9.8 initiator, which ignores RESPONDER-LIFETIME:
 * our responder with a shorter Phase 1 lifetime (600 s against strongSwan's 1 h) sends the Phase 1
 * RESPONDER-LIFETIME in a protected Informational after MM6, and with a Phase 2 byte lifetime sends
 * the kilobyte RESPONDER-LIFETIME in QM2; nothing breaks, both sides install matching SAs, ours with
 * our byte limit; every packet passes `capture.sh check`. Addresses 127.0.8.200-201, ports 18900-18919 (clear of strongswan-protocol-gaps),
 * instance names eng2-*.
 */
import assert from "node:assert/strict";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { pskText, ruleText } from "./harness.js";

const slot = process.pid % 10;
const US = `127.0.8.${200 + slot * 2}`;
const THEM = `127.0.8.${201 + slot * 2}`;
const PORT = 18900 + slot * 8;
const PSK = "interop-lifetime-secret";

interopTest("strongSwan initiates (IKE 1 h, no byte limit); our 600 s Phase 1 and 2048 KB Phase 2 policy tell it with RESPONDER-LIFETIME and both sides install", async (s) => {
  const h = await s.host({
    address: US,
    port: 500,
    ikeConfig: ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) p1_lifetime_secs 600 }\n  p2_lifetime_kb 2048`),
    preshared: pskText(US, THEM, PSK),
    ipsecinit: `{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  const cap = await s.capture(`eng2-lt-cap-${process.pid}`, PORT);
  const peer = await s.strongSwan({
    name: `eng2-lt-${process.pid}`, role: "initiator", local: THEM, remote: US, localPort: PORT, nattPort: PORT + 1,
    remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", esp: "aes128-sha1", pfs: "none",
    ikeLifetime: 3600, logLevel: 4,
  });
  await h.waitFor("phase2-up");
  assert.equal(h.of("phase2-up")[0]!.result.lifeKb, 2048);
  await s.established(peer);
  const sa = h.engine.sas.all().find((x) => x.state === "established");
  assert.equal(sa?.lifeSecs, 600, "our Phase 1 expires at our lifetime");
  const ours = (await h.kernel.dump(undefined, { includeKeys: true })).filter((x) => x.state === "mature");
  assert.equal(ours.length, 2);
  assert.ok(ours.every((x) => x.hard.bytes === 2048 * 1024));
  const theirs = (await peer.keys()).sa.filter((x) => x.spi !== undefined && x.enc_key !== undefined);
  for (const o of ours) {
    const twin = theirs.find((t) => Number.parseInt(t.spi!, 16) === o.spi && t.src === o.src && t.dst === o.dst);
    assert.ok(twin, `strongSwan has no SA spi ${o.spi.toString(16)}`);
    assert.equal(twin.enc_key, o.keys!.enc!.toString("hex"));
  }
  // Every packet well formed, the encrypted ones decrypted with strongSwan's keys: the
  // Informational with the Phase 1 RESPONDER-LIFETIME after MM6 among them.
  // `--expect` is ordered and our Informational races strongSwan's QM1: count it apart.
  const r = await checkCapture(cap, { keysFromLog: [peer.log], expect: "main:6,quick:3" });
  assert.match(r.stdout, /\binfo\s+flags=E\s.*\{RESPONDER-LIFETIME\}/);
});
