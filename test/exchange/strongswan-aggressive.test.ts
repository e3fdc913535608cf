/**
 * Aggressive Mode PSK against a real strongSwan 5.9.8, both directions (the harness sets
 * `i_dont_care_about_security_and_use_aggressive_mode_psk`, so strongSwan also responds to it).
 * strongSwan sends AM3 encrypted; our key for it is an `ike_mode aggressive` ike.preshared entry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { IkeEngine } from "../../src/ike/engine.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { inlineDh } from "../helpers/dh.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { InteropPeer, interopSkip } from "../helpers/interop.js";
import { interopPlan, policyFrom, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(2);
const PSK = "interop-aggressive-1";
const skip = interopSkip();
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }";

async function side() {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("ss", US, THEM, XF),
    `{ localidtype ip localid ${US} remoteidtype ip remoteid ${THEM} ike_mode aggressive key "${PSK}" }\n`,
  );
  return { transport, policy, engine: new IkeEngine({ transport, dh: inlineDh, policy }) };
}

function waitUp(engine: IkeEngine, ms: number): Promise<IsakmpSa> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no Phase 1 SA within timeout")), ms);
    engine.once("phase1-up", (sa) => (clearTimeout(t), resolve(sa)));
    engine.once("phase1-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Phase 1 failed: ${reason}`))));
  });
}

async function assertSameSkeyidA(sa: IsakmpSa, peer: InteropPeer): Promise<void> {
  const keys = await peer.keys();
  const ike = keys.ike.find((k) => k.icookie === sa.icookie.toString("hex")) ?? (keys.ike.length === 1 ? keys.ike[0] : undefined);
  assert.ok(ike?.skeyid_a, "strongSwan logged no SKEYID_a");
  const theirs = createHmac("sha1", Buffer.from(ike.skeyid_a, "hex")).update(Buffer.from("00000005", "hex")).update("x").digest();
  assert.ok(sa.keymat!.quickModeHash1(5, Buffer.from("x")).equals(theirs));
}

const ss = { mode: "aggressive" as const, psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, logLevel: 4 };

test("strongSwan responder: we initiate Aggressive Mode PSK", { skip, timeout: 90_000 }, async () => {
  const peer = await InteropPeer.startStrongSwan({ name: `ike-amr-${process.pid}`, role: "responder", local: THEM, remote: US, localPort: PORT, nattPort: PORT + 1, remotePort: 500, ...ss });
  let s: Awaited<ReturnType<typeof side>> | undefined;
  try {
    s = await side();
    const up = waitUp(s.engine, 15_000);
    const sa = s.engine.initiate(s.policy.ruleByLabel("ss")!, { address: US, port: 500 }, { address: THEM, port: PORT });
    assert.equal(await up, sa);
    const st = await peer.status({ wait: 10, ikeOnly: true });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    await assertSameSkeyidA(sa, peer);
  } finally {
    s?.engine.close();
    await s?.transport.close();
    await peer.stop({ kill: true, purge: true });
  }
});

test("strongSwan initiates Aggressive Mode PSK, we respond", { skip, timeout: 90_000 }, async () => {
  const s = await side();
  const up = waitUp(s.engine, 20_000);
  up.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
  let peer: InteropPeer | undefined;
  try {
    peer = await InteropPeer.startStrongSwan({ name: `ike-ami-${process.pid}`, role: "initiator", local: THEM, remote: US, localPort: PORT + 2, nattPort: PORT + 3, remotePort: 500, ...ss });
    const sa = await up;
    const st = await peer.status({ wait: 10, ikeOnly: true });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    await assertSameSkeyidA(sa, peer);
  } finally {
    s.engine.close();
    await s.transport.close();
    await peer?.stop({ kill: true, purge: true });
  }
});
