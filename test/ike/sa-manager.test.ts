import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../helpers/manual-clock.js";
import { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { SaManager } from "../../src/ike/sa-manager.js";
import { IkeStats } from "../../src/ike/stats.js";
import { nullLog } from "../../src/ike/log.js";
import { ZERO_COOKIE } from "../../src/ike/cookies.js";

const c = { clock: new ManualClock(), log: nullLog, stats: new IkeStats() };
const local = { address: "10.0.0.1", port: 500 };
let n = 0;
function mk(peer: string, role: "initiator" | "responder" = "responder", rule?: string): IsakmpSa {
  const ic = Buffer.alloc(8);
  ic.writeUInt32BE(++n, 4);
  return new IsakmpSa({ role, icookie: ic, local, remote: { address: peer, port: 500 }, ...(rule ? { rule } : {}) }, c);
}

test("lookup by icookie while rcookie is unknown, then by the pair", () => {
  const m = new SaManager();
  const sa = mk("10.0.0.2", "initiator", "r1");
  m.add(sa);
  const peer = sa.remote;
  assert.equal(m.lookup(sa.icookie, ZERO_COOKIE, peer), sa, "retransmitted first message");
  const rc = Buffer.from("8899aabbccddeeff", "hex");
  assert.equal(m.lookup(sa.icookie, rc, peer), sa, "MM2 with the responder's new cookie");
  m.setRcookie(sa, rc);
  assert.equal(m.lookup(sa.icookie, rc, { address: "10.9.9.9", port: 4500 }), sa, "pair lookup ignores the address");
  assert.equal(m.lookup(sa.icookie, Buffer.from("0000000000000001", "hex"), peer), undefined, "other rcookie");
  assert.equal(m.lookup(sa.icookie, ZERO_COOKIE, { address: "10.0.0.3", port: 500 }), undefined, "other peer");
  assert.deepEqual(m.byPeerAddress("10.0.0.2"), [sa]);
  assert.deepEqual(m.byRuleLabel("r1"), [sa]);
  m.setPhase2(sa, 0xdeadbeef, "qm");
  assert.equal(m.getPhase2(sa, 0xdeadbeef), "qm");
  sa.destroy("gone");
  assert.equal(m.size, 0);
  assert.equal(m.lookup(sa.icookie, rc, peer), undefined);
  assert.deepEqual(m.byPeerAddress("10.0.0.2"), []);
  assert.deepEqual(m.byRuleLabel("r1"), []);
  assert.equal(m.phase2Count, 0, "Phase 2 exchanges die with their ISAKMP SA");
});

test("Phase 2 exchanges: by SA and message ID (as unsigned), counted, one SA's going takes only its own", () => {
  const m = new SaManager<string>();
  const a = mk("10.0.0.7");
  const b = mk("10.0.0.8");
  m.add(a);
  m.add(b);
  m.setPhase2(a, 1, "a1");
  m.setPhase2(a, 0xfffffffe, "a2");
  m.setPhase2(b, 1, "b1");
  assert.equal(m.phase2Count, 3);
  assert.equal(m.getPhase2(a, -2), "a2", "a message ID read as signed names the same exchange");
  m.setPhase2(a, 1, "a1'");
  assert.equal(m.phase2Count, 3, "replacing is not adding");
  assert.equal(m.getPhase2(a, 1), "a1'");
  assert.equal(m.getPhase2(b, 1), "b1");
  assert.equal(m.getPhase2(a, 2), undefined);
  m.deletePhase2(a, 1);
  m.deletePhase2(a, 1);
  m.deletePhase2(b, 99);
  assert.equal(m.phase2Count, 2, "each deleted once; an unknown one is no change");
  a.destroy("gone");
  assert.equal(m.getPhase2(a, 0xfffffffe), undefined);
  assert.equal(m.getPhase2(b, 1), "b1");
  assert.equal(m.phase2Count, 1);
  m.deletePhase2(b, 1);
  assert.equal(m.phase2Count, 0);
});

test("cookies of every byte value name their own SA (the tables' keys are the cookie bytes)", () => {
  const m = new SaManager({ global: 1000, perPeer: 1000 });
  const peer = { address: "10.0.0.9", port: 500 };
  const sas: IsakmpSa[] = [];
  for (let b = 0; b < 256; b++) {
    const ic = Buffer.alloc(8, b);
    ic[7] = 255 - b;
    const rc = Buffer.alloc(8, 255 - b);
    rc[0] = b;
    const sa = new IsakmpSa({ role: "responder", icookie: ic, rcookie: rc, local, remote: peer }, c);
    m.add(sa);
    sas.push(sa);
  }
  for (let b = 0; b < 256; b++) {
    const sa = sas[b]!;
    assert.equal(m.lookup(Buffer.from(sa.icookie), Buffer.from(sa.rcookie), peer), sa);
    assert.equal(m.lookup(Buffer.from(sa.icookie), ZERO_COOKIE, peer), sa);
  }
  const other = Buffer.from(sas[0x80]!.rcookie);
  other[7] = other[7]! ^ 1;
  assert.equal(m.lookup(sas[0x80]!.icookie, other, peer), undefined, "one bit off: no SA");
  for (const sa of sas) sa.destroy("done");
  assert.equal(m.size, 0);
});

test("half-open bounds: per peer and global, released by establishment or destroy", () => {
  const m = new SaManager({ global: 3, perPeer: 2 });
  const a1 = mk("10.0.0.2");
  const a2 = mk("10.0.0.2");
  m.add(a1);
  assert.equal(m.admitResponder(a1.remote), null);
  m.add(a2);
  assert.equal(m.admitResponder(a1.remote), "peer-half-open");
  const b1 = mk("10.0.0.3");
  m.add(b1);
  assert.equal(m.admitResponder({ address: "10.0.0.4", port: 500 }), "global-half-open");
  m.markEstablished(a1);
  assert.equal(m.halfOpenCount, 2);
  assert.equal(m.admitResponder(a1.remote), null);
  b1.destroy("x");
  m.markEstablished(a1); // idempotent
  assert.equal(m.halfOpenCount, 1);
  assert.throws(() => m.add(a2), /duplicate/);
});

test("byPeerAddress: one SA, a second and a third with the same peer, then back down to one and none, in insertion order", () => {
  const m = new SaManager();
  const a = mk("10.0.0.7");
  const b = mk("10.0.0.7");
  const c = mk("10.0.0.7");
  const other = mk("10.0.0.8");
  m.add(a);
  m.add(other);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a]);
  m.add(b);
  m.add(c);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a, b, c]);
  b.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a, c]);
  a.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [c]);
  const d = mk("10.0.0.7");
  m.add(d);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [c, d]);
  c.destroy("test");
  d.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), []);
  assert.deepEqual(m.byPeerAddress("10.0.0.8"), [other], "another peer's SA is untouched");
  other.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.8"), []);
  assert.equal(m.size, 0);
});
