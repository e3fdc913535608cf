/**
 * Main Mode with pre-shared keys against a real strongSwan 5.9.8 (shared/interop), daemon-less:
 * the engine runs in this process on a UDP transport bound to 127.0.3.x:500, strongSwan on the
 * next address with its own high ports (see `interopPlan`), so neither side adds the non-ESP marker.
 *
 * Only the IKE SA is checked here (`status --ike-only`; Quick Mode is strongswan-quick-mode.test.ts),
 * plus that both sides derived the same SKEYID_a (our Quick Mode HASH(1) against one computed from the
 * SKEYID_a strongSwan logged at level 4).
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { PeerKeys } from "../helpers/interop.js";
import { interopTest, type Scenario } from "../helpers/scenario.js";
import { interopPlan, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(0);
const PSK = "interop-secret-1";

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

/** Our engine on US:500 with the case's transform. */
function host(s: Scenario, c: Case) {
  return s.host({ address: US, port: 500, ikeConfig: ruleText("ss", US, THEM, c.xform), preshared: pskText(US, THEM, PSK) });
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
  const ss = { remote: US, remotePort: 500, mode: "main", auth: "psk", psk: PSK, ...c.ss, logLevel: 4 } as const;

  interopTest(`strongSwan responder, we initiate Main Mode PSK (${c.name})`, async (s) => {
    const port = PORT + i * 4;
    const peer = await s.strongSwan({ name: `ike-mmr-${process.pid}-${i}`, role: "responder", local: THEM, localPort: port, nattPort: port + 1, ...ss });
    const h = await host(s, c);
    h.initiate("ss", { address: THEM, port });
    await h.waitFor("phase1-up");
    await s.established(peer, { ikeOnly: true });
    assertSameSkeyidA(h.of("phase1-up")[0]!.sa, await peer.keys(), c.prfHash);
  });

  interopTest(`strongSwan initiates, we respond to Main Mode PSK (${c.name})`, async (s) => {
    const port = PORT + i * 4 + 2;
    const h = await host(s, c);
    const peer = await s.strongSwan({ name: `ike-mmi-${process.pid}-${i}`, role: "initiator", local: THEM, localPort: port, nattPort: port + 1, ...ss });
    await h.waitFor("phase1-up");
    await s.established(peer, { ikeOnly: true });
    const sa = h.of("phase1-up")[0]!.sa;
    assert.equal(sa.role, "responder");
    assertSameSkeyidA(sa, await peer.keys(), c.prfHash);
  });
}
