/**
 * Main Mode with pre-shared keys against a real strongSwan 5.9.8 (shared/interop), daemon-less:
 * the engine runs in this process on a UDP transport bound to 127.0.3.x:500, strongSwan on the
 * next address with its own high ports (see `interopPlan`), so neither side adds the non-ESP marker.
 *
 * Quick Mode is not implemented yet, so only the IKE SA is checked (`status --ike-only`), plus
 * that both sides derived the same SKEYID_a (our Quick Mode HASH(1) against one computed from the
 * SKEYID_a strongSwan logged at level 4).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { IkeEngine } from "../../src/ike/engine.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { inlineDh } from "../helpers/dh.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { InteropPeer, interopSkip, type PeerKeys } from "../helpers/interop.js";
import { interopPlan, policyFrom, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(0);
const PSK = "interop-secret-1";
const skip = interopSkip();

interface Case {
  readonly name: string;
  readonly xform: string;
  readonly ss: { cipher: string; hash: string; dh: number };
  readonly prfHash: string;
}

const CASES: readonly Case[] = [
  {
    name: "aes128-sha1-modp1024",
    xform: "p1_xform { auth_method preshared oakley_group 2 auth_alg sha1 encr_alg aes(128..128) }",
    ss: { cipher: "aes128", hash: "sha1", dh: 2 },
    prfHash: "sha1",
  },
  {
    name: "3des-md5-modp1536",
    xform: "p1_xform { auth_method preshared oakley_group 5 auth_alg md5 encr_alg 3des }",
    ss: { cipher: "3des", hash: "md5", dh: 5 },
    prfHash: "md5",
  },
  {
    name: "blowfish-sha256-modp2048",
    xform: "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg blowfish }",
    ss: { cipher: "blowfish", hash: "sha256", dh: 14 },
    prfHash: "sha256",
  },
];

async function engineOn(c: Case): Promise<{ engine: IkeEngine; transport: UdpTransport }> {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(ruleText("ss", US, THEM, c.xform), pskText(US, THEM, PSK));
  const engine = new IkeEngine({ transport, dh: inlineDh, policy });
  return { engine, transport };
}

function waitUp(engine: IkeEngine, ms: number): Promise<IsakmpSa> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no Phase 1 SA within timeout")), ms);
    engine.once("phase1-up", (sa) => {
      clearTimeout(t);
      resolve(sa);
    });
    engine.once("phase1-failed", (_sa, reason, notify) => {
      clearTimeout(t);
      reject(new Error(`Phase 1 failed: ${reason} (notify ${notify})`));
    });
  });
}

/** Our SKEYID_a equals strongSwan's: compare HASH(1) over the same input. */
function assertSameSkeyidA(sa: IsakmpSa, keys: PeerKeys, prfHash: string): void {
  // As a responder strongSwan's log does not name the cookies (icookie=-); each test runs one SA.
  const ike = keys.ike.find((k) => k.icookie === sa.icookie.toString("hex")) ?? (keys.ike.length === 1 ? keys.ike[0] : undefined);
  assert.ok(ike, `strongSwan logged no keys for icookie ${sa.icookie.toString("hex")}`);
  const skeyidA = Buffer.from(ike.skeyid_a ?? "", "hex");
  assert.ok(skeyidA.length > 0, "strongSwan's SKEYID_a missing from its log");
  const mid = Buffer.from("01020304", "hex");
  const rest = Buffer.from("probe");
  const theirs = createHmac(prfHash, skeyidA).update(mid).update(rest).digest();
  assert.ok(sa.keymat!.quickModeHash1(0x01020304, rest).equals(theirs), "SKEYID_a differs");
}

for (const [i, c] of CASES.entries()) {
  test(`strongSwan responder, we initiate Main Mode PSK (${c.name})`, { skip, timeout: 90_000 }, async () => {
    const port = PORT + i * 4;
    const peer = await InteropPeer.startStrongSwan({
      name: `ike-mmr-${process.pid}-${i}`,
      role: "responder",
      local: THEM,
      remote: US,
      localPort: port,
      nattPort: port + 1,
      remotePort: 500,
      mode: "main",
      auth: "psk",
      psk: PSK,
      ...c.ss,
      logLevel: 4,
    });
    let engineSide: Awaited<ReturnType<typeof engineOn>> | undefined;
    try {
      engineSide = await engineOn(c);
      const { engine } = engineSide;
      const up = waitUp(engine, 15_000);
      engine.initiate(engine_rule(c), { address: US, port: 500 }, { address: THEM, port });
      const sa = await up;
      const st = await peer.status({ wait: 10, ikeOnly: true });
      assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
      assertSameSkeyidA(sa, await peer.keys(), c.prfHash);
    } finally {
      engineSide?.engine.close();
      await engineSide?.transport.close();
      await peer.stop({ kill: true, purge: true });
    }
  });

  test(`strongSwan initiates, we respond to Main Mode PSK (${c.name})`, { skip, timeout: 90_000 }, async () => {
    const port = PORT + i * 4 + 2;
    const { engine, transport } = await engineOn(c);
    const up = waitUp(engine, 20_000);
    up.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
    let peer: InteropPeer | undefined;
    try {
      peer = await InteropPeer.startStrongSwan({
        name: `ike-mmi-${process.pid}-${i}`,
        role: "initiator",
        local: THEM,
        remote: US,
        localPort: port,
        nattPort: port + 1,
        remotePort: 500,
        mode: "main",
        auth: "psk",
        psk: PSK,
        ...c.ss,
        logLevel: 4,
      });
      const sa = await up;
      const st = await peer.status({ wait: 10, ikeOnly: true });
      assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
      assert.equal(sa.role, "responder");
      assertSameSkeyidA(sa, await peer.keys(), c.prfHash);
    } finally {
      engine.close();
      await transport.close();
      await peer?.stop({ kill: true, purge: true });
    }
  });
}

function engine_rule(c: Case) {
  const r = policyFrom(ruleText("ss", US, THEM, c.xform), pskText(US, THEM, PSK)).ruleByLabel("ss");
  if (r === undefined) throw new Error("rule");
  return r;
}
