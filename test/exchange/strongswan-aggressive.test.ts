/**
 * Aggressive Mode PSK against a real strongSwan 5.9.8, both directions (the harness sets
 * `i_dont_care_about_security_and_use_aggressive_mode_psk`, so strongSwan also responds to it).
 * strongSwan sends AM3 encrypted; our key for it is an `ike_mode aggressive` ike.preshared entry.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { InteropPeer } from "../helpers/interop.js";
import { interopTest, type Scenario } from "../helpers/scenario.js";
import { interopPlan, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(2);
const PSK = "interop-aggressive-1";
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }";

/** Our engine on US:500 with an `ike_mode aggressive` key for strongSwan. */
function host(s: Scenario) {
  return s.host({
    address: US,
    port: 500,
    ikeConfig: ruleText("ss", US, THEM, XF),
    preshared: `{ localidtype ip localid ${US} remoteidtype ip remoteid ${THEM} ike_mode aggressive key "${PSK}" }\n`,
  });
}

async function assertSameSkeyidA(sa: IsakmpSa, peer: InteropPeer): Promise<void> {
  const keys = await peer.keys();
  const ike = keys.ike.find((k) => k.icookie === sa.icookie.toString("hex")) ?? (keys.ike.length === 1 ? keys.ike[0] : undefined);
  assert.ok(ike?.skeyid_a, "strongSwan logged no SKEYID_a");
  const theirs = createHmac("sha1", Buffer.from(ike.skeyid_a, "hex")).update(Buffer.from("00000005", "hex")).update("x").digest();
  assert.ok(sa.keymat!.quickModeHash1(5, Buffer.from("x")).equals(theirs));
}

const ss = { local: THEM, remote: US, remotePort: 500, mode: "aggressive" as const, psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, logLevel: 4 };

interopTest("strongSwan responder: we initiate Aggressive Mode PSK", async (s) => {
  const peer = await s.strongSwan({ name: `ike-amr-${process.pid}`, role: "responder", localPort: PORT, nattPort: PORT + 1, ...ss });
  const h = await host(s);
  const sa = h.initiate("ss", { address: THEM, port: PORT });
  await h.waitFor("phase1-up");
  assert.equal(h.of("phase1-up")[0]!.sa, sa);
  await s.established(peer, { ikeOnly: true });
  await assertSameSkeyidA(sa, peer);
});

interopTest("strongSwan initiates Aggressive Mode PSK, we respond", async (s) => {
  const h = await host(s);
  const peer = await s.strongSwan({ name: `ike-ami-${process.pid}`, role: "initiator", localPort: PORT + 2, nattPort: PORT + 3, ...ss });
  await h.waitFor("phase1-up");
  await s.established(peer, { ikeOnly: true });
  await assertSameSkeyidA(h.of("phase1-up")[0]!.sa, peer);
});
