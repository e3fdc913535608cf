/**
 * The Aggressive Mode responder's reading of AM3's NAT-D (src/ike/natt-phase1.ts). AM3 is the
 * one message with NAT-D that travels after the initiator's float to port 4500: strongSwan 5.9
 * hashes the path AM3 takes, Libreswan 4.10 the path of the AM2 it answers (port 500). Whichever
 * it is, only the side that is behind the NAT is found behind it. (Found with Libreswan behind a
 * real NAT, test/daemon-interop/nat-traversal-aggressive.test.ts: the gateway thought itself
 * behind the NAT.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { IkeEncryption, IkeHash } from "../../src/codec/index.js";
import { Phase1Keymat, phase1Suite } from "../../src/crypto/keymat.js";
import { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { nullLog } from "../../src/ike/log.js";
import { natDPayloads } from "../../src/ike/natt.js";
import { NattPhase1, type TaskPosition } from "../../src/ike/natt-phase1.js";
import { IkeStats } from "../../src/ike/stats.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { ManualClock } from "../helpers/manual-clock.js";

const HOME_500 = { address: "192.168.77.2", port: 500 };
const HOME_4500 = { address: "192.168.77.2", port: 4500 };
const GW_500 = { address: "198.51.100.2", port: 500 };
const GW_4500 = { address: "198.51.100.2", port: 4500 };
/** The NAT's mappings of the home side's 500 (AM1) and 4500 (AM3). */
const NAT_AM1 = { address: "198.51.100.1", port: 30000 };
const NAT_AM3 = { address: "198.51.100.1", port: 30001 };

const AM2_SENT: TaskPosition = { mode: "aggressive", role: "responder", state: "am2-sent" };

/** The gateway's responder SA after AM1 from the NAT, NAT-T agreed (RFC 3947). */
function responderSa(): IsakmpSa {
  const sa = new IsakmpSa(
    { role: "responder", icookie: Buffer.from("0102030405060708", "hex"), rcookie: Buffer.from("1112131415161718", "hex"), local: GW_500, remote: NAT_AM1 },
    { clock: new ManualClock(), log: nullLog, stats: new IkeStats() },
  );
  sa.keymat = new Phase1Keymat(phase1Suite(IkeEncryption.AES_CBC, 128, IkeHash.SHA));
  sa.natt = { version: "rfc3947", detection: undefined, floated: false };
  return sa;
}

/**
 * AM2 goes out on the path AM1 came; AM3 comes from the NAT's new mapping to our port 4500 (the
 * SA follows it, as the dispatcher does); its NAT-D hash `peer` (ours) and `self` (its own).
 */
function am3(peer: Endpoint, self: Endpoint) {
  const natt = new NattPhase1({ nattPort: 4500, transport: { send: () => true, onDatagram: () => undefined }, log: nullLog });
  const sa = responderSa();
  const am2 = natt.sending(sa, AM2_SENT, { payloads: [], encrypt: false });
  assert.equal(am2.payloads.length, 3, "AM2: the chosen vendor ID and two NAT-D");
  sa.local = GW_4500;
  sa.remote = NAT_AM3;
  const hash = sa.keymat!.suite.hash;
  natt.received(sa, AM2_SENT, natDPayloads("rfc3947", hash, sa.icookie, sa.rcookie, self, peer), { local: GW_4500, remote: NAT_AM3 });
  sa.keymat!.destroy();
  return sa.natt?.detection;
}

test("AM3 NAT-D over AM3's own path (strongSwan): the peer behind the NAT, we are not", () => {
  assert.deepEqual(am3(GW_4500, HOME_4500), { localBehindNat: false, peerBehindNat: true });
});

test("AM3 NAT-D over the path of AM2 (Libreswan 4.10): the peer behind the NAT, we are not", () => {
  assert.deepEqual(am3(GW_500, HOME_500), { localBehindNat: false, peerBehindNat: true });
});

test("AM3 NAT-D naming an address of ours the peer saw through a NAT: we are behind one", () => {
  assert.deepEqual(am3({ address: "203.0.113.9", port: 500 }, HOME_500), { localBehindNat: true, peerBehindNat: true });
  assert.deepEqual(am3({ address: "203.0.113.9", port: 4500 }, HOME_4500), { localBehindNat: true, peerBehindNat: true });
});

test("a peer whose own hash matches the NAT's mapping of AM1 or of AM3 is not behind a NAT", () => {
  assert.deepEqual(am3(GW_500, NAT_AM1), { localBehindNat: false, peerBehindNat: false });
  assert.deepEqual(am3(GW_4500, NAT_AM3), { localBehindNat: false, peerBehindNat: false });
});
